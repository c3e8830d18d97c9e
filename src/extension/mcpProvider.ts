// Publishes `megacontext mcp` to VS Code's MCP support (agent mode's MCP tools, and any MCP client
// VS Code starts), so agents reach the same memory as the chat participant and the language-model
// tools: the bundled CLI, run by the editor's own Node (process.execPath, as Node with
// ELECTRON_RUN_AS_NODE), on the workspace folders, with the extension's store folder and settings.
// Nothing is offered in an untrusted workspace (the memory is not indexed there either).
import * as vscode from 'vscode';
import { budgetSetting, indexScope, modelsPathSetting, providersSetting, scorerSetting } from './settings';

/** The id in package.json `contributes.mcpServerDefinitionProviders`. */
export const MCP_PROVIDER_ID = 'megacontext.mcp';
export const MCP_SERVER_LABEL = 'MegaContext';

/** The server definition for this workspace, or none (untrusted, or no folder on disk). */
export function mcpServerDefinitions(extension: vscode.ExtensionContext['extension'], storageDir: string): vscode.McpStdioServerDefinition[] {
  if (!vscode.workspace.isTrusted) return [];
  const scope = indexScope();
  if (scope.roots.length === 0) return [];
  const cli = vscode.Uri.joinPath(extension.extensionUri, 'bin', 'megacontext.js').fsPath;
  const providers = providersSetting();
  const models = modelsPathSetting();
  const args = [
    cli, 'mcp', ...scope.roots,
    '--store', storageDir,
    '--budget', String(budgetSetting()),
    '--scorer', scorerSetting(),
    '--max-file-bytes', String(Math.max(1, Math.floor(scope.maxFileBytes ?? 1_000_000))),
    ...(scope.include?.length ? ['--include', JSON.stringify(scope.include)] : []),
    '--exclude', JSON.stringify(scope.exclude ?? []),
    ...(providers.length ? ['--providers', providers.join(',')] : []),
    ...(models ? ['--models', models] : []),
  ];
  const version = String((extension.packageJSON as { version?: unknown }).version ?? '0.0.0');
  const definition = new vscode.McpStdioServerDefinition(MCP_SERVER_LABEL, process.execPath, args, { ELECTRON_RUN_AS_NODE: '1' }, version);
  definition.cwd = vscode.Uri.file(scope.roots[0]);
  return [definition];
}

/** Registers the provider; the definitions change with trust, the folders and the settings they carry. */
export function registerMcpServer(context: vscode.ExtensionContext, storageDir: string): () => vscode.McpStdioServerDefinition[] {
  const changed = new vscode.EventEmitter<void>();
  const provide = () => mcpServerDefinitions(context.extension, storageDir);
  context.subscriptions.push(
    changed,
    vscode.lm.registerMcpServerDefinitionProvider(MCP_PROVIDER_ID, {
      onDidChangeMcpServerDefinitions: changed.event,
      provideMcpServerDefinitions: provide,
      // Checked again at start: trust may have been revoked since the list was given.
      resolveMcpServerDefinition: (server) => (vscode.workspace.isTrusted ? server : undefined),
    }),
    vscode.workspace.onDidGrantWorkspaceTrust(() => changed.fire()),
    vscode.workspace.onDidChangeWorkspaceFolders(() => changed.fire()),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('megacontext') || e.affectsConfiguration('files.exclude')) changed.fire();
    }),
  );
  return provide;
}
