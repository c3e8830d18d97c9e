// Command palette entries. Each command returns its result so that tests (and other extensions) can
// `await vscode.commands.executeCommand(...)` and inspect it. Commands that would ask the user
// (an input box, a quick pick, a confirmation) take the answer as an optional argument instead.
import * as vscode from 'vscode';
import type { EngineClient } from './engineClient';
import type { EngineStatus, FocusResult, IndexResult, LineHold, RuntimeInfo } from '../engine/protocol';
import type { FocusDocuments } from './focusDocument';
import type { FocusService } from './focusService';
import type { ModelChoice } from './modelChoice';
import { budgetSetting, providersSetting } from './settings';
import { revealFocusView } from '../webview/focusViewer';
import type { WorkspaceMemory } from './workspaceMemory';

export interface CommandDeps {
  engine: EngineClient;
  output: vscode.OutputChannel;
  memory: WorkspaceMemory;
  focus: FocusService;
  focusDocuments: FocusDocuments;
  modelChoice: ModelChoice;
}

export function registerCommands(context: vscode.ExtensionContext, deps: CommandDeps): void {
  const register = (id: string, run: (...args: never[]) => unknown) => context.subscriptions.push(vscode.commands.registerCommand(id, run));
  register('megacontext.showRuntimeInfo', () => showRuntimeInfo(deps));
  register('megacontext.index', () => deps.memory.index());
  register('megacontext.rebuild', (): Promise<IndexResult | undefined> => deps.memory.index({ rebuild: true }));
  register('megacontext.showFocusViewer', () => showFocusViewer());
  register('megacontext.focusOnQuery', (query?: string) => focusOnQuery(deps, query));
  register('megacontext.copyWorkingContext', (query?: string) => copyWorkingContext(deps, query));
  register('megacontext.pinSelection', () => pinSelection(deps, true));
  register('megacontext.unpinSelection', () => pinSelection(deps, false));
  register('megacontext.clearChatMemory', (options?: { confirmed?: boolean }) => clearChatMemory(deps, options?.confirmed === true));
  register('megacontext.selectModel', (modelId?: string) => deps.modelChoice.pick(modelId));
}

async function showRuntimeInfo({ engine, output, memory }: CommandDeps): Promise<RuntimeInfo & { status?: EngineStatus }> {
  const providers = providersSetting();
  const info = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Window, title: 'MegaContext: starting the engine' },
    (_progress, token) => engine.request('runtimeInfo', { providers }, { token }),
  );
  const status = await memory.refreshStatus();
  output.appendLine(`onnxruntime ${info.ortVersion} (backends: ${info.backends.join(', ')}) on Node ${info.node}, engine pid ${info.pid}`);
  output.appendLine(info.modelsLoaded
    ? `model ${info.modelId} loaded from ${info.modelsDir} on ${info.executionProvider}${info.threads ? ` (${info.threads} threads)` : ''}`
    : `no model loaded: ${info.modelsError ?? 'unknown reason'}; memory runs in lexical-only mode (focus by word matches alone)`);
  if (status) output.appendLine(`memory: ${status.documents} documents (${status.files} files), ${status.tokens} tokens; store ${status.storeBytes} bytes in ${status.storeDir ?? '(none)'} (${status.store})`);
  const tree = status ? ` Memory: ${status.tokens.toLocaleString('en-US')} tokens in ${status.documents} documents, store ${status.storeBytes.toLocaleString('en-US')} bytes.` : '';
  const summary = info.modelsLoaded
    ? `MegaContext engine: onnxruntime ${info.ortVersion}, models on ${info.executionProvider}.${tree}`
    : `MegaContext runs in lexical-only mode: no model loaded (${info.modelsError ?? 'unknown reason'}).${tree}`;
  void vscode.window.showInformationMessage(summary, 'Show Details').then((choice) => {
    if (choice) output.show(true);
  });
  return status ? { ...info, status } : info;
}

/** Opens the focus viewer (a webview view contributed separately) if this build has it. */
/** Shows the sidebar viewer; true once it is resolved and visible. */
async function showFocusViewer(): Promise<boolean> {
  const shown = await revealFocusView();
  if (!shown) void vscode.window.showWarningMessage('MegaContext: the focus viewer did not open. Use "MegaContext: Focus on Query…" to see the map.');
  return shown;
}

async function askQuery(query: string | undefined, title: string): Promise<string | undefined> {
  if (typeof query === 'string' && query.trim()) return query;
  const selection = vscode.window.activeTextEditor?.document.getText(vscode.window.activeTextEditor.selection).trim();
  return vscode.window.showInputBox({ title, prompt: 'A question or topic to focus the memory on', value: selection || undefined, ignoreFocusOut: true });
}

async function focusWithProgress(deps: CommandDeps, query: string, fixedBudget?: number): Promise<FocusResult> {
  const budget = fixedBudget ?? Math.min(budgetSetting(), await deps.modelChoice.budgetCap());
  return vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: 'MegaContext: focusing', cancellable: true },
    (_p, token) => deps.focus.focus(query, budget, token),
  );
}

async function focusOnQuery(deps: CommandDeps, query?: string): Promise<FocusResult | undefined> {
  const q = await askQuery(query, 'MegaContext: Focus on Query');
  if (!q) return undefined;
  const result = await focusWithProgress(deps, q);
  await deps.focusDocuments.show(result);
  return result;
}

async function copyWorkingContext(deps: CommandDeps, query?: string): Promise<string | undefined> {
  const q = typeof query === 'string' && query.trim() ? query : deps.focus.last?.query ?? (await askQuery(undefined, 'MegaContext: Copy Working Context'));
  if (!q) return undefined;
  const result = await focusWithProgress(deps, q);
  await vscode.env.clipboard.writeText(result.prompt);
  void vscode.window.showInformationMessage(`MegaContext: copied the working context (${result.tokens.toLocaleString('en-US')} tokens) for “${q}”.`);
  return result.prompt;
}

async function pinSelection(deps: CommandDeps, pin: boolean): Promise<LineHold[]> {
  const editor = vscode.window.activeTextEditor;
  if (!editor || editor.document.uri.scheme !== 'file') {
    void vscode.window.showWarningMessage('MegaContext: open a workspace file and select lines to pin or unpin.');
    return deps.focus.pins.list();
  }
  const { start, end } = editor.selection;
  const startLine = start.line + 1;
  const endLine = Math.max(startLine, end.character === 0 && end.line > start.line ? end.line : end.line + 1);
  const path = editor.document.uri.fsPath;
  const pins = pin ? await deps.focus.pins.add({ path, startLine, endLine }) : await deps.focus.pins.remove(path, startLine, endLine);
  vscode.window.setStatusBarMessage(`MegaContext: ${pin ? 'pinned' : 'unpinned'} lines ${startLine}-${endLine} of ${vscode.workspace.asRelativePath(path)}`, 4000);
  // The report and the viewer show the last focus: refocus it so they show the pin's effect.
  const last = deps.focus.last;
  if (last) await focusWithProgress(deps, last.query, last.budget);
  return pins;
}

async function clearChatMemory(deps: CommandDeps, confirmed: boolean): Promise<number> {
  if (!confirmed) {
    const choice = await vscode.window.showWarningMessage('Clear MegaContext\'s chat memory for this workspace? Notes and files stay.', { modal: true }, 'Clear');
    if (choice !== 'Clear') return 0;
  }
  const { removed } = await deps.engine.request('clearChat', {});
  await deps.memory.refreshStatus();
  return removed;
}
