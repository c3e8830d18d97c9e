// The focus viewer's host side: a webview view in the sidebar (`megacontext.focusView`) and an
// editor-panel version, both driven by a FocusSource the extension wires to the engine.
import { randomBytes } from 'node:crypto';
import { isAbsolute } from 'node:path';
import * as vscode from 'vscode';
import { makeNonce, viewerHtml } from './html';
import type { FocusSource, SpanRef } from './protocol';
import { ViewerSession } from './viewerSession';

export const FOCUS_VIEW_ID = 'megacontext.focusView';
const PANEL_TYPE = 'megacontext.focusPanel';

/** Registers the sidebar view's provider. Push the result to `context.subscriptions`. */
export function registerFocusViewer(context: vscode.ExtensionContext, source: FocusSource): vscode.Disposable {
  const provider: vscode.WebviewViewProvider = {
    resolveWebviewView(view) {
      sidebarView = view;
      const attached = attach(context, view.webview, source, () => view.visible, 'sidebar');
      const subs: vscode.Disposable[] = [
        attached,
        view.onDidChangeVisibility(() => attached.session.visibilityChanged()),
      ];
      subs.push(view.onDidDispose(() => {
        if (sidebarView === view) sidebarView = undefined;
        vscode.Disposable.from(...subs).dispose();
      }));
    },
  };
  return vscode.Disposable.from(
    vscode.window.registerWebviewViewProvider(FOCUS_VIEW_ID, provider),
    { dispose: () => { openPanel?.dispose(); channel?.dispose(); channel = undefined; } },
  );
}

/** The sidebar view once VS Code has resolved it (the first time it is shown), until it is disposed. */
let sidebarView: vscode.WebviewView | undefined;

/**
 * Reveals the sidebar view and waits (at most `timeoutMs`) for VS Code to resolve it and show it:
 * true when the viewer is on screen, false when it did not appear.
 */
export async function revealFocusView(timeoutMs = 10_000): Promise<boolean> {
  await vscode.commands.executeCommand(`${FOCUS_VIEW_ID}.focus`);
  const deadline = Date.now() + timeoutMs;
  while (sidebarView?.visible !== true && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  return sidebarView?.visible === true;
}

let openPanel: vscode.WebviewPanel | undefined;

/** Opens (or reveals) the larger editor-area version of the viewer. */
export function openFocusPanel(context: vscode.ExtensionContext, source: FocusSource): vscode.WebviewPanel {
  if (openPanel) {
    openPanel.reveal();
    return openPanel;
  }
  const panel = vscode.window.createWebviewPanel(PANEL_TYPE, 'MegaContext Focus', vscode.ViewColumn.Active, webviewOptions(context));
  panel.iconPath = vscode.Uri.joinPath(context.extensionUri, 'media', 'megacontext.svg');
  const attached = attach(context, panel.webview, source, () => panel.visible, 'panel');
  const subs: vscode.Disposable[] = [attached, panel.onDidChangeViewState(() => attached.session.visibilityChanged())];
  subs.push(panel.onDidDispose(() => {
    openPanel = undefined;
    vscode.Disposable.from(...subs).dispose();
  }));
  openPanel = panel;
  return panel;
}

function webviewOptions(context: vscode.ExtensionContext): vscode.WebviewOptions {
  return { enableScripts: true, localResourceRoots: [vscode.Uri.joinPath(context.extensionUri, 'media')] };
}

function attach(
  context: vscode.ExtensionContext,
  webview: vscode.Webview,
  source: FocusSource,
  isVisible: () => boolean,
  variant: 'sidebar' | 'panel',
): vscode.Disposable & { session: ViewerSession } {
  webview.options = webviewOptions(context);
  const session = new ViewerSession(source, { post: (m) => webview.postMessage(m), isVisible }, { log, openFallback: openSpan });
  const media = (...p: string[]) => webview.asWebviewUri(vscode.Uri.joinPath(context.extensionUri, 'media', ...p)).toString();
  webview.html = viewerHtml({
    cspSource: webview.cspSource,
    nonce: makeNonce((n) => randomBytes(n)),
    scriptUri: media('dist', 'viewer.js'),
    styleUri: media('viewer.css'),
    variant,
  });
  const sub = webview.onDidReceiveMessage((m: unknown) => session.receive(m));
  return { session, dispose: () => { sub.dispose(); session.dispose(); } };
}

let channel: vscode.LogOutputChannel | undefined;
function log(line: string): void {
  channel ??= vscode.window.createOutputChannel('MegaContext Focus Viewer', { log: true });
  channel.warn(line);
}

/** Opens a span's file with its line range selected: an absolute path, or one relative to a workspace folder. */
export async function openSpan(span: SpanRef): Promise<void> {
  const uri = await resolvePath(span.path);
  if (!uri) {
    void vscode.window.showWarningMessage(`MegaContext: cannot open ${span.path}`);
    return;
  }
  const range = new vscode.Range(span.startLine - 1, 0, span.endLine - 1, Number.MAX_SAFE_INTEGER);
  await vscode.window.showTextDocument(uri, { selection: range, preview: true });
}

async function resolvePath(path: string): Promise<vscode.Uri | undefined> {
  if (isAbsolute(path)) return vscode.Uri.file(path);
  for (const folder of vscode.workspace.workspaceFolders ?? []) {
    const uri = vscode.Uri.joinPath(folder.uri, path);
    try {
      await vscode.workspace.fs.stat(uri);
      return uri;
    } catch {
      // not in this folder
    }
  }
  return undefined;
}
