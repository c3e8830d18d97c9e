import { constants as fsc, promises as fsp } from 'node:fs';
import { BLOCK_TOKENS, GROUP_BLOCKS } from './constants';
import { binaryReason, DEFAULT_MAX_FILE_BYTES, discoverFiles, type DiscoveryResult } from './discovery';
import type { StoreHeader } from './document';
import type { ModelRuntime } from './runtime';
import { redactSecrets } from './secrets';
import { trimWordCache } from './lexical';
import { readStore, writeStore } from './store';
import { Tree, type DocumentInput, type IngestProgress } from './tree';

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

type ReadOutcome = { text: string; mtimeMs: number } | { skip: SkippedFile };

/**
 * Reads a file discovery kept, checking again what may have changed since the walk: a file deleted
 * or renamed ('vanished'), replaced by a folder or a pipe ('unreadable'), grown past the size limit
 * ('too-large', never read), or turned binary ('binary').
 */
async function readKept(file: string, maxBytes: number): Promise<ReadOutcome> {
  let fh: fsp.FileHandle | undefined;
  try {
    fh = await fsp.open(file, OPEN_FLAGS);
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
    const bytes = buf.subarray(0, done);
    const binary = binaryReason(bytes.subarray(0, 8192), bytes.length > 8192);
    if (binary) return { skip: { path: file, reason: 'binary', detail: binary } };
    return { text: bytes.toString('utf8'), mtimeMs: st.mtimeMs };
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
  const res = await readStore(storeDir, storeHeader(runtime));
  if (res.status !== 'ok') return { tree, store: res.status === 'missing' ? 'new' : `rebuilt (${res.reason})` };
  for (const d of res.docs) tree.restore(d);
  trimWordCache();
  return { tree, store: `loaded ${res.docs.length} documents` };
}

export async function saveTree(tree: Tree, storeDir: string): Promise<{ bytes: number; path: string }> {
  return writeStore(storeDir, storeHeader(tree.runtime), [...tree.documents.values()].map((d) => d.toStored()));
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
  const unchanged = (p: string, mtimeMs: number): boolean => {
    const known = tree.documents.get(p);
    return !!known && known.kind === 'file' && known.mtimeMs === mtimeMs && mtimeMs !== 0;
  };
  const found = await discoverFiles(roots, {
    maxFileBytes: options.maxFileBytes,
    include: options.include,
    exclude: options.exclude,
    signal: options.signal,
    // Small new or changed files come back with their bytes: read once, not twice.
    wantContent: (p, mtimeMs) => !unchanged(p, mtimeMs),
  });
  await options.onDiscovered?.(found);
  const skippedFiles: SkippedFile[] = found.skipped.map((s) => ({ path: s.path, reason: s.reason, ...(s.detail ? { detail: s.detail } : {}) }));
  const maxBytes = options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  // Read in parallel (a 200k-file workspace spends most of its time waiting on the file system),
  // keeping discovery's order so the result does not depend on which read finishes first.
  const outcomes: (ReadOutcome | { known: true })[] = new Array(found.files.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < found.files.length) {
      options.signal?.throwIfAborted();
      const i = next++;
      const f = found.files[i];
      // Same path and modification time: kept as it is, without decoding its text to compare.
      if (unchanged(f.path, f.mtimeMs)) outcomes[i] = { known: true };
      else if (f.content) outcomes[i] = { text: f.content.toString('utf8'), mtimeMs: f.mtimeMs };
      else outcomes[i] = await readKept(f.path, maxBytes);
    }
  };
  await Promise.all(Array.from({ length: Math.min(READ_CONCURRENCY, found.files.length) }, worker));
  const inputs: DocumentInput[] = [];
  const kept: string[] = [];
  const redactedFiles: string[] = [];
  for (let i = 0; i < found.files.length; i++) {
    const f = found.files[i];
    const o = outcomes[i];
    if ('skip' in o) { skippedFiles.push(o.skip); continue; }
    if ('known' in o) { kept.push(f.path); continue; }
    const red = redactSecrets(o.text);
    if (red.redactions > 0) redactedFiles.push(f.path);
    inputs.push({ id: f.path, text: red.text, mtimeMs: o.mtimeMs });
  }
  const keep = new Set([...kept, ...inputs.map((i) => i.id)]);
  let removed = 0;
  for (const d of [...tree.documents.values()]) {
    if (d.kind === 'file' && !keep.has(d.id)) {
      tree.remove(d.id);
      removed++;
    }
  }
  options.onProgress?.({ documents: 0, totalDocuments: inputs.length, tokens: 0, blocksGisted: 0, blocksReused: 0 });
  const res = await tree.ingest(inputs, { signal: options.signal, onProgress: options.onProgress });
  res.unchanged += kept.length;
  let tokens = 0;
  for (const id of keep) tokens += tree.documents.get(id)?.tokenCount ?? 0;
  const skipped: Record<string, number> = {};
  for (const s of skippedFiles) skipped[s.reason] = (skipped[s.reason] ?? 0) + 1;
  return { files: keep.size, tokens, ...res, removed, skipped, skippedFiles, redactedFiles, ms: performance.now() - t0 };
}
