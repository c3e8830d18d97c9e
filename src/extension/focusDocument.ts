// Read-only virtual documents (`megacontext-focus:` URIs) showing a focus result: the map, then the
// exact prompt the model would receive.
import * as vscode from 'vscode';
import type { FocusResult } from '../engine/protocol';

export const FOCUS_SCHEME = 'megacontext-focus';

export class FocusDocuments implements vscode.TextDocumentContentProvider {
  private readonly contents = new Map<string, string>();
  private next = 1;

  /** Opens a new virtual document for `result` and returns it. */
  async show(result: FocusResult): Promise<vscode.TextDocument> {
    const uri = vscode.Uri.from({ scheme: FOCUS_SCHEME, path: `/focus-${this.next++}.md` });
    this.contents.set(uri.toString(), `${result.report}\n## Prompt\n\n${result.prompt}`);
    const doc = await vscode.workspace.openTextDocument(uri);
    await vscode.window.showTextDocument(doc, { preview: true });
    return doc;
  }

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.contents.get(uri.toString()) ?? 'This focus result is no longer available.';
  }
}
