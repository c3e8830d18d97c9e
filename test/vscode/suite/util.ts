// Helpers shared by the in-VS-Code tests.
import * as vscode from 'vscode';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join, sep } from 'node:path';
import { onFinish } from './harness';
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

export const FAKE_MODEL_EXTENSION_ID = 'megacontext-test.megacontext-fake-model';

export interface FakeModelApi {
  /** Every request, with what its answer cited: `path La-b` per exact run of the working context it was given. */
  requests: { messages: { role: number; text: string }[]; tokens: number; answerCites?: string[] }[];
  maxInputTokens: number;
  countTokens(text: string): number;
}

/** The test-only extension's record of every request its fake chat model received. */
export async function fakeModel(): Promise<FakeModelApi> {
  const ext = vscode.extensions.getExtension<FakeModelApi>(FAKE_MODEL_EXTENSION_ID);
  if (!ext) throw new Error(`${FAKE_MODEL_EXTENSION_ID} is not loaded (runCodeServer passes it as a second extensionDevelopmentPath)`);
  return ext.activate();
}

/** The fake connected model, as the extension sees it through vscode.lm. */
export async function fakeChatModel(): Promise<vscode.LanguageModelChat> {
  await fakeModel();
  for (let i = 0; i < 50; i++) {
    const [model] = await vscode.lm.selectChatModels({ vendor: 'megacontext-fake' });
    if (model) return model;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the fake chat model never became available through vscode.lm.selectChatModels');
}

export function workspaceRoot(): string {
  const folder = vscode.workspace.workspaceFolders?.[0];
  if (!folder) throw new Error('the test workspace has no folder');
  return folder.uri.fsPath;
}

/** A GitHub token shape, assembled at run time so that no real-looking token is ever committed. */
export const PLANTED_TOKEN = ['ghp', '_', 'MegaContextFixture', 'Tok3n', 'x'.repeat(13)].join('');
/** The value in the fixture workspace's .env (a secret file by name: never read). */
export const DOTENV_MARKER = 'fixture-dotenv-secret-7f3a9c';
export const LEAKY_FILE = 'src/leakyConfig.ts';

/** Writes the source file holding a planted token (removed after the suite, see secretsFixture). */
export function plantSecrets(): void {
  const path = join(workspaceRoot(), LEAKY_FILE);
  if (existsSync(path)) return;
  writeFileSync(path, `// Configuration that someone committed with a token in it.\nexport const githubToken = '${PLANTED_TOKEN}';\nexport const retries = 3;\n`);
  onFinish(() => rmSync(path, { force: true }));
}

/** Activates the extension and makes sure the fixture workspace (with planted secrets) is indexed. */
export async function indexedApi(): Promise<MegaContextApi> {
  const api = await activateExtension();
  plantSecrets();
  if (!indexedOnce) {
    await api.memory.index();
    indexedOnce = true;
  }
  return api;
}
let indexedOnce = false;

/** Text of a tool result's text parts. */
export function toolText(result: vscode.LanguageModelToolResult): string {
  return result.content.map((p) => (p instanceof vscode.LanguageModelTextPart ? p.value : '')).join('');
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `check` until it returns a truthy value or `timeoutMs` passes. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}
