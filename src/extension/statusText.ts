// What the status bar item says about the memory, from the engine's status. Free of `vscode`, so a unit
// test can check it against the store on disk and against what Show Runtime Info reports.
import type { EngineStatus } from '../engine/protocol';

export function formatTokens(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  return String(n);
}

/** A size in bytes for people: `1.1 MB`, `9.1 KB`, `512 B` (decimal units). */
export function formatBytes(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(1)} GB`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} MB`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} KB`;
  return `${n} B`;
}

export function deviceLabel(executionProvider: string): string {
  if (executionProvider === 'none') return 'no model';
  return executionProvider === 'cpu' ? 'CPU' : `GPU (${executionProvider})`;
}

export function statusBarText(s: EngineStatus): string {
  return s.degraded
    ? `$(warning) ${formatTokens(s.tokens)} tok · lexical only`
    : `$(layers) ${formatTokens(s.tokens)} tok · ${deviceLabel(s.executionProvider)}`;
}

export function statusTooltip(s: EngineStatus): string {
  const store = s.storeDir === null ? 'not stored (no storage folder)' : `store ${formatBytes(s.storeBytes)} (${s.storeBytes.toLocaleString('en-US')} bytes)`;
  return s.degraded
    ? `MegaContext runs in lexical-only mode (${s.files} files, ${s.tokens.toLocaleString('en-US')} tokens; ${store}): the models did not load: ${s.degradedReason ?? 'unknown reason'}`
    : `MegaContext: ${s.files} files, ${s.chatDocuments} chat and ${s.notesDocuments} notes documents, ${s.tokens.toLocaleString('en-US')} tokens; ${store}`;
}
