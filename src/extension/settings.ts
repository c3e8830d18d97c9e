// The extension's settings (package.json contributes.configuration), read where they are used so a
// change takes effect on the next request.
import * as vscode from 'vscode';
import { DEFAULT_FOCUS } from '../core/focus';
import type { FocusSettingsParams, IndexParams } from '../models/protocol';

function config(): vscode.WorkspaceConfiguration {
  return vscode.workspace.getConfiguration('megacontext');
}

export function budgetSetting(): number {
  return Math.max(256, Math.floor(config().get<number>('budget', 8192)));
}

export function providersSetting(): string[] {
  return config().get<string[]>('executionProviders', []);
}

/** A folder of models to use instead of the bundled ones ('' = bundled). Machine scope: a workspace cannot set it. */
export function modelsPathSetting(): string {
  return config().get<string>('modelsPath', '').trim();
}

/** Indexing scope: workspace folders, include/exclude globs, `files.exclude`, the size cap. */
export function indexScope(): Omit<IndexParams, 'rebuild'> {
  const roots = (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file').map((f) => f.uri.fsPath);
  const filesExclude = vscode.workspace.getConfiguration('files').get<Record<string, boolean>>('exclude', {});
  const exclude = [...config().get<string[]>('exclude', []), ...Object.entries(filesExclude).filter(([, on]) => on === true).map(([glob]) => glob)];
  const include = config().get<string[]>('include', []);
  return {
    roots,
    ...(include.length ? { include } : {}),
    exclude,
    maxFileBytes: config().get<number>('maxFileBytes', 1_000_000),
  };
}

/** Allocator parameters (megacontext.allocator.*). */
export function allocatorSettings(): FocusSettingsParams {
  const c = vscode.workspace.getConfiguration('megacontext.allocator');
  const shift = c.get<number[] | null>('shift', null);
  return {
    tauExpand: c.get<number>('tauExpand', DEFAULT_FOCUS.tauExpand),
    tauCollapse: c.get<number>('tauCollapse', DEFAULT_FOCUS.tauCollapse),
    nDiff: c.get<number>('nDiff', DEFAULT_FOCUS.nDiff),
    cooldown: c.get<number>('cooldown', DEFAULT_FOCUS.cooldown),
    gate: c.get<number>('gate', DEFAULT_FOCUS.gate),
    shift: Array.isArray(shift) && shift.length === 3 ? [shift[0], shift[1], shift[2]] : DEFAULT_FOCUS.shift,
    sharpen: c.get<number>('sharpen', DEFAULT_FOCUS.sharpen),
  };
}

/** Who scores relevance for the focus: LensNet (default) or the lexical plan. */
export function scorerSetting(): 'lens' | 'lexical' {
  return config().get<string>('scorer', 'lexical') === 'lens' ? 'lens' : 'lexical';
}

/** Seconds after startup before the workspace is indexed; 0 or less: only on first use. */
export function indexDelaySetting(): number {
  return config().get<number>('indexDelaySeconds', 5);
}
