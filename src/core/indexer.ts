import { readFile } from 'node:fs/promises';
import { BLOCK_TOKENS, GROUP_BLOCKS } from './constants';
import { discoverFiles } from './discovery';
import type { StoreHeader } from './document';
import type { ModelRuntime } from './runtime';
import { redactSecrets } from './secrets';
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
  const found = await discoverFiles(roots, {
    maxFileBytes: options.maxFileBytes,
    include: options.include,
    exclude: options.exclude,
    signal: options.signal,
  });
  const skippedFiles: SkippedFile[] = found.skipped.map((s) => ({ path: s.path, reason: s.reason, ...(s.detail ? { detail: s.detail } : {}) }));
  const inputs: DocumentInput[] = [];
  const redactedFiles: string[] = [];
  for (const f of found.files) {
    options.signal?.throwIfAborted();
    const known = tree.documents.get(f.path);
    if (known && known.mtimeMs === f.mtimeMs && f.mtimeMs !== 0) {
      inputs.push({ id: f.path, text: known.text, mtimeMs: f.mtimeMs });
      continue;
    }
    let text: string;
    try {
      text = await readFile(f.path, 'utf8');
    } catch (err) {
      skippedFiles.push({ path: f.path, reason: 'unreadable', detail: (err as NodeJS.ErrnoException).code ?? 'read failed' });
      continue;
    }
    const red = redactSecrets(text);
    if (red.redactions > 0) redactedFiles.push(f.path);
    inputs.push({ id: f.path, text: red.text, mtimeMs: f.mtimeMs });
  }
  const keep = new Set(inputs.map((i) => i.id));
  let removed = 0;
  for (const d of [...tree.documents.values()]) {
    if (d.kind === 'file' && !keep.has(d.id)) {
      tree.remove(d.id);
      removed++;
    }
  }
  options.onProgress?.({ documents: 0, totalDocuments: inputs.length, tokens: 0, blocksGisted: 0, blocksReused: 0 });
  const res = await tree.ingest(inputs, { signal: options.signal, onProgress: options.onProgress });
  let tokens = 0;
  for (const i of inputs) tokens += tree.documents.get(i.id)?.tokenCount ?? 0;
  const skipped: Record<string, number> = {};
  for (const s of skippedFiles) skipped[s.reason] = (skipped[s.reason] ?? 0) + 1;
  return { files: inputs.length, tokens, ...res, removed, skipped, skippedFiles, redactedFiles, ms: performance.now() - t0 };
}
