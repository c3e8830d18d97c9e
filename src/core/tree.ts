import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { BLOCK_TOKENS, GROUP_BLOCKS } from './constants';
import { nodeArrays, storedRows, type DocumentKind, type FileStat, type NodeArrays, type NodeRows, type StoredDocument } from './document';
import { dequantizeRowInto, quantizedSalience, quantizeRows } from './quant';
import { BlockPostings, LexicalStats, trimWordCache } from './lexical';
import { compactUint32, PackedTokens, smallFloat32 } from './packedTokens';
import type { ModelRuntime } from './runtime';
import { blockNodeCounts, cutBlocks, unitBreaks } from './blocks';
import { boundaryCharOffsets, detokenize, lineStarts, tokenizeDocument } from './tokenizer';
import { documentUnits, loadGrammars, UnitParser, type Unit } from './units';

/** What a TreeDocument is made of (built by Tree.ingest, or restored): a stored document with its text, blocks and dimension. */
export interface TreeDocumentInit extends Omit<StoredDocument, 'blocks' | 'stat' | 'rows' | NodeField> {
  text: string;
  /** Its LOD1 and LOD2 nodes: rows of arrays it may share with other documents. */
  nodes: NodeRows;
  dim: number;
  /** Token offsets of block boundaries (blocks.ts cutBlocks): nBlocks + 1 values from 0 to tokens.length. */
  blocks: Uint32Array;
  /** The units the blocks were cut at, when the caller parsed them (an ingest): outline.ts needs them again. */
  units?: Unit[];
}

type NodeField = 'lod1Gists' | 'lod1Scales' | 'lod1Salience' | 'lod2Gists' | 'lod2Scales' | 'lod2Salience';

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
  /**
   * The node arrays holding this document's nodes, shared with the documents gisted (or restored) with
   * it: its LOD1 nodes are rows r1 … r1 + nLod1 - 1, its LOD2 nodes rows r2 …. Six arrays of its own,
   * even as views, cost ~600 bytes of every tiny file of a 100k-file tree.
   */
  readonly nodes: NodeArrays;
  readonly r1: number;
  readonly r2: number;
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
    this.nodes = init.nodes.nodes;
    this.r1 = init.nodes.r1;
    this.r2 = init.nodes.r2;
    const { text, tokens } = init;
    this.tokens = new PackedTokens(tokens);
    this.textLength = text.length;
    this.blockTok = init.blocks;
    this.units = init.units;
    this.nBlocks = init.blocks.length - 1;
    this.blockChar = compactUint32(boundaryCharOffsets(text, tokens, init.blocks));
    const blockTexts: string[] = [];
    for (let b = 0; b < this.nBlocks; b++) blockTexts.push(text.slice(this.blockChar[b], this.blockChar[b + 1]));
    this.postings = new BlockPostings(blockTexts);
    const counts = blockNodeCounts(this.nBlocks, this.appending, GROUP_BLOCKS);
    this.nLod1 = counts.lod1;
    this.nLod2 = counts.lod2;
  }

  /** The node arrays of this document alone, as views (the store's writer; the focus loop uses gistInto and salience1/2). */
  get lod1Gists(): Int8Array { return this.nodes.q1.subarray(this.r1 * this.dim, (this.r1 + this.nLod1) * this.dim); }
  get lod1Scales(): Float32Array { return this.nodes.k1.subarray(this.r1, this.r1 + this.nLod1); }
  get lod1Salience(): Uint8Array { return this.nodes.s1.subarray(this.r1 * BLOCK_TOKENS, (this.r1 + this.nLod1) * BLOCK_TOKENS); }
  get lod2Gists(): Int8Array { return this.nodes.q2.subarray(this.r2 * this.dim, (this.r2 + this.nLod2) * this.dim); }
  get lod2Scales(): Float32Array { return this.nodes.k2.subarray(this.r2, this.r2 + this.nLod2); }
  get lod2Salience(): Uint8Array { return this.nodes.s2.subarray(this.r2 * GROUP_BLOCKS, (this.r2 + this.nLod2) * GROUP_BLOCKS); }

  /** GistNet's (quantized) salience of token `k` of block `b` (LOD1 node b), 0-255. */
  salience1(b: number, k: number): number {
    return this.nodes.s1[(this.r1 + b) * BLOCK_TOKENS + k];
  }

  /** GistNet's (quantized) salience of child `c` of group `g` (LOD2 node g), 0-255. */
  salience2(g: number, c: number): number {
    return this.nodes.s2[(this.r2 + g) * GROUP_BLOCKS + c];
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
    if (lod === 1) dequantizeRowInto(this.nodes.q1, this.nodes.k1, this.r1 + index, this.dim, dst, at);
    else dequantizeRowInto(this.nodes.q2, this.nodes.k2, this.r2 + index, this.dim, dst, at);
  }

  /** Normalised mean of the LOD2 gists (or LOD1 when there is no LOD2 node): the root's vector. */
  rootGist(): Float32Array {
    if (this.docGist) return this.docGist;
    // Kept for every document a focus scores: in small-array storage (a 64-float array of its own is ~450 bytes).
    const g = smallFloat32(this.dim);
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
    into.set('1:' + hashTokens(tokens, s, e), { gists: doc.nodes.q1, scales: doc.nodes.k1, salience: doc.nodes.s1, i: doc.r1 + b });
  }
  for (let g = 0; g < doc.nLod2; g++) {
    const [s, e] = doc.span(2, g);
    const b0 = g * GROUP_BLOCKS;
    const key = '2:' + hashTokens(tokens, s, e) + hashBoundaries(doc.blockTok, b0, Math.min(doc.nBlocks, b0 + GROUP_BLOCKS));
    into.set(key, { gists: doc.nodes.q2, scales: doc.nodes.k2, salience: doc.nodes.s2, i: doc.r2 + g });
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
   * Units of edited documents are parsed incrementally: the parser keeps the syntax trees of the
   * documents changed most recently (a first index keeps none: a tree per file of a large workspace
   * would hold its WebAssembly memory).
   */
  private readonly parser = new UnitParser();

  /** Syntax trees kept for incremental parsing (documents edited recently). */
  get keptSyntaxTrees(): number {
    return this.parser.size;
  }

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
    this.parser.forget(id);
    return this.detach(id);
  }

  /** Takes a document out (its replacement, or its removal, follows). */
  private detach(id: string): boolean {
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
    const doc = new TreeDocument({
      id: s.id, kind: s.kind, appending: s.appending, contentHash: s.contentHash, mtimeMs: s.mtimeMs,
      tokens: s.tokens, blocks: s.blocks, text: detokenize(s.tokens), dim: this.dim, nodes: s.rows ?? storedRows(s),
    });
    this.attach(doc);
    return doc;
  }

  private attach(doc: TreeDocument): void {
    if (this.documents.has(doc.id)) this.detach(doc.id);
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
      const units = old ? this.parser.update(input.id, input.id, input.text, input.kind ?? 'file') : documentUnits(input.id, input.text, input.kind ?? 'file');
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
    // Every document of this batch is a range of rows of one set of node arrays (document.ts nodeArrays): memory.
    const nodes = nodeArrays(counts, D, BLOCK_TOKENS, GROUP_BLOCKS);
    if (nodes.length === 0) return [];
    const { q1, k1, s1, q2, k2, s2 } = nodes[0].nodes;
    const plans = items.map(({ tokens, blocks }, p) => {
      const { lod1, lod2 } = counts[p];
      return {
        tokens,
        blocks,
        lod1,
        lod2,
        // LOD1 gists as floats while LOD2 is computed from them (already int8-exact values), then int8.
        g1: new Float32Array(lod1 * D),
        r1: nodes[p].r1,
        r2: nodes[p].r2,
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
          copyNode(hit, D, BLOCK_TOKENS, q1, k1, s1, plan.r1 + b);
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
          const row = plans[pp].r1 + bb;
          q1.set(q.subarray(r * D, (r + 1) * D), row * D);
          k1[row] = scales[r];
          s1.set(sal.subarray(r * BLOCK_TOKENS, (r + 1) * BLOCK_TOKENS), row * BLOCK_TOKENS);
        }
      });
      this.counters.blocksGisted += batch.length;
    }
    for (const plan of plans) for (let b = 0; b < plan.lod1; b++) dequantizeRowInto(q1, k1, plan.r1 + b, D, plan.g1, b * D);
    for (const { p, b, key } of todo) this.cache.set(key, { gists: q1, scales: k1, salience: s1, i: plans[p].r1 + b });
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
          copyNode(hit, D, GROUP_BLOCKS, q2, k2, s2, plan.r2 + g);
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
        const row = plans[p].r2 + g;
        q2.set(q.subarray(r * D, (r + 1) * D), row * D);
        k2[row] = scales[r];
        s2.set(sal.subarray(r * GROUP_BLOCKS, (r + 1) * GROUP_BLOCKS), row * GROUP_BLOCKS);
      });
      this.counters.groupsGisted += batch.length;
    }
    for (const { p, g, key } of todo2) this.cache.set(key, { gists: q2, scales: k2, salience: s2, i: plans[p].r2 + g });
    return items.map(({ input, tokens, hash, blocks, units }, p) => new TreeDocument({
      units,
      id: input.id, kind: input.kind ?? 'file', appending: input.appending ?? false, text: input.text, tokens, blocks: compactUint32(blocks),
      contentHash: hash, mtimeMs: input.mtimeMs ?? 0, dim: D, nodes: nodes[p],
    }));
  }
}
