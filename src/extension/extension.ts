// Activation wires capabilities together and nothing else: no model, no onnxruntime, no engine process
// is touched here. The engine host starts on the first command that needs it.
import * as vscode from 'vscode';
import { registerCommands } from './commands';
import { EngineClient } from './engineClient';

/** What `activate` returns: `vscode.extensions.getExtension('megacontext.megacontext').exports`. */
export interface MegaContextApi {
  /** True once the engine host process has been started (it is not started at activation). */
  readonly engineStarted: boolean;
}

export function activate(context: vscode.ExtensionContext): MegaContextApi {
  const output = vscode.window.createOutputChannel('MegaContext');
  context.subscriptions.push(output);

  const engine = new EngineClient({
    hostPath: vscode.Uri.joinPath(context.extensionUri, 'dist', 'host.js').fsPath,
    log: (line) => output.appendLine(line),
    onCrash: (reason) => {
      void vscode.window.showWarningMessage(`MegaContext: ${reason}. It will restart on the next request.`);
    },
  });
  context.subscriptions.push({ dispose: () => engine.dispose() });

  registerCommands(context, { engine, output });

  return {
    get engineStarted() {
      return engine.started;
    },
  };
}

export function deactivate(): void {
  // Everything is disposed through context.subscriptions.
}
