import { constants as fsc, promises as fsp } from 'node:fs';
import { BLOCK_TOKENS, GROUP_BLOCKS } from './constants';
import { binaryText, DEFAULT_MAX_FILE_BYTES, discoverFiles, type DiscoveredFile, type DiscoveryResult, type FileVersion } from './discovery';
import type { FileStat, StoreHeader, StoredDocument } from './document';
import type { ModelRuntime } from './runtime';
import { redactSecrets, secretContentRule } from './secrets';
import { trimWordCache } from './lexical';
import { openStore, writeStore } from './store';
import { detokenize } from './tokenizer';
import { sha256Hex, Tree, type DocumentInput, type IngestProgress, type TreeDocument } from './tree';

export interface SkippedFile {
  path: string;
  reason: string;
  detail?: string;
}

export interface IndexSummary {
  files: number;
  tokens: number;
  added: number;
  updated: number;
  unchanged: number;
  removed: number;
  /**
   * Known files read again because their size, mtime, ctime or inode differed from the record, or the
   * record was racy: each was then compared by content (`unchanged` counts those that were the same).
   */
  contentChecked: number;
  /** Skips counted by reason. */
  skipped: Record<string, number>;
  /** Every skipped path with its reason. */
  skippedFiles: SkippedFile[];
  redactedFiles: string[];
  ms: number;
}

export interface IndexOptions {
  maxFileBytes?: number;
  /** Globs a file must match (all files when absent). */
  include?: string[];
  /** Globs to leave out; replaces discovery's defaults when given. */
  exclude?: string[];
  signal?: AbortSignal;
  onProgress?: (p: IngestProgress) => void;
  /** Called (and awaited) after the walk, before any file is read: what was found and skipped. */
  onDiscovered?: (found: DiscoveryResult) => void | Promise<void>;
}

/** Files read at once: enough to hide the file system's latency, few enough to stay light. */
const READ_CONCURRENCY = 32;
/** Opening a FIFO that replaced a file must not block a thread of the pool forever. */
const OPEN_FLAGS = fsc.O_RDONLY | (fsc.O_NONBLOCK ?? 0);

export type ReadOutcome = { text: string; stat: FileStat } | { skip: SkippedFile };

/**
 * A file modified less than this before it was read is "racily clean" (git's term): a write within the
 * same timestamp tick (1-2 s on coarse file systems) could leave size, mtime, ctime and inode all equal,
 * so its record is marked racy and the next index compares its content whatever the stat says.
 */
export const RACY_MS = 2000;

/** The record of a file read at `readMs` (taken before the read, so racy is decided conservatively). */
export function fileStat(v: FileVersion, readMs: number): FileStat {
  return {
    size: v.size, mtimeMs: v.mtimeMs, ctimeMs: v.ctimeMs, ino: v.ino,
    racy: readMs - Math.max(v.mtimeMs, v.ctimeMs) < RACY_MS,
  };
}

/**
 * True when the file system proves a file unchanged since `recorded`: size, mtime, ctime and inode all
 * equal and the record not racy. Anything else (no record, a difference, a racy record) means: read it
 * and compare by content. An edit that restores the mtime (`sed -i` then `touch -r`, `cp -p`, `rsync -t`)
 * still changes the ctime, and usually the inode.
 */
export function statUnchanged(recorded: FileStat | undefined, now: FileVersion): boolean {
  return (
    recorded !== undefined && !recorded.racy && recorded.size === now.size && recorded.mtimeMs === now.mtimeMs &&
    recorded.ctimeMs === now.ctimeMs && recorded.ino === now.ino
  );
}

/**
 * Reads a file for indexing, checking again what may have changed since the walk: a file deleted
 * or renamed ('vanished'), replaced by a folder or a pipe ('unreadable'), grown past the size limit
 * ('too-large', never read), or turned binary anywhere in its content ('binary').
 */
export async function readFileForIndex(file: string, maxBytes: number): Promise<ReadOutcome> {
  let fh: fsp.FileHandle | undefined;
  try {
    fh = await fsp.open(file, OPEN_FLAGS);
    const readMs = Date.now();
    const st = await fh.stat();
    if (!st.isFile()) return { skip: { path: file, reason: 'unreadable', detail: 'no longer a regular file' } };
    if (st.size > maxBytes) return { skip: { path: file, reason: 'too-large', detail: `${st.size} bytes > ${maxBytes}` } };
    const buf = Buffer.alloc(st.size);
    let done = 0;
    while (done < buf.length) {
      const { bytesRead } = await fh.read(buf, done, buf.length - done, done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    const decoded = binaryText(buf.subarray(0, done));
    if ('binary' in decoded) return { skip: { path: file, reason: 'binary', detail: decoded.binary } };
    const stat = fileStat({ size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, ino: st.ino }, readMs);
    // A file that changed length while being read is recorded as racy: the next index reads it again.
    if (done !== st.size) stat.racy = true;
    return { text: decoded.text, stat };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { skip: { path: file, reason: 'vanished', detail: 'deleted or renamed during indexing' } };
    return { skip: { path: file, reason: 'unreadable', detail: code ?? (err as Error).message ?? 'read failed' } };
  } finally {
    await fh?.close().catch(() => undefined);
  }
}

export function storeHeader(runtime: ModelRuntime): StoreHeader {
  return { modelId: runtime.modelId, dim: runtime.dim, blockTokens: BLOCK_TOKENS, groupBlocks: GROUP_BLOCKS };
}

/** Opens the tree persisted in `storeDir`, or an empty one (with the reason) when it must be rebuilt. */
export async function openTree(runtime: ModelRuntime, storeDir: string | undefined): Promise<{ tree: Tree; store: string }> {
  const tree = new Tree(runtime);
  if (!storeDir) return { tree, store: 'none' };
  const res = await openStore(storeDir, storeHeader(runtime));
  if (res.status !== 'ok') return { tree, store: res.status === 'missing' ? 'new' : `rebuilt (${res.reason})` };
  const recut: DocumentInput[] = [];
  // One decoded document at a time: each goes as soon as the tree holds what it needs of it.
  for (const d of res.documents()) {
    const doc = tree.restore(d);
    if (!doc) {
      recut.push({ id: d.id, kind: d.kind, appending: d.appending, text: detokenize(d.tokens), mtimeMs: d.mtimeMs });
      continue;
    }
    if (d.stat && d.kind === 'file') doc.fileStat = d.stat;
  }
  // A document whose stored blocks do not match its stored nodes is gisted again from its stored
  // text: nothing is lost, a chat transcript included.
  if (recut.length > 0) await tree.ingest(recut);
  trimWordCache();
  return { tree, store: `loaded ${res.count} documents${recut.length > 0 ? ` (${recut.length} gisted again)` : ''}` };
}

/** The stored form of a document, with its file record (change detection) when it has one. */
function stored(d: TreeDocument): StoredDocument {
  const s = d.toStored();
  return d.fileStat && d.kind === 'file' ? { ...s, stat: d.fileStat } : s;
}

export async function saveTree(tree: Tree, storeDir: string): Promise<{ bytes: number; path: string }> {
  // A view, not a list: the store walks it twice, one stored form alive at a time (writeStore).
  const docs: Iterable<StoredDocument> = {
    *[Symbol.iterator]() {
      for (const d of tree.documents.values()) yield stored(d);
    },
  };
  return writeStore(storeDir, storeHeader(tree.runtime), docs);
}

/**
 * Brings the tree's file documents in line with the files under `roots`: new and changed files are
 * (re)ingested, vanished ones removed. Secret files are never read; secrets found inside other files
 * are redacted before tokenization, so they never reach a gist, a prompt or the store.
 */
export async function indexFolders(
  tree: Tree,
  roots: string[],
  options: IndexOptions = {},
): Promise<IndexSummary> {
  const t0 = performance.now();
  const unchanged = (p: string, v: FileVersion): boolean => {
    const known = tree.documents.get(p);
    return !!known && known.kind === 'file' && statUnchanged(known.fileStat, v);
  };
  // Before any file is read: racy records are decided against a time no later than their read.
  const walkMs = Date.now();
  const found = await discoverFiles(roots, {
    maxFileBytes: options.maxFileBytes,
    include: options.include,
    exclude: options.exclude,
    signal: options.signal,
    // Small new or changed files come back with their bytes: read once, not twice.
    wantContent: (p, v) => !unchanged(p, v),
  });
  await options.onDiscovered?.(found);
  const skippedFiles: SkippedFile[] = found.skipped.map((s) => ({ path: s.path, reason: s.reason, ...(s.detail ? { detail: s.detail } : {}) }));
  const maxBytes = options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  // Documents of files the walk no longer lists (deleted, now ignored, excluded or skipped) go first.
  const listed = new Set(found.files.map((f) => f.path));
  let removed = 0;
  for (const d of [...tree.documents.values()]) {
    if (d.kind === 'file' && !listed.has(d.id)) {
      tree.remove(d.id);
      removed++;
    }
  }
  listed.clear();
  const toRead = found.files.reduce((n, f) => n + (f.text !== undefined || !unchanged(f.path, f) ? 1 : 0), 0);
  options.onProgress?.({ documents: 0, totalDocuments: toRead, tokens: 0, blocksGisted: 0, blocksReused: 0 });
  const res = { added: 0, updated: 0, unchanged: 0 };
  const keep: string[] = [];
  const redactedFiles: string[] = [];
  let contentChecked = 0;
  let ingested = 0;
  let tokensSoFar = 0;
  // Read and ingest in chunks (by count and bytes): the texts of a whole workspace are never all in
  // memory at once, only a chunk's, and each chunk's transient arrays go before the next.
  for (let c = 0; c < found.files.length; ) {
    let end = c;
    let bytes = 0;
    while (end < found.files.length && end - c < INGEST_CHUNK_FILES && bytes < INGEST_CHUNK_BYTES) bytes += found.files[end++].size;
    const chunk = found.files.slice(c, end);
    c = end;
    const outcomes = await readChunk(chunk, maxBytes, walkMs, unchanged, options.signal);
    const inputs: DocumentInput[] = [];
    const stats: FileStat[] = [];
    for (let i = 0; i < chunk.length; i++) {
      const f = chunk[i];
      const o = outcomes[i];
      if ('skip' in o) {
        skippedFiles.push(o.skip);
        if (tree.documents.get(f.path)?.kind === 'file' && tree.remove(f.path)) removed++;
        continue;
      }
      keep.push(f.path);
      if ('known' in o) { res.unchanged++; continue; }
      if (tree.documents.get(f.path)?.kind === 'file') contentChecked++;
      const red = redactSecrets(o.text);
      if (red.redactions > 0) redactedFiles.push(f.path);
      inputs.push({ id: f.path, text: red.text, mtimeMs: o.stat.mtimeMs });
      stats.push(o.stat);
    }
    outcomes.length = 0;
    if (inputs.length === 0) continue;
    const before = ingested;
    const tokensBefore = tokensSoFar;
    const r = await tree.ingest(inputs, {
      signal: options.signal,
      onProgress: options.onProgress && ((p) => {
        tokensSoFar = tokensBefore + p.tokens;
        options.onProgress?.({ ...p, documents: before + p.documents, totalDocuments: toRead, tokens: tokensSoFar });
      }),
    });
    ingested += inputs.length;
    res.added += r.added;
    res.updated += r.updated;
    res.unchanged += r.unchanged;
    // Every document read now carries what the file system said at its read, unchanged texts included.
    for (let i = 0; i < inputs.length; i++) {
      const doc = tree.documents.get(inputs[i].id);
      if (doc) doc.fileStat = stats[i];
    }
  }
  let tokens = 0;
  for (const id of keep) tokens += tree.documents.get(id)?.tokenCount ?? 0;
  const skipped: Record<string, number> = {};
  for (const s of skippedFiles) skipped[s.reason] = (skipped[s.reason] ?? 0) + 1;
  return { files: keep.length, tokens, ...res, removed, contentChecked, skipped, skippedFiles, redactedFiles, ms: performance.now() - t0 };
}

/** Files, and bytes, read and ingested at once by indexFolders. */
const INGEST_CHUNK_FILES = 4096;
const INGEST_CHUNK_BYTES = 32 * 1024 * 1024;

/**
 * Reads a chunk of discovered files in parallel (a 200k-file workspace spends most of its time waiting
 * on the file system), keeping discovery's order so the result does not depend on which read finishes
 * first. A file whose stat proves it unchanged is not read ('known').
 */
async function readChunk(
  files: DiscoveredFile[], maxBytes: number, walkMs: number,
  unchanged: (p: string, v: FileVersion) => boolean, signal: AbortSignal | undefined,
): Promise<(ReadOutcome | { known: true })[]> {
  const outcomes: (ReadOutcome | { known: true })[] = new Array(files.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < files.length) {
      signal?.throwIfAborted();
      const i = next++;
      const f = files[i];
      // Same size, times and inode, not racy: kept as it is, without reading it. Otherwise read, and
      // the tree compares its content hash (an unchanged text keeps its document and gists).
      if (f.text !== undefined) {
        // Read whole by discovery, which checked all its bytes for binary content.
        outcomes[i] = { text: f.text, stat: fileStat(f, walkMs) };
        f.text = undefined; // the outcome holds it now, until this chunk is ingested
      } else if (unchanged(f.path, f)) outcomes[i] = { known: true };
      else outcomes[i] = await readFileForIndex(f.path, maxBytes);
    }
  };
  await Promise.all(Array.from({ length: Math.min(READ_CONCURRENCY, files.length) }, worker));
  return outcomes;
}

export interface RefreshResult {
  /** Files read and compared by content. */
  checked: number;
  /** Files whose text had changed: re-ingested. */
  changed: string[];
  /** Files gone, unreadable, binary, too large or now secret: removed from the tree. */
  removed: SkippedFile[];
}

/**
 * Checks file documents against the disk by content before their text is shown exact (the open or
 * recently focused files, the LOD0 spans of a prompt): each is read, redacted and compared with its
 * document's content hash whatever its stat says; a changed one is re-ingested, one that vanished or
 * turned binary, too large or secret is removed. Reads only the files named: cheap for a prompt's few.
 */
export async function refreshFiles(
  tree: Tree,
  ids: Iterable<string>,
  options: { maxFileBytes?: number; signal?: AbortSignal } = {},
): Promise<RefreshResult> {
  const maxBytes = options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  const result: RefreshResult = { checked: 0, changed: [], removed: [] };
  const inputs: DocumentInput[] = [];
  const stats: FileStat[] = [];
  const before = new Map<string, TreeDocument>();
  for (const id of new Set(ids)) {
    options.signal?.throwIfAborted();
    const doc = tree.documents.get(id);
    if (!doc || doc.kind !== 'file') continue;
    result.checked++;
    const o = await readFileForIndex(id, maxBytes);
    const secret = 'skip' in o ? undefined : secretContentRule(id, o.text);
    if ('skip' in o || secret) {
      tree.remove(id);
      result.removed.push('skip' in o ? o.skip : { path: id, reason: 'secret', detail: secret ?? undefined });
      continue;
    }
    const text = redactSecrets(o.text).text;
    if (sha256Hex(text) === doc.contentHash) {
      doc.fileStat = o.stat;
      continue;
    }
    before.set(id, doc);
    inputs.push({ id, text, mtimeMs: o.stat.mtimeMs });
    stats.push(o.stat);
  }
  if (inputs.length > 0) await tree.ingest(inputs, { signal: options.signal });
  inputs.forEach((input, i) => {
    const doc = tree.documents.get(input.id);
    if (!doc) return;
    doc.fileStat = stats[i];
    if (doc !== before.get(input.id)) result.changed.push(input.id);
  });
  return result;
}
