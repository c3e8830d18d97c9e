import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { BLOCK_TOKENS, GROUP_BLOCKS } from './constants';
import { nodeArrays, type DocumentKind, type FileStat, type StoredDocument } from './document';
import { dequantizeRowInto, quantizedSalience, quantizeRows } from './quant';
import { BlockPostings, LexicalStats, trimWordCache } from './lexical';
import { PackedTokens } from './packedTokens';
import type { ModelRuntime } from './runtime';
import { blockNodeCounts, cutBlocks, unitBreaks } from './blocks';
import { boundaryCharOffsets, detokenize, lineStarts, tokenizeDocument } from './tokenizer';
import { documentUnits, loadGrammars, type Unit } from './units';

/** What a TreeDocument is made of (built by Tree.ingest, or restored): a stored document with its text, blocks and dimension. */
export interface TreeDocumentInit extends Omit<StoredDocument, 'blocks' | 'stat'> {
  text: string;
  dim: number;
  /** Token offsets of block boundaries (blocks.ts cutBlocks): nBlocks + 1 values from 0 to tokens.length. */
  blocks: Uint32Array;
  /** The units the blocks were cut at, when the caller parsed them (an ingest): outline.ts needs them again. */
  units?: Unit[];
}

/** TreeDocument's render caches, each created on first use. */
interface RenderCaches {
  gistText1?: Map<number, string>;
  gistText2?: Map<number, string>;
  gistCost1?: Map<number, Int32Array>;
  gistCost2?: Map<number, Int32Array>;
  lineCosts?: Map<string, number>;
}

/** A document of the MegaContext tree: its text, tokens, blocks of whole lines, and LOD1/LOD2 nodes. */
export class TreeDocument {
  readonly id: string;
  readonly kind: DocumentKind;
  readonly appending: boolean;
  readonly contentHash: string;
  readonly mtimeMs: number;
  readonly dim: number;
  /** The document's o200k ids, 18 bits each. */
  readonly tokens: PackedTokens;
  /** Token offsets of block boundaries (nBlocks+1): blocks are runs of whole lines (blocks.ts). */
  readonly blockTok: Uint32Array;
  /** String offsets of block boundaries (nBlocks+1). */
  readonly blockChar: Uint32Array;
  /** Line starts, computed on first use from the text: most documents of a large tree are never shown by line. */
  private lineStartsCache?: Uint32Array;
  readonly nBlocks: number;
  /** Blocks that have an LOD1 node (all of them for a file; only closed ones while appending). */
  readonly nLod1: number;
  readonly nLod2: number;
  readonly postings: BlockPostings;
  /** Length of the text in UTF-16 units (without decoding it). */
  readonly textLength: number;
  lod1Gists: Int8Array;
  lod1Scales: Float32Array;
  lod1Salience: Uint8Array;
  lod2Gists: Int8Array;
  lod2Scales: Float32Array;
  lod2Salience: Uint8Array;
  /**
   * Render caches (render.ts), each allocated on first use: five empty Maps per document were ~1 KB of
   * every tiny file of a 100k-file tree that is never rendered beyond its root line.
   */
  private caches?: RenderCaches;
  /** Lazily rendered gist texts, by block * 8 + words kept, group * 8 + children kept (see render.ts). */
  get gistText1(): Map<number, string> { return ((this.caches ??= {}).gistText1 ??= new Map()); }
  get gistText2(): Map<number, string> { return ((this.caches ??= {}).gistText2 ??= new Map()); }
  /** Token costs of gist renderings per gist size (cost.ts CostModel.gistCost): one per block or group, -1 until costed. */
  get gistCost1(): Map<number, Int32Array> { return ((this.caches ??= {}).gistCost1 ??= new Map()); }
  get gistCost2(): Map<number, Int32Array> { return ((this.caches ??= {}).gistCost2 ??= new Map()); }
  /**
   * Token costs of the lines that name this document (header, root line, bare path) by display path,
   * and of its run markers (render.ts runOverhead), kept across refocuses: with thousands of files the
   * cold-start map costs every one of them each time.
   */
  get lineCosts(): Map<string, number> { return ((this.caches ??= {}).lineCosts ??= new Map()); }
  /** The names the document defines (render.ts salientNames), found once. */
  names?: string[];
  /** The document's units when its ingest parsed them (outline.ts parses a restored document on first use). */
  units?: Unit[];
  /** Files: the file system's stat when the text was read (set by indexer.ts; undefined: compare by content). */
  fileStat?: FileStat;
  private docGist?: Float32Array;

  constructor(init: TreeDocumentInit) {
    this.id = init.id;
    this.kind = init.kind;
    this.appending = init.appending;
    this.contentHash = init.contentHash;
    this.mtimeMs = init.mtimeMs;
    this.dim = init.dim;
    this.lod1Gists = init.lod1Gists;
    this.lod1Scales = init.lod1Scales;
    this.lod1Salience = init.lod1Salience;
    this.lod2Gists = init.lod2Gists;
    this.lod2Scales = init.lod2Scales;
    this.lod2Salience = init.lod2Salience;
    const { text, tokens } = init;
    this.tokens = new PackedTokens(tokens);
    this.textLength = text.length;
    this.blockTok = init.blocks;
    this.units = init.units;
    this.nBlocks = init.blocks.length - 1;
    this.blockChar = boundaryCharOffsets(text, tokens, init.blocks);
    const blockTexts: string[] = [];
    for (let b = 0; b < this.nBlocks; b++) blockTexts.push(text.slice(this.blockChar[b], this.blockChar[b + 1]));
    this.postings = new BlockPostings(blockTexts);
    const counts = blockNodeCounts(this.nBlocks, this.appending, GROUP_BLOCKS);
    this.nLod1 = counts.lod1;
    this.nLod2 = counts.lod2;
  }

  /** String offsets of line starts (lines.length lines), from the text on first use, then kept. */
  get lines(): Uint32Array {
    // Decoded here without entering the text LRU: a focus over a large tree asks every document once.
    return (this.lineStartsCache ??= lineStarts(decodedTexts.peek(this) ?? detokenize(this.tokens.unpack())));
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
    if (lod === 3) return [0, this.tokens.length];
    if (lod === 2) return [this.blockTok[index * GROUP_BLOCKS], this.blockTok[Math.min(this.nBlocks, (index + 1) * GROUP_BLOCKS)]];
    return [this.blockTok[index], this.blockTok[index + 1]];
  }

  /** Index of the block holding string offset `c`. */
  blockAtChar(c: number): number {
    return lastAtOrBelow(this.blockChar, this.nBlocks, c);
  }

  /** Index of the block holding token `t` (a block start maps to its own block). */
  blockAtToken(t: number): number {
    return lastAtOrBelow(this.blockTok, this.nBlocks, t);
  }

  /** String range of a token range whose ends are block boundaries. */
  charRange(start: number, end: number): [number, number] {
    const b1 = end >= this.tokens.length ? this.nBlocks : this.blockAtToken(end);
    return [this.blockChar[this.blockAtToken(start)], this.blockChar[b1]];
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
      blocks: this.blockTok,
      lod1Gists: this.lod1Gists,
      lod1Scales: this.lod1Scales,
      lod1Salience: this.lod1Salience,
      lod2Gists: this.lod2Gists,
      lod2Scales: this.lod2Scales,
      lod2Salience: this.lod2Salience,
    };
  }
}

/** The last index i in [0, n) with arr[i] <= v (0 when none): a block holding an offset. */
function lastAtOrBelow(arr: Uint32Array, n: number, v: number): number {
  let lo = 0;
  let hi = n - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if (arr[mid] <= v) lo = mid;
    else hi = mid - 1;
  }
  return Math.max(0, lo);
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
    const b0 = g * GROUP_BLOCKS;
    const key = '2:' + hashTokens(tokens, s, e) + hashBoundaries(doc.blockTok, b0, Math.min(doc.nBlocks, b0 + GROUP_BLOCKS));
    into.set(key, { gists: doc.lod2Gists, scales: doc.lod2Scales, salience: doc.lod2Salience, i: g });
  }
}

/** The block boundaries of blocks [b0, b1) relative to the first: part of a group's cache key. */
function hashBoundaries(blocks: Uint32Array, b0: number, b1: number): string {
  const rel = new Uint32Array(b1 - b0);
  for (let b = b0; b < b1; b++) rel[b - b0] = blocks[b + 1] - blocks[b0];
  return createHash('sha1').update(Buffer.from(rel.buffer)).digest('base64');
}

/** A document's blocks: whole lines, each unit's first line starting one (blocks.ts). */
function documentBlocks(tokens: Uint32Array, units: readonly Unit[]): Uint32Array {
  return cutBlocks(tokens, unitBreaks(units));
}

interface PendingDocument {
  input: DocumentInput;
  tokens: Uint32Array;
  hash: string;
  units: Unit[];
  blocks: Uint32Array;
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

  /**
   * Adds a document restored from the store (no model calls, no parser: its block boundaries are
   * stored). When they do not match its stored nodes, the document is not restored and returns
   * undefined; the caller gists it again from its text.
   */
  restore(s: StoredDocument): TreeDocument | undefined {
    const counts = blockNodeCounts(s.blocks.length - 1, s.appending, GROUP_BLOCKS);
    if (counts.lod1 !== s.lod1Scales.length || counts.lod2 !== s.lod2Scales.length) return undefined;
    const doc = new TreeDocument({ ...s, text: detokenize(s.tokens), dim: this.dim });
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
    const pending: PendingDocument[] = [];
    // Blocks start at units' first lines: the parser's grammars must be there before any document is cut.
    await loadGrammars(inputs.filter((i) => (i.kind ?? 'file') === 'file').map((i) => i.id));
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
      const t = tokenizeDocument(input.text);
      tokens += t.length;
      const units = documentUnits(input.id, input.text, input.kind ?? 'file');
      pending.push({ input, tokens: t, hash, units, blocks: documentBlocks(t, units) });
    }
    // Gist in batches that span documents, so small files still fill a batch.
    for (let i = 0; i < pending.length; ) {
      let j = i;
      let blocks = 0;
      while (j < pending.length && (j === i || blocks < GIST_BATCH * 4)) {
        blocks += pending[j].blocks.length - 1;
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
    items: PendingDocument[],
    known: NodeSource,
    signal?: AbortSignal,
  ): Promise<TreeDocument[]> {
    const D = this.dim;
    const counts = items.map(({ input, blocks }) => blockNodeCounts(blocks.length - 1, input.appending ?? false, GROUP_BLOCKS));
    // q1..s2 of every document of this batch are views of one buffer (document.ts nodeArrays): memory.
    const nodes = nodeArrays(counts, D, BLOCK_TOKENS, GROUP_BLOCKS);
    const plans = items.map(({ tokens, blocks }, p) => {
      const { lod1, lod2 } = counts[p];
      return {
        tokens,
        blocks,
        lod1,
        lod2,
        // LOD1 gists as floats while LOD2 is computed from them (already int8-exact values), then int8.
        g1: new Float32Array(lod1 * D),
        ...nodes[p],
      };
    });
    // LOD1: collect blocks missing from the cache.
    const todo: { p: number; b: number; key: string }[] = [];
    const seen = new Map<string, { p: number; b: number }[]>();
    plans.forEach((plan, p) => {
      for (let b = 0; b < plan.lod1; b++) {
        const key = '1:' + hashTokens(plan.tokens, plan.blocks[b], plan.blocks[b + 1]);
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
        const s = plans[p].blocks[b];
        const e = plans[p].blocks[b + 1];
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
        // A group's key holds its block boundaries too: the same tokens cut otherwise are another node.
        const b0 = g * GROUP_BLOCKS;
        const b1 = Math.min(plan.blocks.length - 1, b0 + GROUP_BLOCKS);
        const key = '2:' + hashTokens(plan.tokens, plan.blocks[b0], plan.blocks[b1]) + hashBoundaries(plan.blocks, b0, b1);
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
    return items.map(({ input, tokens, hash, blocks, units }, p) => {
      const pl = plans[p];
      return new TreeDocument({
        units,
        id: input.id, kind: input.kind ?? 'file', appending: input.appending ?? false, text: input.text, tokens, blocks,
        contentHash: hash, mtimeMs: input.mtimeMs ?? 0, dim: D,
        lod1Gists: pl.q1, lod1Scales: pl.k1, lod1Salience: pl.s1, lod2Gists: pl.q2, lod2Scales: pl.k2, lod2Salience: pl.s2,
      });
    });
  }
}
