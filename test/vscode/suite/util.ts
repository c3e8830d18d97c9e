// Helpers shared by the in-VS-Code tests.
import * as vscode from 'vscode';
import { sep } from 'node:path';
import type { MegaContextApi } from '../../../src/extension/extension';

export const EXTENSION_ID = 'megacontext.megacontext';

export function getExtension(): vscode.Extension<MegaContextApi> {
  const ext = vscode.extensions.getExtension<MegaContextApi>(EXTENSION_ID);
  if (!ext) throw new Error(`extension ${EXTENSION_ID} is not installed in this VS Code`);
  return ext;
}

/** Activates the extension under test (a no-op if it already is) and returns its API. */
export async function activateExtension(): Promise<MegaContextApi> {
  return getExtension().activate();
}

/** Modules of onnxruntime-node loaded into this (the extension host's) process. */
export function onnxruntimeModulesInThisProcess(): string[] {
  const marker = `${sep}onnxruntime-node${sep}`;
  return Object.keys(require.cache).filter((k) => k.includes(marker));
}
