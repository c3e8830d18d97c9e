import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { BLOCK_TOKENS, GROUP_BLOCKS } from './constants';
import type { DocumentKind, StoredDocument } from './document';
import { dequantizeRowInto, quantizedSalience, quantizeRows } from './quant';
import { BlockPostings, LexicalStats, trimWordCache } from './lexical';
import { PackedTokens } from './packedTokens';
import type { ModelRuntime } from './runtime';
import { blockCharOffsets, detokenize, lineStarts, tokenize } from './tokenizer';

/** A document of the MegaContext tree: its text, tokens, blocks, and LOD1/LOD2 nodes. */
export class TreeDocument {
  /** The document's o200k ids, 18 bits each. */
  readonly tokens: PackedTokens;
  /** String offsets of block boundaries (nBlocks+1). */
  readonly blockChar: Uint32Array;
  readonly lines: Uint32Array;
  readonly nBlocks: number;
  /** Blocks that have an LOD1 node (all of them for a file; only complete ones while appending). */
  readonly nLod1: number;
  readonly nLod2: number;
  readonly postings: BlockPostings;
  /** Length of the text in UTF-16 units (without decoding it). */
  readonly textLength: number;
  /** Lazily rendered gist texts, by block * 8 + words kept, group * 8 + children kept (see render.ts). */
  readonly gistText1 = new Map<number, string>();
  readonly gistText2 = new Map<number, string>();
  /** Token costs of gist renderings, cached with the texts and keyed the same way. */
  readonly gistCost1 = new Map<number, number>();
  readonly gistCost2 = new Map<number, number>();
  /**
   * Token costs of the lines that name this document (header, root line, bare path) by display path,
   * and of its run markers (render.ts runOverhead), kept across refocuses: with thousands of files the
   * cold-start map costs every one of them each time.
   */
  readonly lineCosts = new Map<string, number>();
  /** The names the document defines (render.ts salientNames), found once. */
  names?: string[];
  private docGist?: Float32Array;

  constructor(
    readonly id: string,
    readonly kind: DocumentKind,
    readonly appending: boolean,
    text: string,
    tokens: Uint32Array,
    readonly contentHash: string,
    readonly mtimeMs: number,
    readonly dim: number,
    /** int8, nLod1*dim, read as q * lod1Scales[node] (see document.ts for the compact forms). */
    public lod1Gists: Int8Array,
    public lod1Scales: Float32Array,
    /** uint8 per token of each block, relative to the block's maximum. */
    public lod1Salience: Uint8Array,
    public lod2Gists: Int8Array,
    public lod2Scales: Float32Array,
    public lod2Salience: Uint8Array,
  ) {
    this.tokens = new PackedTokens(tokens);
    this.textLength = text.length;
    this.blockChar = blockCharOffsets(text, tokens);
    this.lines = lineStarts(text);
    this.nBlocks = Math.ceil(tokens.length / BLOCK_TOKENS);
    const blockTexts: string[] = [];
    for (let b = 0; b < this.nBlocks; b++) blockTexts.push(text.slice(this.blockChar[b], this.blockChar[b + 1]));
    this.postings = new BlockPostings(blockTexts);
    const counts = nodeCounts(tokens.length, appending);
    this.nLod1 = counts.lod1;
    this.nLod2 = counts.lod2;
  }

  get tokenCount(): number {
    return this.tokens.length;
  }

  /**
   * The document's text, decoded from its tokens when asked (o200k is lossless) and kept in a small
   * process-wide LRU: holding every text as well as its tokens took a fifth of a tree's memory, and only
   * the documents being shown or edited need theirs.
   */
  get text(): string {
    let t = decodedTexts.get(this);
    if (t === undefined) {
      t = detokenize(this.tokens.unpack());
      decodedTexts.set(this, t);
    }
    return t;
  }

  blockText(b: number): string {
    return this.text.slice(this.blockChar[b], this.blockChar[b + 1]);
  }

  /** Token range [start,end) of a node. */
  span(lod: number, index: number): [number, number] {
    const n = this.tokens.length;
    if (lod === 3) return [0, n];
    const w = lod === 2 ? BLOCK_TOKENS * GROUP_BLOCKS : BLOCK_TOKENS;
    return [index * w, Math.min(n, (index + 1) * w)];
  }

  /** Index of the block holding string offset `c`. */
  blockAtChar(c: number): number {
    let lo = 0;
    let hi = this.nBlocks - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (this.blockChar[mid] <= c) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** String range of a token range whose ends are block-aligned (or the document end). */
  charRange(start: number, end: number): [number, number] {
    const b0 = Math.floor(start / BLOCK_TOKENS);
    const b1 = Math.ceil(end / BLOCK_TOKENS);
    return [this.blockChar[b0], this.blockChar[b1]];
  }

  /** A node's gist, decoded into a new array. */
  gist(lod: 1 | 2, index: number): Float32Array {
    const out = new Float32Array(this.dim);
    this.gistInto(lod, index, out, 0);
    return out;
  }

  /** Decodes a node's gist into `dst` at `at` (no allocation: the focus loop's path). */
  gistInto(lod: 1 | 2, index: number, dst: Float32Array, at: number): void {
    if (lod === 1) dequantizeRowInto(this.lod1Gists, this.lod1Scales, index, this.dim, dst, at);
    else dequantizeRowInto(this.lod2Gists, this.lod2Scales, index, this.dim, dst, at);
  }

  /** Normalised mean of the LOD2 gists (or LOD1 when there is no LOD2 node): the root's vector. */
  rootGist(): Float32Array {
    if (this.docGist) return this.docGist;
    const g = new Float32Array(this.dim);
    const row = new Float32Array(this.dim);
    const [lod, count] = this.nLod2 > 0 ? [2 as const, this.nLod2] : [1 as const, this.nLod1];
    for (let i = 0; i < count; i++) {
      this.gistInto(lod, i, row, 0);
      for (let d = 0; d < this.dim; d++) g[d] += row[d];
    }
    let norm = 0;
    for (let d = 0; d < this.dim; d++) norm += g[d] * g[d];
    norm = Math.sqrt(norm) || 1;
    for (let d = 0; d < this.dim; d++) g[d] /= norm;
    this.docGist = g;
    return g;
  }

  toStored(): StoredDocument {
    return {
      id: this.id,
      kind: this.kind,
      appending: this.appending,
      contentHash: this.contentHash,
      mtimeMs: this.mtimeMs,
      tokens: this.tokens.unpack(),
      lod1Gists: this.lod1Gists,
      lod1Scales: this.lod1Scales,
      lod1Salience: this.lod1Salience,
      lod2Gists: this.lod2Gists,
      lod2Scales: this.lod2Scales,
      lod2Salience: this.lod2Salience,
    };
  }
}

/** LOD1/LOD2 node counts: a complete file gists its short tail; an appending one waits for it to fill. */
export function nodeCounts(tokens: number, appending: boolean): { lod1: number; lod2: number } {
  const lod1 = appending ? Math.floor(tokens / BLOCK_TOKENS) : Math.ceil(tokens / BLOCK_TOKENS);
  const lod2 = appending ? Math.floor(lod1 / GROUP_BLOCKS) : Math.ceil(lod1 / GROUP_BLOCKS);
  return { lod1, lod2 };
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function hashTokens(tokens: Uint32Array, start: number, end: number): string {
  return createHash('sha1').update(Buffer.from(tokens.buffer, tokens.byteOffset + start * 4, (end - start) * 4)).digest('base64');
}

/** Every LOD1 and LOD2 node of `doc` by content hash, into `into`. */
function indexNodes(doc: TreeDocument, into: Map<string, CachedNode>): void {
  const tokens = doc.tokens.unpack();
  for (let b = 0; b < doc.nLod1; b++) {
    const [s, e] = doc.span(1, b);
    into.set('1:' + hashTokens(tokens, s, e), { gists: doc.lod1Gists, scales: doc.lod1Scales, salience: doc.lod1Salience, i: b });
  }
  for (let g = 0; g < doc.nLod2; g++) {
    const [s, e] = doc.span(2, g);
    into.set('2:' + hashTokens(tokens, s, e), { gists: doc.lod2Gists, scales: doc.lod2Scales, salience: doc.lod2Salience, i: g });
  }
}

export interface DocumentInput {
  id: string;
  text: string;
  kind?: DocumentKind;
  appending?: boolean;
  mtimeMs?: number;
}

export interface IngestProgress {
  documents: number;
  totalDocuments: number;
  tokens: number;
  blocksGisted: number;
  blocksReused: number;
}

/**
 * Decoded texts of recently used documents, by characters held (a 1 MB file fits; larger chat logs are
 * decoded on each use). About 2-4 MB whatever the tree's size.
 */
const TEXT_CACHE_CHARS = 2_000_000;
const decodedTexts = new LRUCache<TreeDocument, string>({ maxSize: TEXT_CACHE_CHARS, sizeCalculation: (t) => Math.max(1, t.length) });

/** A node's gist in place: row `i` of a document's (or a build's) arrays, so an entry is one small object. */
interface CachedNode {
  gists: Int8Array;
  scales: Float32Array;
  salience: Uint8Array;
  i: number;
}

/** Gists served by content hash: this ingest's previous versions first, then the LRU. */
type NodeSource = { get(key: string): CachedNode | undefined };

/** Copies a cached node into row `row` of a build's arrays (salience `width` per node). */
function copyNode(hit: CachedNode, D: number, width: number, q: Int8Array, k: Float32Array, sal: Uint8Array, row: number): void {
  q.set(hit.gists.subarray(hit.i * D, (hit.i + 1) * D), row * D);
  k[row] = hit.scales[hit.i];
  sal.set(hit.salience.subarray(hit.i * width, (hit.i + 1) * width), row * width);
}

const GIST_BATCH = 256;

/** The MegaContext tree: every document, its nodes, and the lexical index over its blocks. */
export class Tree {
  readonly documents = new Map<string, TreeDocument>();
  readonly stats = new LexicalStats();
  /** Gists by block (or group) content hash: serves unchanged blocks, moves and duplicates. */
  private readonly cache: LRUCache<string, CachedNode>;
  counters = { blocksGisted: 0, blocksReused: 0, groupsGisted: 0, groupsReused: 0 };

  /**
   * The cache points into documents' arrays, so it costs only its entries. Edits are served by the old
   * version of the document (indexed for the length of one ingest); the LRU beyond that only serves
   * moves and duplicates across requests, so it stays small (16,384 entries held ~6 bytes per token of
   * a 1M-token tree; 2,048 still ~3 of a 100k-token one).
   */
  constructor(readonly runtime: ModelRuntime, cacheEntries = 512) {
    this.cache = new LRUCache<string, CachedNode>({ max: cacheEntries });
  }

  get dim(): number {
    return this.runtime.dim;
  }

  totalTokens(): number {
    let n = 0;
    for (const d of this.documents.values()) n += d.tokenCount;
    return n;
  }

  remove(id: string): boolean {
    const doc = this.documents.get(id);
    if (!doc) return false;
    this.stats.add(doc.postings, -1);
    this.documents.delete(id);
    return true;
  }

  /** Adds a document restored from the store (no model calls). */
  restore(s: StoredDocument): TreeDocument {
    const text = detokenize(s.tokens);
    const doc = new TreeDocument(s.id, s.kind, s.appending, text, s.tokens, s.contentHash, s.mtimeMs, this.dim,
      s.lod1Gists, s.lod1Scales, s.lod1Salience, s.lod2Gists, s.lod2Scales, s.lod2Salience);
    this.attach(doc);
    return doc;
  }

  private attach(doc: TreeDocument): void {
    if (this.documents.has(doc.id)) this.remove(doc.id);
    this.stats.add(doc.postings);
    this.documents.set(doc.id, doc);
  }

  /**
   * Adds or updates documents. Unchanged documents (same content hash) are kept as they are;
   * changed ones recompute only blocks and groups whose content hash is new.
   */
  async ingest(
    inputs: DocumentInput[],
    options: { signal?: AbortSignal; onProgress?: (p: IngestProgress) => void } = {},
  ): Promise<{ added: number; updated: number; unchanged: number }> {
    let added = 0;
    let updated = 0;
    let unchanged = 0;
    let tokens = 0;
    let done = 0;
    const pending: { input: DocumentInput; tokens: Uint32Array; hash: string }[] = [];
    // Previous versions of the documents being updated: their unchanged blocks keep their gists.
    const previous = new Map<string, CachedNode>();
    for (const input of inputs) {
      options.signal?.throwIfAborted();
      const hash = sha256Hex(input.text);
      const old = this.documents.get(input.id);
      if (old && old.contentHash === hash && old.appending === (input.appending ?? false)) {
        unchanged++;
        done++;
        continue;
      }
      if (old) {
        updated++;
        indexNodes(old, previous);
      } else added++;
      const t = tokenize(input.text);
      tokens += t.length;
      pending.push({ input, tokens: t, hash });
    }
    // Gist in batches that span documents, so small files still fill a batch.
    for (let i = 0; i < pending.length; ) {
      let j = i;
      let blocks = 0;
      while (j < pending.length && (j === i || blocks < GIST_BATCH * 4)) {
        blocks += Math.ceil(pending[j].tokens.length / BLOCK_TOKENS);
        j++;
      }
      const slice = pending.slice(i, j);
      const built = await this.buildDocuments(slice, { get: (k) => previous.get(k) ?? this.cache.get(k) }, options.signal);
      for (const doc of built) this.attach(doc);
      done += slice.length;
      options.onProgress?.({
        documents: done,
        totalDocuments: inputs.length,
        tokens,
        blocksGisted: this.counters.blocksGisted,
        blocksReused: this.counters.blocksReused,
      });
      i = j;
    }
    trimWordCache();
    return { added, updated, unchanged };
  }

  private async buildDocuments(
    items: { input: DocumentInput; tokens: Uint32Array; hash: string }[],
    known: NodeSource,
    signal?: AbortSignal,
  ): Promise<TreeDocument[]> {
    const D = this.dim;
    const plans = items.map(({ input, tokens }) => {
      const { lod1, lod2 } = nodeCounts(tokens.length, input.appending ?? false);
      return {
        tokens,
        lod1,
        lod2,
        // LOD1 gists as floats while LOD2 is computed from them (already int8-exact values), then int8.
        g1: new Float32Array(lod1 * D),
        q1: new Int8Array(lod1 * D),
        k1: new Float32Array(lod1),
        s1: new Uint8Array(lod1 * BLOCK_TOKENS),
        q2: new Int8Array(lod2 * D),
        k2: new Float32Array(lod2),
        s2: new Uint8Array(lod2 * GROUP_BLOCKS),
      };
    });
    // LOD1: collect blocks missing from the cache.
    const todo: { p: number; b: number; key: string }[] = [];
    const seen = new Map<string, { p: number; b: number }[]>();
    plans.forEach((plan, p) => {
      for (let b = 0; b < plan.lod1; b++) {
        const s = b * BLOCK_TOKENS;
        const e = Math.min(plan.tokens.length, s + BLOCK_TOKENS);
        const key = '1:' + hashTokens(plan.tokens, s, e);
        const hit = known.get(key);
        if (hit) {
          copyNode(hit, D, BLOCK_TOKENS, plan.q1, plan.k1, plan.s1, b);
          this.counters.blocksReused++;
          continue;
        }
        const dup = seen.get(key);
        if (dup) dup.push({ p, b });
        else {
          seen.set(key, []);
          todo.push({ p, b, key });
        }
      }
    });
    for (let i = 0; i < todo.length; i += GIST_BATCH) {
      signal?.throwIfAborted();
      const batch = todo.slice(i, i + GIST_BATCH);
      const ids = new Int32Array(batch.length * BLOCK_TOKENS);
      const mask = new Float32Array(batch.length * BLOCK_TOKENS);
      batch.forEach(({ p, b }, r) => {
        const t = plans[p].tokens;
        const s = b * BLOCK_TOKENS;
        const e = Math.min(t.length, s + BLOCK_TOKENS);
        for (let k = s; k < e; k++) {
          ids[r * BLOCK_TOKENS + k - s] = t[k];
          mask[r * BLOCK_TOKENS + k - s] = 1;
        }
      });
      const out = await this.runtime.gistBlocks(ids, mask, batch.length);
      // The compact forms, rounded once here, are what every later use sees (in memory and restored).
      const { q, scales } = quantizeRows(out.gists, D);
      const sal = quantizedSalience(out.salience, BLOCK_TOKENS);
      batch.forEach(({ p, b, key }, r) => {
        for (const { p: pp, b: bb } of [{ p, b }, ...(seen.get(key) ?? [])]) {
          plans[pp].q1.set(q.subarray(r * D, (r + 1) * D), bb * D);
          plans[pp].k1[bb] = scales[r];
          plans[pp].s1.set(sal.subarray(r * BLOCK_TOKENS, (r + 1) * BLOCK_TOKENS), bb * BLOCK_TOKENS);
        }
      });
      this.counters.blocksGisted += batch.length;
    }
    for (const plan of plans) for (let b = 0; b < plan.lod1; b++) dequantizeRowInto(plan.q1, plan.k1, b, D, plan.g1, b * D);
    for (const { p, b, key } of todo) {
      const plan = plans[p];
      this.cache.set(key, { gists: plan.q1, scales: plan.k1, salience: plan.s1, i: b });
    }
    // LOD2 from LOD1.
    const todo2: { p: number; g: number; key: string }[] = [];
    plans.forEach((plan, p) => {
      for (let g = 0; g < plan.lod2; g++) {
        const s = g * BLOCK_TOKENS * GROUP_BLOCKS;
        const e = Math.min(plan.tokens.length, s + BLOCK_TOKENS * GROUP_BLOCKS);
        const key = '2:' + hashTokens(plan.tokens, s, e);
        const hit = known.get(key);
        if (hit) {
          copyNode(hit, D, GROUP_BLOCKS, plan.q2, plan.k2, plan.s2, g);
          this.counters.groupsReused++;
        } else todo2.push({ p, g, key });
      }
    });
    for (let i = 0; i < todo2.length; i += GIST_BATCH) {
      signal?.throwIfAborted();
      const batch = todo2.slice(i, i + GIST_BATCH);
      const children = new Float32Array(batch.length * GROUP_BLOCKS * D);
      const mask = new Float32Array(batch.length * GROUP_BLOCKS);
      batch.forEach(({ p, g }, r) => {
        const plan = plans[p];
        const b0 = g * GROUP_BLOCKS;
        const b1 = Math.min(plan.lod1, b0 + GROUP_BLOCKS);
        children.set(plan.g1.subarray(b0 * D, b1 * D), r * GROUP_BLOCKS * D);
        for (let b = b0; b < b1; b++) mask[r * GROUP_BLOCKS + b - b0] = 1;
      });
      const out = await this.runtime.gistGroups(children, mask, batch.length);
      const { q, scales } = quantizeRows(out.gists, D);
      const sal = quantizedSalience(out.salience, GROUP_BLOCKS);
      batch.forEach(({ p, g }, r) => {
        plans[p].q2.set(q.subarray(r * D, (r + 1) * D), g * D);
        plans[p].k2[g] = scales[r];
        plans[p].s2.set(sal.subarray(r * GROUP_BLOCKS, (r + 1) * GROUP_BLOCKS), g * GROUP_BLOCKS);
      });
      this.counters.groupsGisted += batch.length;
    }
    for (const { p, g, key } of todo2) {
      const plan = plans[p];
      this.cache.set(key, { gists: plan.q2, scales: plan.k2, salience: plan.s2, i: g });
    }
    return items.map(({ input, tokens, hash }, p) => {
      const pl = plans[p];
      return new TreeDocument(input.id, input.kind ?? 'file', input.appending ?? false, input.text, tokens, hash,
        input.mtimeMs ?? 0, D, pl.q1, pl.k1, pl.s1, pl.q2, pl.k2, pl.s2);
    });
  }
}
