import type { FocusSnapshot } from '../webview/protocol';
// The engine host's memory: one tree (workspace files, chat transcripts, notes) opened from the store
// in the extension's storage folder, kept current by the extension's requests, and written back shortly
// after each change. A warm start restores gists from the store; nothing is recomputed.
import { stat } from 'node:fs/promises';
import { basename, join, relative, sep } from 'node:path';
import { STORE_FILE } from '../core/store';
import { openTree, refreshFiles, saveTree, type RefreshResult } from '../core/indexer';
import { redactPath, redactSecrets } from '../core/secrets';
import type { ModelRuntime } from '../core/runtime';
import type { Tree, TreeDocument } from '../core/tree';

const SAVE_DELAY_MS = 1500;
/** Files remembered as recently shown exact (or open), checked by content before the next focus. */
const RECENT_FILES = 64;

export class MemorySession {
  /** Workspace folders of the last index request: they decide how paths are shown. */
  roots: string[] = [];
  /** The viewer's last snapshot, so the next one can say what expanded and collapsed. */
  lastSnapshot: FocusSnapshot | undefined;
  /** Recently shown exact or open files, oldest first (insertion order), at most RECENT_FILES. */
  private readonly recentFiles = new Set<string>();
  private saveTimer: NodeJS.Timeout | undefined;
  private saving: Promise<unknown> = Promise.resolve();

  private constructor(readonly tree: Tree, readonly runtime: ModelRuntime, readonly storeDir: string | undefined, readonly store: string) {}

  static async open(runtime: ModelRuntime, storeDir: string | undefined): Promise<MemorySession> {
    const { tree, store } = await openTree(runtime, storeDir);
    return new MemorySession(tree, runtime, storeDir, store);
  }

  /** Path of a document as the prompt and the user see it. */
  displayPath = (doc: TreeDocument): string => {
    if (doc.kind !== 'file') return doc.id;
    for (const root of this.roots) {
      if (doc.id === root || doc.id.startsWith(root.endsWith(sep) ? root : root + sep)) {
        const rel = relative(root, doc.id).split(sep).join('/');
        return redactPath(this.roots.length > 1 ? `${basename(root)}/${rel}` : rel);
      }
    }
    return redactPath(doc.id);
  };

  /** Remembers files just shown exact (LOD0) or open in the editor, for `verifyFiles` before the next focus. */
  noteRecentFiles(ids: Iterable<string>): void {
    for (const id of ids) {
      if (this.tree.documents.get(id)?.kind !== 'file') continue;
      this.recentFiles.delete(id);
      this.recentFiles.add(id);
    }
    for (const id of this.recentFiles) {
      if (this.recentFiles.size <= RECENT_FILES) break;
      this.recentFiles.delete(id);
    }
  }

  /**
   * Compares `ids` (the open files) and the recently shown ones with the disk by content, before their
   * text is shown exact again: a file edited without a watcher event, or with its mtime restored, is
   * re-ingested; one that is gone, binary or secret now leaves the tree. Call it before a focus.
   */
  async verifyFiles(ids: Iterable<string> = []): Promise<RefreshResult> {
    const res = await refreshFiles(this.tree, [...this.recentFiles, ...ids]);
    for (const r of res.removed) this.recentFiles.delete(r.path);
    if (res.changed.length + res.removed.length > 0) this.changed();
    return res;
  }

  /** Schedules a write of the tree to the store (debounced). */
  changed(): void {
    if (!this.storeDir) return;
    clearTimeout(this.saveTimer);
    this.saveTimer = setTimeout(() => { void this.flush(); }, SAVE_DELAY_MS);
  }

  /** Writes the tree now; serialised with any write in progress. */
  async flush(): Promise<number> {
    clearTimeout(this.saveTimer);
    this.saveTimer = undefined;
    const dir = this.storeDir;
    if (!dir) return 0;
    const write = this.saving.then(() => saveTree(this.tree, dir));
    this.saving = write.catch(() => undefined);
    return (await write).bytes;
  }

  async storeBytes(): Promise<number> {
    if (!this.storeDir) return 0;
    try {
      return (await stat(join(this.storeDir, STORE_FILE))).size;
    } catch {
      return 0;
    }
  }

  /**
   * Appends text to a memory document (a chat transcript or the notes), creating it if needed. Secrets in
   * the text (a key pasted into chat, an answer quoting one) are redacted first, as in workspace files.
   */
  async append(id: string, kind: 'chat' | 'notes', text: string): Promise<TreeDocument> {
    const old = this.tree.documents.get(id);
    const clean = redactSecrets(text).text;
    await this.tree.ingest([{ id, kind, appending: true, text: (old?.text ?? '') + clean, mtimeMs: Date.now() }]);
    this.changed();
    return this.tree.documents.get(id)!;
  }
}
