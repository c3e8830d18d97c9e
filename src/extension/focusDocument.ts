// The focus report: one read-only virtual document (`megacontext-focus:/MegaContext Focus.md`) showing the
// latest focus result (what is in context and why, the map, then the exact prompt), opened as a Markdown
// preview. Every later focus (a new query, a pin or unpin, a chat request) rewrites it in place, so the
// one tab always shows the current working context.
import * as vscode from 'vscode';
import type { FocusResult } from '../engine/protocol';

export const FOCUS_SCHEME = 'megacontext-focus';
export const FOCUS_REPORT_URI = vscode.Uri.from({ scheme: FOCUS_SCHEME, path: '/MegaContext Focus.md' });

/** The report's Markdown: the engine's report, then the prompt in a fence the prompt cannot close. */
export function reportMarkdown(result: FocusResult): string {
  const longest = Math.max(0, ...[...result.prompt.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(Math.max(3, longest + 1));
  return `${result.report}\n## Prompt\n\n${fence}text\n${result.prompt}\n${fence}\n`;
}

export class FocusDocuments implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private content: string | undefined;
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;
  private readonly subscription: vscode.Disposable;

  /** `onDidFocus`: every refocus, whoever asked for it; the report follows it once it has been shown. */
  constructor(onDidFocus: vscode.Event<FocusResult>) {
    this.subscription = onDidFocus((result) => {
      if (this.content === undefined) return;
      this.content = reportMarkdown(result);
      void this.refresh();
    });
  }

  /**
   * Tells VS Code the report changed. The extension host passes a content change on only for a document
   * it holds, and it lets go of one no editor of its own shows while the Markdown preview keeps the
   * workbench's copy, which then stayed at an earlier query: the report is opened here first.
   */
  private async refresh(): Promise<void> {
    try {
      await vscode.workspace.openTextDocument(FOCUS_REPORT_URI);
    } catch {
      // Opening can only fail while the window closes; the event below is harmless then.
    }
    this.changed.fire(FOCUS_REPORT_URI);
  }

  /** Shows `result` in the report's one tab, as a rendered Markdown preview (the source, if no preview is available). */
  async show(result: FocusResult): Promise<vscode.Uri> {
    const fresh = this.content === undefined;
    this.content = reportMarkdown(result);
    if (!fresh) await this.refresh();
    try {
      await vscode.commands.executeCommand('markdown.showPreview', FOCUS_REPORT_URI);
    } catch {
      // Without the built-in Markdown extension: the Markdown source, still in one tab.
      await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(FOCUS_REPORT_URI), { preview: true });
    }
    return FOCUS_REPORT_URI;
  }

  provideTextDocumentContent(uri: vscode.Uri): string {
    return uri.toString() === FOCUS_REPORT_URI.toString() && this.content !== undefined ? this.content : 'No focus yet: run "MegaContext: Focus on Query…".';
  }

  dispose(): void {
    this.subscription.dispose();
    this.changed.dispose();
  }
}
