// The status bar item: tokens in memory and the device the models run on. Click: runtime info.
import * as vscode from 'vscode';
import type { EngineStatus } from '../models/protocol';

export function formatTokens(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  return String(n);
}

export function deviceLabel(executionProvider: string): string {
  if (executionProvider === 'none') return 'no model';
  return executionProvider === 'cpu' ? 'CPU' : `GPU (${executionProvider})`;
}

export function registerStatusBar(context: vscode.ExtensionContext, onStatus: vscode.Event<EngineStatus>): vscode.StatusBarItem {
  const item = vscode.window.createStatusBarItem('megacontext.status', vscode.StatusBarAlignment.Right, 100);
  item.name = 'MegaContext';
  item.text = '$(layers) MegaContext';
  item.tooltip = 'MegaContext: the engine starts on first use';
  item.command = 'megacontext.showRuntimeInfo';
  item.show();
  context.subscriptions.push(item, onStatus((s) => {
    item.text = s.degraded
      ? `$(warning) ${formatTokens(s.tokens)} tok · lexical only`
      : `$(layers) ${formatTokens(s.tokens)} tok · ${deviceLabel(s.executionProvider)}`;
    item.backgroundColor = s.degraded ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
    item.tooltip = s.degraded
      ? `MegaContext runs in lexical-only mode (${s.files} files, ${s.tokens.toLocaleString('en-US')} tokens): the models did not load: ${s.degradedReason ?? 'unknown reason'}`
      : `MegaContext: ${s.files} files, ${s.chatDocuments} chat and ${s.notesDocuments} notes documents, ${s.tokens.toLocaleString('en-US')} tokens; store ${formatTokens(s.storeBytes)}B`;
  }));
  return item;
}
