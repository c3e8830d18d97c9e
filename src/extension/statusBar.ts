// The status bar item: tokens in memory and the device the models run on. Click: runtime info.
import * as vscode from 'vscode';
import type { EngineStatus } from '../engine/protocol';
import { statusBarText, statusTooltip } from './statusText';

export function registerStatusBar(context: vscode.ExtensionContext, onStatus: vscode.Event<EngineStatus>): vscode.StatusBarItem {
  const item = vscode.window.createStatusBarItem('megacontext.status', vscode.StatusBarAlignment.Right, 100);
  item.name = 'MegaContext';
  item.text = '$(layers) MegaContext';
  item.tooltip = 'MegaContext: the engine starts on first use';
  item.command = 'megacontext.showRuntimeInfo';
  item.show();
  context.subscriptions.push(item, onStatus((s) => {
    item.text = statusBarText(s);
    item.backgroundColor = s.degraded ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
    item.tooltip = statusTooltip(s);
  }));
  return item;
}
