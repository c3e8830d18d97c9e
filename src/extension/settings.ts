// The extension's settings (package.json contributes.configuration), read where they are used so a
// change takes effect on the next request.
import * as vscode from 'vscode';
import type { FocusSettingsParams, IndexParams, ScorerChoice } from '../engine/protocol';

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

/**
 * Allocator parameters (megacontext.allocator.*): the values VS Code has for them (the user's, or the
 * defaults package.json contributes). A parameter it has no number for is left out, and the engine uses
 * its own default (src/core/focus.ts DEFAULT_FOCUS).
 */
export function allocatorSettings(): FocusSettingsParams {
  const c = vscode.workspace.getConfiguration('megacontext.allocator');
  const settings: FocusSettingsParams = {};
  for (const key of ['tauExpand', 'tauCollapse', 'nDiff', 'cooldown', 'gate', 'sharpen'] as const) {
    const value = c.get<unknown>(key);
    if (typeof value === 'number' && Number.isFinite(value)) settings[key] = value;
  }
  const shift = c.get<unknown>('shift');
  settings.shift = Array.isArray(shift) && shift.length === 3 && shift.every((w) => typeof w === 'number') ? [shift[0], shift[1], shift[2]] : null;
  return settings;
}

/** Who scores relevance for the focus: the lexical plan (default), the plan by LensNet v2's values, or LensNet. */
export function scorerSetting(): ScorerChoice {
  const s = config().get<string>('scorer', 'lexical');
  return s === 'lens' || s === 'lens2' ? s : 'lexical';
}

/** Seconds after startup before the workspace is indexed; 0 or less: only on first use. */
export function indexDelaySetting(): number {
  return config().get<number>('indexDelaySeconds', 5);
}
