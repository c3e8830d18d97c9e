// Activation wires capabilities together and nothing else: no model, no onnxruntime, no engine process
// is touched here. The engine host starts on first use: the first index a few seconds after startup
// (once the workspace is trusted), or the first command, chat request or tool call.
import * as vscode from 'vscode';
import { ChatModelWatch } from './chatModels';
import { createChatHandler, registerChatParticipant, type ChatHandler } from './chatParticipant';
import { registerCommands } from './commands';
import { EngineClient } from './engineClient';
import { FOCUS_SCHEME, FocusDocuments } from './focusDocument';
import { FocusService } from './focusService';
import { registerMcpServer } from './mcpProvider';
import { ModelChoice } from './modelChoice';
import { COLLAPSED_KEY, Pins } from './pins';
import { budgetSetting, modelsPathSetting, providersSetting } from './settings';
import { EngineFocusSource } from './focusViewerSource';
import { openFocusPanel, registerFocusViewer } from '../webview/focusViewer';
import { registerStatusBar } from './statusBar';
import { registerTools } from './tools';
import { WorkspaceMemory } from './workspaceMemory';

/** What `activate` returns: `vscode.extensions.getExtension('megacontext.megacontext').exports`. */
export interface MegaContextApi {
  /** True once the engine host process has been started (it is not started at activation). */
  readonly engineStarted: boolean;
  /** The engine client (the viewer and tests use it to query the memory). */
  readonly engine: EngineClient;
  readonly memory: WorkspaceMemory;
  readonly focus: FocusService;
  /** The `@megacontext` request handler, for callers that have a model but no chat view. */
  readonly chatHandler: ChatHandler;
  /** Writes the memory to the store and stops the engine host; the next request starts a fresh one that reloads it. */
  restartEngine(): Promise<void>;
  /** What the MCP server definition provider gives VS Code now (`megacontext mcp` on this workspace and store). */
  mcpServerDefinitions(): vscode.McpStdioServerDefinition[];
}

export function activate(context: vscode.ExtensionContext): MegaContextApi {
  const output = vscode.window.createOutputChannel('MegaContext');
  context.subscriptions.push(output);

  const storageUri = context.storageUri ?? context.globalStorageUri;
  let memory: WorkspaceMemory | undefined;
  const engine = new EngineClient({
    hostPath: vscode.Uri.joinPath(context.extensionUri, 'dist', 'host.js').fsPath,
    log: (line) => output.appendLine(line),
    env: () => ({
      MEGACONTEXT_STORE_DIR: storageUri.fsPath,
      MEGACONTEXT_PROVIDERS: providersSetting().join(','),
      ...(modelsPathSetting() ? { MEGACONTEXT_MODELS_DIR: modelsPathSetting() } : {}),
    }),
    onCrash: (reason) => {
      void vscode.window.showWarningMessage(`MegaContext: ${reason}. It restarts and reloads the memory from disk.`);
      memory?.engineRestarted();
    },
  });
  context.subscriptions.push({ dispose: () => engine.dispose() });

  memory = new WorkspaceMemory(engine, output);
  context.subscriptions.push(memory);
  const focus = new FocusService(engine, memory, new Pins(context.workspaceState), new Pins(context.workspaceState, COLLAPSED_KEY));
  const focusDocuments = new FocusDocuments(focus.onDidFocus);
  context.subscriptions.push(focusDocuments, vscode.workspace.registerTextDocumentContentProvider(FOCUS_SCHEME, focusDocuments));
  const modelChoice = new ModelChoice(context.workspaceState);

  registerStatusBar(context, memory.onDidChangeStatus);
  registerCommands(context, { engine, output, memory, focus, focusDocuments, modelChoice });
  const chatHandler = createChatHandler(focus);
  registerChatParticipant(context, chatHandler);
  registerTools(context, focus);
  const mcpServerDefinitions = registerMcpServer(context, storageUri.fsPath);
  const chatModels = new ChatModelWatch();
  const viewerSource = new EngineFocusSource(focus, budgetSetting, chatModels);
  context.subscriptions.push(
    chatModels,
    viewerSource,
    registerFocusViewer(context, viewerSource),
    vscode.commands.registerCommand('megacontext.openFocusViewerInEditor', () => openFocusPanel(context, viewerSource)),
  );
  memory.scheduleFirstIndex();
  // A different models folder or provider order takes a fresh engine host (it loads models once).
  context.subscriptions.push(vscode.workspace.onDidChangeConfiguration((e) => {
    if (engine.started && (e.affectsConfiguration('megacontext.modelsPath') || e.affectsConfiguration('megacontext.executionProviders'))) {
      void restartEngine();
    }
  }));
  async function restartEngine(): Promise<void> {
    if (engine.started) await engine.request('flush', {}).catch(() => undefined);
    engine.restart();
    memory!.engineRestarted();
  }

  const workspaceMemory = memory;
  return {
    get engineStarted() {
      return engine.started;
    },
    engine,
    memory: workspaceMemory,
    focus,
    chatHandler,
    restartEngine,
    mcpServerDefinitions,
  };
}

export function deactivate(): void {
  // Everything is disposed through context.subscriptions; the engine host saves the memory as it exits.
}
