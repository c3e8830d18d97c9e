import type { FocusSnapshot } from '../webview/protocol';
// The engine host's memory: one tree (workspace files, chat transcripts, notes) opened from the store
// in the extension's storage folder, kept current by the extension's requests, and written back shortly
// after each change. A warm start restores gists from the store; nothing is recomputed.
import { stat } from 'node:fs/promises';
import { basename, join, relative, sep } from 'node:path';
import { STORE_FILE } from '../core/store';
import { LexicalRuntime } from '../core/lexicalRuntime';
import { openTree, refreshFiles, saveTree, type RefreshResult } from '../core/indexer';
import { redactPath, redactSecrets } from '../core/secrets';
import type { ModelRuntime } from '../core/runtime';
import type { Tree, TreeDocument } from '../core/tree';
import type { EngineStatus, ExpandResult } from './protocol';

const SAVE_DELAY_MS = 1500;
/** The memory document notes are appended to. */
export const NOTES_ID = 'notes:memory';
/** The most lines one expand returns. */
const MAX_EXPAND_LINES = 2000;

/** A request the memory cannot serve as asked (the caller's input is wrong, not the engine). */
export class MemoryRequestError extends Error {}
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
  /** The store file's mtime when this session last read or wrote it: another value means another process wrote it. */
  private storeMtimeMs: number | undefined;

  private constructor(readonly tree: Tree, readonly runtime: ModelRuntime, readonly storeDir: string | undefined, readonly store: string) {}

  static async open(runtime: ModelRuntime, storeDir: string | undefined): Promise<MemorySession> {
    const { tree, store } = await openTree(runtime, storeDir);
    const session = new MemorySession(tree, runtime, storeDir, store);
    session.storeMtimeMs = await session.storeMtime();
    return session;
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

  /** True while a change waits for its debounced write to the store. */
  get savePending(): boolean {
    return this.saveTimer !== undefined;
  }

  /** Writes the tree now; serialised with any write in progress. */
  async flush(): Promise<number> {
    clearTimeout(this.saveTimer);
    this.saveTimer = undefined;
    const dir = this.storeDir;
    if (!dir) return 0;
    const write = this.saving.then(async () => {
      // Another process's notes are taken in first, so this write does not drop them.
      await this.syncNotes();
      const written = await saveTree(this.tree, dir);
      this.storeMtimeMs = await this.storeMtime();
      return written;
    });
    this.saving = write.catch(() => undefined);
    return (await write).bytes;
  }

  private storeMtime(): Promise<number | undefined> {
    return storeFileMtime(this.storeDir);
  }

  /**
   * Takes in the notes another process sharing this store (the MCP server, another window) wrote since this
   * session last read or wrote it: the extension's engine and every MCP server then keep one set of notes,
   * and no process's save drops another's. Notes only grow: where one version extends the other the longer
   * wins; versions that diverged keep ours and add the other's notes that ours lacks. Returns true when the
   * notes changed (the caller schedules the write; flush writes anyway).
   */
  async syncNotes(): Promise<boolean> {
    const mtime = await this.storeMtime();
    if (mtime === undefined || mtime === this.storeMtimeMs) return false;
    this.storeMtimeMs = mtime;
    let theirs: string | undefined;
    try {
      theirs = (await openTree(this.runtime, this.storeDir)).tree.documents.get(NOTES_ID)?.text;
    } catch {
      return false; // unreadable now: the next change of the store tries again
    }
    const ours = this.tree.documents.get(NOTES_ID)?.text ?? '';
    if (theirs === undefined || theirs === ours || ours.startsWith(theirs)) return false;
    let merged: string;
    if (theirs.startsWith(ours)) merged = theirs;
    else {
      // One note is a `- ` line and its indented continuation lines (see remember).
      const notes = (text: string) => text.split(/^(?=- )/m).filter((n) => n.trim() !== '');
      const known = new Set(notes(ours));
      merged = ours + notes(theirs).filter((n) => !known.has(n)).join('');
      if (merged === ours) return false;
    }
    await this.tree.ingest([{ id: NOTES_ID, kind: 'notes', appending: true, text: merged, mtimeMs: Date.now() }]);
    return true;
  }

  async storeBytes(): Promise<number> {
    if (!this.storeDir) return 0;
    try {
      return (await stat(join(this.storeDir, STORE_FILE))).size;
    } catch {
      return 0;
    }
  }

  /** Appends a note (a fact, decision or preference) to the notes document, one list item per note. */
  remember(note: string): Promise<TreeDocument> {
    return this.append(NOTES_ID, 'notes', `- ${note.trim().replace(/\n/g, '\n  ')}\n`);
  }

  /** Exact text of lines `startLine..endLine` (1-based, inclusive) of a document, as indexed (secrets redacted). */
  expand(id: string, startLine: number, endLine: number): ExpandResult {
    const doc = this.tree.documents.get(id);
    if (!doc) throw new MemoryRequestError(`${id} is not in MegaContext's memory (only indexed workspace files, chat and notes can be expanded)`);
    const total = doc.lines.length;
    if (!Number.isInteger(startLine) || !Number.isInteger(endLine) || startLine < 1 || endLine < startLine) {
      throw new MemoryRequestError('startLine and endLine must be integers with 1 ≤ startLine ≤ endLine');
    }
    if (startLine > total) throw new MemoryRequestError(`${this.displayPath(doc)} has ${total} lines; startLine ${startLine} is past its end`);
    const last = Math.min(endLine, total, startLine + MAX_EXPAND_LINES - 1);
    const from = doc.lines[startLine - 1];
    const to = last < total ? doc.lines[last] : doc.textLength;
    return { path: doc.id, startLine, endLine: last, text: doc.text.slice(from, to), totalLines: total };
  }

  /** What the memory holds, where it is stored and what it runs on. */
  async status(): Promise<EngineStatus> {
    const docs = [...this.tree.documents.values()];
    const info = this.runtime.info();
    const lexical = this.runtime instanceof LexicalRuntime ? this.runtime : undefined;
    return {
      documents: docs.length,
      files: docs.filter((d) => d.kind === 'file').length,
      chatDocuments: docs.filter((d) => d.kind === 'chat').length,
      notesDocuments: docs.filter((d) => d.kind === 'notes').length,
      tokens: this.tree.totalTokens(),
      storeDir: this.storeDir ?? null,
      storeBytes: await this.storeBytes(),
      store: this.store,
      executionProvider: info.executionProvider,
      modelId: info.modelId,
      degraded: lexical !== undefined,
      ...(lexical ? { degradedReason: lexical.reason } : {}),
      blocksGisted: this.tree.counters.blocksGisted,
      blocksReused: this.tree.counters.blocksReused,
    };
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

/** The mtime of the store file in `storeDir` (undefined: no store, or no file yet): another value than the one
 * a process last read or wrote means another process wrote it. */
export async function storeFileMtime(storeDir: string | undefined): Promise<number | undefined> {
  if (!storeDir) return undefined;
  try {
    return (await stat(join(storeDir, STORE_FILE))).mtimeMs;
  } catch {
    return undefined;
  }
}
