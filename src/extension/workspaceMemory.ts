// Keeps the engine's tree in line with the workspace: a first index shortly after startup (never during
// activation, never before the workspace is trusted), then incremental updates from a file-system
// watcher and from open editors, debounced. Skipped files and their reasons go to the output channel.
import * as vscode from 'vscode';
import type { EngineClient } from './engineClient';
import type { EngineStatus, IndexResult } from '../engine/protocol';
import { indexDelaySetting, indexScope } from './settings';

const FILE_DEBOUNCE_MS = 500;
const EDITOR_DEBOUNCE_MS = 1000;

export class WorkspaceMemory implements vscode.Disposable {
  private readonly disposables: vscode.Disposable[] = [];
  private readonly statusEmitter = new vscode.EventEmitter<EngineStatus>();
  /** Fires with the engine's status after every change to the tree. */
  readonly onDidChangeStatus = this.statusEmitter.event;
  private indexing: Promise<IndexResult | undefined> | undefined;
  private indexedOnce = false;
  private readonly changed = new Map<string, string | undefined>();
  private readonly deleted = new Set<string>();
  private flushTimer: NodeJS.Timeout | undefined;
  private startTimer: NodeJS.Timeout | undefined;
  private updating: Promise<unknown> = Promise.resolve();

  constructor(private readonly engine: EngineClient, private readonly output: vscode.OutputChannel) {
    this.disposables.push(this.statusEmitter);
    const watcher = vscode.workspace.createFileSystemWatcher('**/*');
    this.disposables.push(
      watcher,
      watcher.onDidCreate((uri) => this.queue(uri, undefined, FILE_DEBOUNCE_MS)),
      watcher.onDidChange((uri) => this.queue(uri, undefined, FILE_DEBOUNCE_MS)),
      watcher.onDidDelete((uri) => this.queueDelete(uri)),
      vscode.workspace.onDidSaveTextDocument((doc) => this.queue(doc.uri, undefined, FILE_DEBOUNCE_MS)),
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (e.contentChanges.length > 0 && e.document.isDirty) this.queue(e.document.uri, e.document.getText(), EDITOR_DEBOUNCE_MS);
      }),
      vscode.workspace.onDidGrantWorkspaceTrust(() => this.scheduleFirstIndex(0.1)),
      vscode.workspace.onDidChangeWorkspaceFolders(() => { if (this.indexedOnce) void this.index().catch(() => undefined); }),
      vscode.workspace.onDidChangeConfiguration((e) => {
        const scope = ['megacontext.include', 'megacontext.exclude', 'megacontext.maxFileBytes', 'files.exclude'];
        if (this.indexedOnce && scope.some((s) => e.affectsConfiguration(s))) void this.index().catch(() => undefined);
      }),
    );
  }

  /** Schedules the first index `seconds` from now (the setting when omitted; ≤ 0: only on first use). */
  scheduleFirstIndex(seconds = indexDelaySetting()): void {
    clearTimeout(this.startTimer);
    if (seconds <= 0) return;
    this.startTimer = setTimeout(() => {
      if (!this.indexedOnce && vscode.workspace.isTrusted) void this.index().catch(() => undefined);
    }, seconds * 1000);
  }

  /** Ensures the workspace has been indexed once (used by chat, tools and commands before focusing). */
  async ensureIndexed(token?: vscode.CancellationToken): Promise<void> {
    if (this.indexedOnce || !vscode.workspace.isTrusted) return;
    await this.index({ token });
  }

  /** True once a first index finished (the tree holds the workspace). */
  get indexed(): boolean {
    return this.indexedOnce;
  }

  /** Indexes the workspace folders with a cancellable progress notification; one run at a time. */
  index(options: { rebuild?: boolean; token?: vscode.CancellationToken } = {}): Promise<IndexResult | undefined> {
    if (!vscode.workspace.isTrusted) {
      this.output.appendLine('workspace not trusted: indexing is off until it is trusted');
      return Promise.resolve(undefined);
    }
    if (this.indexing && !options.rebuild) return this.indexing;
    const previous = this.indexing ?? Promise.resolve(undefined);
    const run = previous.catch(() => undefined).then(() => this.runIndex(options.rebuild === true, options.token));
    this.indexing = run;
    void run.finally(() => { if (this.indexing === run) this.indexing = undefined; }).catch((err: unknown) => {
      this.output.appendLine(`indexing failed: ${err instanceof Error ? err.message : String(err)}`);
    });
    return run;
  }

  private async runIndex(rebuild: boolean, outer?: vscode.CancellationToken): Promise<IndexResult | undefined> {
    clearTimeout(this.startTimer);
    const scope = indexScope();
    if (scope.roots.length === 0) return undefined;
    const result = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: rebuild ? 'MegaContext: rebuilding memory' : 'MegaContext: indexing the workspace', cancellable: true },
      async (progress, token) => {
        const cancel = new vscode.CancellationTokenSource();
        const subs = [token.onCancellationRequested(() => cancel.cancel()), outer?.onCancellationRequested(() => cancel.cancel())];
        let reported = 0;
        try {
          return await this.engine.request('index', { ...scope, rebuild }, {
            token: cancel.token,
            timeoutMs: 30 * 60_000,
            onEvent: (p) => {
              const pct = p.totalDocuments > 0 ? (100 * p.documents) / p.totalDocuments : 0;
              progress.report({ message: `${p.documents}/${p.totalDocuments} files, ${p.tokens.toLocaleString('en-US')} tokens`, increment: pct - reported });
              reported = pct;
            },
          });
        } finally {
          subs.forEach((s) => s?.dispose());
          cancel.dispose();
        }
      },
    );
    this.indexedOnce = true;
    this.report(result);
    await this.refreshStatus();
    return result;
  }

  private report(r: IndexResult): void {
    this.output.appendLine(`indexed ${r.files} files, ${r.tokens} tokens (${r.added} new, ${r.updated} changed, ${r.unchanged} unchanged, ${r.removed} removed) in ${(r.ms / 1000).toFixed(2)} s`);
    this.reportSkips(r.skipped, r.redacted);
  }

  private reportSkips(skipped: IndexResult['skipped'], redacted: string[]): void {
    for (const s of skipped) this.output.appendLine(`  skipped ${s.path}: ${s.reason}${s.detail ? ` (${s.detail})` : ''}`);
    for (const p of redacted) this.output.appendLine(`  secrets redacted in ${p}`);
  }

  /** Asks the engine for its status and tells listeners (the status bar). */
  async refreshStatus(): Promise<EngineStatus | undefined> {
    if (!this.engine.started) return undefined;
    try {
      const status = await this.engine.request('status', {});
      this.statusEmitter.fire(status);
      return status;
    } catch {
      return undefined;
    }
  }

  private inWorkspace(uri: vscode.Uri): boolean {
    return uri.scheme === 'file' && vscode.workspace.getWorkspaceFolder(uri) !== undefined;
  }

  private queue(uri: vscode.Uri, text: string | undefined, delayMs: number): void {
    if (!this.indexedOnce || !this.inWorkspace(uri)) return;
    this.deleted.delete(uri.fsPath);
    this.changed.set(uri.fsPath, text);
    this.schedule(delayMs);
  }

  private queueDelete(uri: vscode.Uri): void {
    if (!this.indexedOnce || uri.scheme !== 'file') return;
    this.changed.delete(uri.fsPath);
    this.deleted.add(uri.fsPath);
    this.schedule(FILE_DEBOUNCE_MS);
  }

  private schedule(delayMs: number): void {
    clearTimeout(this.flushTimer);
    this.flushTimer = setTimeout(() => { void this.flushChanges(); }, delayMs);
  }

  /** Sends queued changes to the engine now; resolves when the tree reflects them. */
  flushChanges(): Promise<unknown> {
    clearTimeout(this.flushTimer);
    const changed = [...this.changed].map(([path, text]) => (text === undefined ? { path } : { path, text }));
    const deleted = [...this.deleted];
    this.changed.clear();
    this.deleted.clear();
    if (changed.length === 0 && deleted.length === 0) return this.updating;
    this.updating = this.updating.then(async () => {
      try {
        const r = await this.engine.request('updateFiles', { ...indexScope(), changed, deleted });
        if (r.updated + r.removed > 0) this.output.appendLine(`updated ${r.updated} and removed ${r.removed} documents${r.rewalked ? ' (folders walked again)' : ''}`);
        this.reportSkips(r.skipped, r.redacted);
        await this.refreshStatus();
      } catch (err) {
        this.output.appendLine(`update failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    });
    return this.updating;
  }

  /** After an engine restart the tree comes back from the store; files may have changed meanwhile. */
  engineRestarted(): void {
    if (this.indexedOnce) this.scheduleFirstIndex(1);
    this.indexedOnce = false;
  }

  dispose(): void {
    clearTimeout(this.flushTimer);
    clearTimeout(this.startTimer);
    for (const d of this.disposables) d.dispose();
  }
}
