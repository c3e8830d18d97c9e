// Command palette entries. Each command returns its result so that tests (and other extensions) can
// `await vscode.commands.executeCommand(...)` and inspect it.
import * as vscode from 'vscode';
import type { EngineClient } from './engineClient';
import type { RuntimeInfo } from '../models/protocol';

export interface CommandDeps {
  engine: EngineClient;
  output: vscode.OutputChannel;
}

export function registerCommands(context: vscode.ExtensionContext, deps: CommandDeps): void {
  context.subscriptions.push(
    vscode.commands.registerCommand('megacontext.showRuntimeInfo', () => showRuntimeInfo(deps)),
  );
}

async function showRuntimeInfo({ engine, output }: CommandDeps): Promise<RuntimeInfo> {
  const providers = vscode.workspace.getConfiguration('megacontext').get<string[]>('executionProviders');
  const info = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Window, title: 'MegaContext: starting the engine' },
    (_progress, token) => engine.request('runtimeInfo', { providers }, { token }),
  );
  output.appendLine(`onnxruntime ${info.ortVersion} (backends: ${info.backends.join(', ')}) on Node ${info.node}, engine pid ${info.pid}`);
  output.appendLine(info.modelsLoaded
    ? `model ${info.modelId} loaded from ${info.modelsDir} on ${info.executionProvider}`
    : `no model loaded: ${info.modelsError ?? 'unknown reason'}`);
  const summary = info.modelsLoaded
    ? `MegaContext engine: onnxruntime ${info.ortVersion}, models on ${info.executionProvider}.`
    : `MegaContext engine: onnxruntime ${info.ortVersion}, no model loaded (${info.modelsError ?? 'unknown reason'}).`;
  void vscode.window.showInformationMessage(summary, 'Show Details').then((choice) => {
    if (choice) output.show(true);
  });
  return info;
}
