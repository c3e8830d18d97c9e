// Connects the focus viewer to the engine: every refocus (command, chat request, tool call) goes
// through FocusService, which fires the new snapshot; pins from the viewer become allocator holds.
import * as vscode from 'vscode';
import type { ChatModelWatch } from './chatModels';
import type { FocusService } from './focusService';
import type { FocusSnapshot, FocusSource, SpanRef } from '../webview/protocol';
import { FOCUS_VIEW_ID } from '../webview/focusViewer';

export class EngineFocusSource implements FocusSource, vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<FocusSnapshot>();
  readonly onDidFocus = this.emitter.event;
  private readonly subscription: vscode.Disposable;

  /** Fires when the view's notice changes (a chat model appeared or went away). */
  readonly onDidChangeNotice: vscode.Event<void>;

  constructor(private readonly focus: FocusService, private readonly budget: () => number, private readonly models: ChatModelWatch) {
    this.subscription = focus.onDidFocus((r) => this.emitter.fire(r.snapshot));
    this.onDidChangeNotice = models.onDidChange;
  }

  notice(): string | undefined {
    return this.models.notice();
  }

  current(): FocusSnapshot | undefined {
    return this.focus.last?.snapshot;
  }

  private async refocus(): Promise<void> {
    const last = this.focus.last;
    if (last) await this.focus.focus(last.query, last.budget ?? this.budget());
  }

  /** A question typed into the view's query box: focused like "Focus on Query…", shown by the view. */
  async query(query: string): Promise<void> {
    await vscode.window.withProgress(
      { location: { viewId: FOCUS_VIEW_ID }, title: 'MegaContext: focusing' },
      () => this.focus.focus(query, this.budget()),
    );
  }

  async pin(span: SpanRef): Promise<void> {
    if (!span.docId) return;
    await this.focus.pins.add({ path: span.docId, startLine: span.startLine, endLine: span.endLine });
    await this.refocus();
  }

  /** Releases the user's constraints on the span: its pins and its collapse. */
  async unpin(span: SpanRef): Promise<void> {
    if (!span.docId) return;
    await this.focus.pins.remove(span.docId, span.startLine, span.endLine);
    await this.focus.collapsed.remove(span.docId, span.startLine, span.endLine);
    await this.refocus();
  }

  /** Keeps the span at group gists or coarser in every later focus (a pin inside it still wins). */
  async collapse(span: SpanRef): Promise<void> {
    if (!span.docId) return;
    await this.focus.pins.remove(span.docId, span.startLine, span.endLine);
    await this.focus.collapsed.add({ path: span.docId, startLine: span.startLine, endLine: span.endLine });
    await this.refocus();
  }

  dispose(): void {
    this.subscription.dispose();
    this.emitter.dispose();
  }
}
