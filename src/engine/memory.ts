// The one engine: a memory (workspace files, chat transcripts, notes) in one tree, opened from a store
// folder and written back to it, indexed, kept current and focused. The engine host (host.ts, the
// extension's JSON-RPC server), the `megacontext` CLI (index, focus) and the MCP server (src/mcp) all
// run this class; they differ only in how they are asked and in what they show.
//
// A warm start restores gists from the store; nothing is recomputed. Changes to the tree run one at a
// time (focus and reads may run beside them) and are written shortly after (or, with `writeThrough`, at
// once, for a store shared with other processes). Every focus is projected once (focusView.ts): the
// protocol's FocusResult, the viewer snapshot, the report, the CLI's text and `--json` derive from it.
import { stat } from 'node:fs/promises';
import { basename, join, relative, sep } from 'node:path';
import { DEFAULT_EXCLUDES, DEFAULT_MAX_FILE_BYTES, isSecretPath } from '../core/discovery';
import type { FileStat } from '../core/document';
import { FocusEngine } from '../core/engine';
import type { Hold } from '../core/focus';
import { isWarm, warmDocument } from '../core/structure';
import { indexFolders, openTree, readFileForIndex, refreshFiles, saveTree, type RefreshResult, type SkippedFile } from '../core/indexer';
import { LexicalRuntime } from '../core/lexicalRuntime';
import type { ModelRuntime } from '../core/runtime';
import { redactPath, redactSecrets, secretContentRule } from '../core/secrets';
import { STORE_FILE } from '../core/store';
import { countPromptTokens } from '../core/tokenizer';
import type { DocumentInput, Tree, TreeDocument } from '../core/tree';
import type { FocusSnapshot } from '../webview/protocol';
import { focusView, type FocusView } from './focusView';
import { Serial } from './serial';
import type {
  AppendResult,
  EngineStatus,
  EntrySummary,
  ExpandResult,
  FocusParams,
  FocusResult,
  FocusSettingsParams,
  IndexParams,
  IndexProgress,
  IndexResult,
  LineHold,
  UpdateFilesParams,
  UpdateFilesResult,
} from './protocol';
import { focusReport } from './report';
import { snapshotFromView } from './snapshot';

/** A change is written to the store this long after the last one (unless `writeThrough`). */
const SAVE_DELAY_MS = 1500;
/** The memory document notes are appended to. */
export const NOTES_ID = 'notes:memory';
/** The most lines one expand returns. */
const MAX_EXPAND_LINES = 2000;
/** Files remembered as recently shown exact (or open), checked by content before the next focus. */
const RECENT_FILES = 64;
/** Tokens at the end of the active chat transcript that stay exact. */
const CHAT_TAIL_TOKENS = 256;

/** A request the memory cannot serve as asked (the caller's input is wrong, not the engine). */
export class MemoryRequestError extends Error {}

export interface MemoryOptions {
  /** The learned models or the lexical-only fallback, as chooseRuntime (runtimeChoice.ts) chose them. */
  runtime: ModelRuntime;
  /** The store folder of this runtime's tree (chooseRuntime gives the lexical-only tree its own); undefined: nothing is persisted. */
  storeDir?: string;
  /**
   * Files are shown relative to this one folder (the CLI: the folder common to its paths). Without it,
   * relative to the indexed root that holds them (prefixed with the root's name when there are several).
   */
  displayRoot?: string;
  /** Every change is written at once, not shortly after: the store is shared with other processes (the MCP server). */
  writeThrough?: boolean;
  /** An unreadable store is reported here and the memory runs without it (and never writes it); without this, open fails. */
  onUnreadableStore?: (message: string) => void;
  /**
   * A failed write of the store after an index or a change (not an explicit flush, which throws): the
   * memory keeps serving. Default: one line on stderr.
   */
  onSaveError?: (err: unknown, storeDir: string) => void;
  /** A cold-start rebuild of a working context (one line each). Default: one line on stderr. */
  onRebuild?: (line: string) => void;
}

export interface FocusOptions {
  /**
   * After focusing, the files about to be shown exact are compared with the disk by content; when any
   * changed since indexing (or kept its mtime through an edit), `onStale` hears of it and the focus runs
   * again on their current text. Without it, only the recently shown and pinned files are checked, before.
   */
  onStale?: (fresh: RefreshResult) => void;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

const stderrLine = (line: string) => { process.stderr.write(`[megacontext] ${line}\n`); };

export class Memory {
  /** Roots of the last index or update: they decide how paths are shown and what an update may add. */
  private currentRoots: string[] = [];
  /** The largest file indexed, as the last index or update asked. */
  private maxFileBytes = DEFAULT_MAX_FILE_BYTES;
  /** The viewer's last snapshot, so the next one can say what expanded and collapsed. */
  private lastSnapshot: FocusSnapshot | undefined;
  /** Recently shown exact or open files, oldest first (insertion order), at most RECENT_FILES. */
  private readonly recentFiles = new Set<string>();
  private saveTimer: NodeJS.Timeout | undefined;
  /** Changes to the tree (and writes of it) run one at a time. */
  private readonly writes = new Serial();
  /** The store file's mtime when this memory last read or wrote it: another value means another process wrote it. */
  private storeMtimeMs: number | undefined;
  /** Set by a change under writeThrough until it is written. */
  private dirty = false;
  private closed = false;

  private constructor(
    readonly tree: Tree,
    readonly runtime: ModelRuntime,
    /** Where the tree is written; undefined: nowhere (none asked for, or the store was unreadable). */
    readonly storeDir: string | undefined,
    /** How the store was found: `none`, `new`, `loaded N documents`, `rebuilt (why)`. */
    readonly store: string,
    private readonly options: MemoryOptions,
  ) {}

  static async open(options: MemoryOptions): Promise<Memory> {
    let storeDir = options.storeDir;
    let opened: Awaited<ReturnType<typeof openTree>>;
    try {
      opened = await openTree(options.runtime, storeDir);
    } catch (err) {
      if (!options.onUnreadableStore) throw err;
      // An unreadable store costs a full index, not the answer; it is not overwritten either.
      options.onUnreadableStore(errorMessage(err));
      storeDir = undefined;
      opened = await openTree(options.runtime, undefined);
    }
    const memory = new Memory(opened.tree, options.runtime, storeDir, opened.store, options);
    memory.storeMtimeMs = await storeFileMtime(storeDir);
    return memory;
  }

  /**
   * Parses the outlines of documents restored from the store, one document per turn of the event loop,
   * so that the first focus after a warm start does not parse them all: a restored document is parsed on
   * first use, and the first focus prices every document's map (a 1M-token store: ~0.9 s of tree-sitter
   * in that focus), with the definition lines and sections the plan's values read (warmDocument).
   * Requests are served between documents; a document replaced meanwhile is left to its own update, and
   * one already warm (all three computed) is skipped. Resolves with the number of documents warmed.
   */
  async prewarm(signal?: AbortSignal): Promise<number> {
    let warmed = 0;
    for (const doc of [...this.tree.documents.values()]) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (signal?.aborted) break;
      if (this.tree.documents.get(doc.id) !== doc || isWarm(doc)) continue;
      warmDocument(doc);
      warmed++;
    }
    return warmed;
  }

  get roots(): readonly string[] {
    return this.currentRoots;
  }

  /** True while a change waits for its (debounced) write to the store. */
  get savePending(): boolean {
    return this.saveTimer !== undefined;
  }

  /** Path of a document as the prompt and the user see it. */
  displayPath = (doc: TreeDocument): string => {
    if (doc.kind !== 'file') return doc.id;
    const only = this.options.displayRoot;
    if (only !== undefined) return redactPath(relative(only, doc.id) || doc.id);
    for (const root of this.currentRoots) {
      if (doc.id === root || doc.id.startsWith(root.endsWith(sep) ? root : root + sep)) {
        const rel = relative(root, doc.id).split(sep).join('/');
        return redactPath(this.currentRoots.length > 1 ? `${basename(root)}/${rel}` : rel);
      }
    }
    return redactPath(doc.id);
  };

  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    return this.writes.run(work);
  }

  // ---- indexing ---------------------------------------------------------------------------------

  /**
   * Brings the tree in line with the files under `scope.roots` (include/exclude globs as the extension's
   * settings give them; secret files never read, secrets in kept files redacted before tokenization),
   * and writes the store at once when anything changed: a finished index is the costly part to lose.
   */
  index(scope: IndexParams, signal: AbortSignal = new AbortController().signal, onProgress: (p: IndexProgress) => void = () => undefined): Promise<IndexResult> {
    return this.exclusive(async () => {
      const result = await this.walk(scope, signal, onProgress);
      if (this.savePending || this.dirty) await this.writeReporting();
      return result;
    });
  }

  private async walk(scope: IndexParams, signal: AbortSignal, onProgress: (p: IndexProgress) => void): Promise<IndexResult> {
    const tree = this.tree;
    this.currentRoots = [...scope.roots];
    this.maxFileBytes = scope.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
    if (scope.rebuild) for (const d of [...tree.documents.values()]) if (d.kind === 'file') tree.remove(d.id);
    const s = await indexFolders(tree, scope.roots, {
      maxFileBytes: this.maxFileBytes,
      include: scope.include?.length ? scope.include : undefined,
      exclude: [...DEFAULT_EXCLUDES, ...(scope.exclude ?? [])],
      signal,
      onProgress: (p) => onProgress({ documents: p.documents, totalDocuments: p.totalDocuments, tokens: p.tokens }),
    });
    if (s.added + s.updated + s.removed > 0 || !this.store.startsWith('loaded')) this.changed();
    const { files, tokens, added, updated, unchanged, removed, ms } = s;
    return { files, tokens, added, updated, unchanged, removed, skipped: s.skippedFiles, redacted: s.redactedFiles, ms };
  }

  /**
   * Applies changes to single files. A file the tree already holds is re-read (or taken from the open
   * editor's text) and re-ingested; only its changed blocks are gisted again. A path the tree does not
   * know may be new: the folders are walked again (unchanged files are not re-read) so that
   * .gitignore, exclude globs and secret rules decide, exactly as at indexing.
   */
  update(params: UpdateFilesParams, signal: AbortSignal = new AbortController().signal): Promise<UpdateFilesResult> {
    return this.exclusive(async () => {
      const result = await this.applyUpdate(params, signal);
      await this.settle();
      return result;
    });
  }

  private async applyUpdate(params: UpdateFilesParams, signal: AbortSignal): Promise<UpdateFilesResult> {
    const tree = this.tree;
    this.currentRoots = [...params.roots];
    let removed = 0;
    for (const p of params.deleted) if (tree.documents.get(p)?.kind === 'file' && tree.remove(p)) removed++;
    const inputs: DocumentInput[] = [];
    /** What the disk said when each input was read; undefined for an editor's text (maybe unsaved). */
    const stats: (FileStat | undefined)[] = [];
    const skipped: SkippedFile[] = [];
    const redacted: string[] = [];
    let unknown = false;
    const maxBytes = params.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
    for (const change of params.changed) {
      if (!inside(params.roots, change.path) || isSecretPath(change.path)) continue;
      const known = tree.documents.get(change.path);
      if (!known || known.kind !== 'file') {
        unknown = true;
        continue;
      }
      let text = change.text;
      let mtimeMs = known.mtimeMs;
      let fileStat: FileStat | undefined;
      if (text === undefined) {
        // The same read as indexing: a file now too large, binary anywhere, or gone leaves the tree.
        const o = await readFileForIndex(change.path, maxBytes);
        if ('skip' in o) {
          if (tree.remove(change.path)) removed++;
          continue;
        }
        text = o.text;
        mtimeMs = o.stat.mtimeMs;
        fileStat = o.stat;
      }
      // A config that now holds a credential, or a pasted private key, makes the file a secret file.
      const secret = secretContentRule(change.path, text);
      if (secret) {
        if (tree.remove(change.path)) removed++;
        skipped.push({ path: change.path, reason: 'secret', detail: secret });
        continue;
      }
      const clean = redactSecrets(text);
      if (clean.redactions > 0) redacted.push(change.path);
      inputs.push({ id: change.path, text: clean.text, mtimeMs });
      stats.push(fileStat);
    }
    const res = await tree.ingest(inputs, { signal });
    // An editor's text may differ from the disk: no record, so the next index compares the file by content.
    for (let i = 0; i < inputs.length; i++) {
      const doc = tree.documents.get(inputs[i].id);
      if (doc) doc.fileStat = stats[i];
    }
    let rewalked = false;
    let updated = res.updated + res.added;
    if (unknown) {
      const full = await this.walk(params, signal, () => undefined);
      updated += full.added + full.updated;
      removed += full.removed;
      rewalked = true;
      // What the walk left out for a reason worth telling (secrets), and where it redacted.
      skipped.push(...full.skipped.filter((f) => f.reason === 'secret' && !skipped.some((s) => s.path === f.path)));
      for (const p of full.redacted) if (!redacted.includes(p)) redacted.push(p);
    }
    if (updated + removed > 0) this.changed();
    return { updated, removed, rewalked, skipped, redacted };
  }

  // ---- focus ------------------------------------------------------------------------------------

  /** A working context for `params`, as the protocol sends it: entries, composition, telemetry, report and the viewer's snapshot. */
  async focus(params: FocusParams, options: FocusOptions = {}): Promise<FocusResult> {
    const view = await this.focusView(params, options);
    this.lastSnapshot = snapshotFromView(view, { previous: this.lastSnapshot });
    return focusResultOf(view, this.lastSnapshot);
  }

  /**
   * The focus view of a working context for `params` (focusView.ts), from which every surface derives
   * what it shows (focus() its FocusResult; the CLI its text and `--json`). Pinned line ranges become
   * token holds, collapsed ones caps, and the recent tail of the active chat is held exact.
   */
  async focusView(params: FocusParams, options: FocusOptions = {}): Promise<FocusView> {
    // Files shown exact by recent focuses and pinned ones are checked by content first: an edit that kept
    // the modification time (cp -p, rsync -t) must not leave old text in the prompt. Notes another
    // process (an MCP server, another window) stored since are taken in, so every agent recalls them.
    await this.exclusive(async () => {
      if (await this.syncNotes()) this.changed();
      await this.verifyFilesNow((params.holds ?? []).map((h) => h.path));
      await this.settle();
    });
    let view = await this.focusOnce(params);
    if (options.onStale) {
      const exact = new Set(view.perDoc.flat().filter((e) => e.lod === 0 && e.doc.kind === 'file').map((e) => e.doc.id));
      const fresh = await this.exclusive(async () => {
        const r = await refreshFiles(this.tree, exact, { maxFileBytes: this.maxFileBytes });
        if (r.changed.length + r.removed.length > 0) {
          this.changed();
          await this.settle();
        }
        return r;
      });
      if (fresh.changed.length + fresh.removed.length > 0) {
        options.onStale(fresh);
        view = await this.focusOnce(params);
      }
    }
    this.noteRecentFiles(view.perDoc.flat().filter((e) => e.lod === 0).map((e) => e.doc.id));
    return view;
  }

  private focusOnce(params: FocusParams): Promise<FocusView> {
    const tree = this.tree;
    const holds: Hold[] = [];
    for (const h of params.holds ?? []) {
      const doc = tree.documents.get(h.path);
      const hold = doc && lineHoldToTokens(doc, h);
      if (hold) holds.push(hold);
    }
    const caps: Hold[] = [];
    for (const h of params.collapsed ?? []) {
      const doc = tree.documents.get(h.path);
      const cap = doc && lineHoldToTokens(doc, h);
      if (cap) caps.push(cap);
    }
    const chat = params.chatSession ? tree.documents.get(chatDocId(params.chatSession)) : undefined;
    if (chat && chat.tokenCount > 0) {
      const start = chat.blockTok[chat.blockAtToken(Math.max(0, chat.tokenCount - CHAT_TAIL_TOKENS))];
      holds.push({ docId: chat.id, start, end: chat.tokenCount });
    }
    return focusView(new FocusEngine(tree, this.runtime), {
      query: params.query,
      budget: params.budget,
      holds,
      caps,
      settings: definedSettings(params.settings),
      scorer: params.scorer,
      displayPath: this.displayPath,
    }, this.options.onRebuild ?? stderrLine);
  }

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
   * re-ingested; one that is gone, binary or secret now leaves the tree. Every focus does this first.
   */
  verifyFiles(ids: Iterable<string> = []): Promise<RefreshResult> {
    return this.exclusive(async () => {
      const res = await this.verifyFilesNow(ids);
      await this.settle();
      return res;
    });
  }

  private async verifyFilesNow(ids: Iterable<string>): Promise<RefreshResult> {
    const res = await refreshFiles(this.tree, [...this.recentFiles, ...ids], { maxFileBytes: this.maxFileBytes });
    for (const r of res.removed) this.recentFiles.delete(r.path);
    if (res.changed.length + res.removed.length > 0) this.changed();
    return res;
  }

  // ---- chat, notes, expand, status --------------------------------------------------------------

  /**
   * Appends text to a memory document (a chat transcript or the notes), creating it if needed. Secrets in
   * the text (a key pasted into chat, an answer quoting one) are redacted first, as in workspace files.
   */
  append(id: string, kind: 'chat' | 'notes', text: string): Promise<AppendResult> {
    return this.exclusive(async () => {
      const old = this.tree.documents.get(id);
      const clean = redactSecrets(text).text;
      await this.tree.ingest([{ id, kind, appending: true, text: (old?.text ?? '') + clean, mtimeMs: Date.now() }]);
      this.changed();
      await this.settle();
      const doc = this.tree.documents.get(id)!;
      return { docId: doc.id, tokens: doc.tokenCount };
    });
  }

  /** Appends a turn of chat session `session` to its transcript. */
  appendChat(session: string, text: string): Promise<AppendResult> {
    return this.append(chatDocId(session), 'chat', text);
  }

  /** Appends a note (a fact, decision or preference) to the notes document, one list item per note. */
  remember(note: string): Promise<AppendResult> {
    return this.append(NOTES_ID, 'notes', `- ${note.trim().replace(/\n/g, '\n  ')}\n`);
  }

  /** Drops every chat transcript; returns how many. */
  clearChat(): Promise<{ removed: number }> {
    return this.exclusive(async () => {
      let removed = 0;
      for (const d of [...this.tree.documents.values()]) if (d.kind === 'chat' && this.tree.remove(d.id)) removed++;
      if (removed > 0) this.changed();
      await this.settle();
      return { removed };
    });
  }

  /**
   * Exact text of lines `startLine..endLine` (1-based, inclusive) of a document, as indexed (secrets
   * redacted). Only what the memory holds can be read: any other path is refused, never read from disk.
   */
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

  private async storeBytes(): Promise<number> {
    if (!this.storeDir) return 0;
    try {
      return (await stat(join(this.storeDir, STORE_FILE))).size;
    } catch {
      return 0;
    }
  }

  // ---- the store --------------------------------------------------------------------------------

  /** A change to the tree: its write is scheduled (debounced), or, under writeThrough, due at the end of the change (settle). */
  private changed(): void {
    if (!this.storeDir || this.closed) return;
    if (this.options.writeThrough) {
      this.dirty = true;
      return;
    }
    clearTimeout(this.saveTimer);
    this.saveTimer = setTimeout(() => {
      void this.exclusive(() => this.writeReporting());
    }, SAVE_DELAY_MS);
  }

  /** At the end of a change: under writeThrough, the write it made due. */
  private async settle(): Promise<void> {
    if (this.dirty) await this.writeReporting();
  }

  /** Writes the tree; a failure is reported (onSaveError), not thrown. */
  private async writeReporting(): Promise<void> {
    try {
      await this.write();
    } catch (err) {
      const report = this.options.onSaveError ?? ((e: unknown) => stderrLine(`could not write the store: ${errorMessage(e)}`));
      report(err, this.storeDir ?? '');
    }
  }

  private async write(): Promise<number> {
    clearTimeout(this.saveTimer);
    this.saveTimer = undefined;
    this.dirty = false;
    const dir = this.storeDir;
    if (!dir) return 0;
    // Another process's notes are taken in first, so this write does not drop them.
    await this.syncNotes();
    const written = await saveTree(this.tree, dir);
    this.storeMtimeMs = await storeFileMtime(dir);
    return written.bytes;
  }

  /** Writes the tree now (after the changes in progress); returns the bytes written (0 without a store). A failure is thrown. */
  flush(): Promise<number> {
    return this.exclusive(() => this.write());
  }

  /**
   * Writes what is not yet in the store, then stops writing (the process is ending). Only a pending
   * change is written: an unneeded write would replace what another process stored since.
   */
  async close(): Promise<void> {
    await this.exclusive(async () => {
      if (this.savePending || this.dirty) await this.writeReporting();
      this.closed = true;
    });
  }

  /** True when another process wrote the store since this memory last read or wrote it. */
  async storeWrittenElsewhere(): Promise<boolean> {
    return (await storeFileMtime(this.storeDir)) !== this.storeMtimeMs;
  }

  /**
   * Takes in the notes another process sharing this store (the MCP server, another window) wrote since this
   * memory last read or wrote it: the extension's engine and every MCP server then keep one set of notes,
   * and no process's save drops another's. Notes only grow: where one version extends the other the longer
   * wins; versions that diverged keep ours and add the other's notes that ours lacks. Returns true when the
   * notes changed (the caller schedules the write; a write does this first anyway).
   */
  private async syncNotes(): Promise<boolean> {
    const mtime = await storeFileMtime(this.storeDir);
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
}

/** The mtime of the store file in `storeDir` (undefined: no store, or no file yet). */
async function storeFileMtime(storeDir: string | undefined): Promise<number | undefined> {
  if (!storeDir) return undefined;
  try {
    return (await stat(join(storeDir, STORE_FILE))).mtimeMs;
  } catch {
    return undefined;
  }
}

function inside(roots: string[], path: string): boolean {
  return roots.some((r) => {
    const rel = relative(r, path);
    return rel !== '' && !rel.startsWith('..') && !rel.startsWith(sep) && !/^[A-Za-z]:/.test(rel);
  });
}

export function chatDocId(session: string): string {
  return `chat:${session}`;
}

/** Token range of a 1-based inclusive line range, widened to whole blocks. */
export function lineHoldToTokens(doc: TreeDocument, h: LineHold): Hold | undefined {
  if (doc.nBlocks === 0) return undefined;
  const lines = doc.lines.length;
  const first = Math.min(Math.max(1, h.startLine), lines);
  const last = Math.min(Math.max(first, h.endLine), lines);
  const charStart = doc.lines[first - 1];
  const charEnd = last < lines ? doc.lines[last] - 1 : doc.textLength;
  const b0 = doc.blockAtChar(charStart);
  const b1 = doc.blockAtChar(Math.max(charStart, charEnd - 1));
  return { docId: doc.id, start: doc.blockTok[b0], end: doc.blockTok[b1 + 1] };
}

/** Allocator settings as sent, without the keys left undefined (they would override the defaults). */
function definedSettings(settings: FocusSettingsParams | undefined): FocusSettingsParams | undefined {
  if (!settings) return undefined;
  return Object.fromEntries(Object.entries(settings).filter(([, v]) => v !== undefined)) as FocusSettingsParams;
}

/** What the extension (and the MCP server) receives: the view's entries, composition, telemetry and report, with its snapshot. */
export function focusResultOf(view: FocusView, snapshot: FocusSnapshot): FocusResult {
  const wc = view.wc;
  const entries: EntrySummary[] = [];
  const composition = [0, 1, 2, 3].map((lod) => ({ lod, entries: 0 }));
  for (const e of view.perDoc.flat()) {
    entries.push({
      path: e.doc.id,
      display: e.display,
      kind: e.doc.kind,
      lod: e.lod,
      start: e.start,
      end: e.end,
      charStart: e.charStart,
      charEnd: e.charEnd,
      startLine: e.startLine,
      endLine: e.endLine,
      held: e.held,
    });
    composition[e.lod].entries++;
  }
  // Measured on the rendered prompt: exact runs are LOD0 text, the rest is gists, headers and markers.
  let exactTokens = 0;
  for (const run of wc.rendered.exactRuns) exactTokens += countPromptTokens(wc.rendered.prompt.slice(run.promptStart, run.promptEnd));
  const telemetry: Record<string, number> = {};
  for (const [k, v] of Object.entries(wc.telemetry)) if (typeof v === 'number') telemetry[k] = v;
  const result: Omit<FocusResult, 'report' | 'snapshot'> = {
    query: wc.query,
    budget: wc.budget,
    prompt: wc.rendered.prompt,
    tokens: wc.rendered.tokens,
    entries,
    composition,
    exactTokens,
    documents: wc.perDoc.length,
    // The engine reports which scorer ran (lens2 or lens fall back to the plan without their models).
    scorer: wc.scorer === 'lens' || wc.scorer === 'lens2' ? wc.scorer : 'lexical',
    telemetry,
    timings: { ...wc.timings },
    ...(view.lexicalOnly !== undefined ? { lexicalOnly: view.lexicalOnly } : {}),
  };
  return { ...result, report: focusReport(result, snapshot.inContext), snapshot };
}
