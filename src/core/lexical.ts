/**
 * Exact lexical evidence: BM25 of query terms over each block's full text, aggregated to any span.
 * It is computed over the underlying text, never over a gist rendering, so a collapsed node that
 * hides the answer still shows the evidence to LensNet and to the allocator.
 */

import { smallUint32 } from './packedTokens';

const STOP = new Set(
  ('a an and are as at be been but by can could did do does for from had has have how i if in into is it its ' +
    'me my no not of on or our she he so than that the their them then there these they this those to too ' +
    'was we were what when where which who whom why will with would you your self none true false return ' +
    'def function const let var new null undefined').split(' '),
);

function stem(w: string): string {
  if (w.length > 5 && w.endsWith('ing')) return w.slice(0, -3);
  if (w.length > 4 && w.endsWith('ed')) return w.slice(0, -2);
  if (w.length > 4 && w.endsWith('es')) return w.slice(0, -2);
  if (w.length > 3 && w.endsWith('s') && !w.endsWith('ss')) return w.slice(0, -1);
  return w;
}

const WORD = /[\p{L}\p{N}_]+/gu;
const CAMEL = /[\p{Lu}]?[\p{Ll}\p{N}]+|[\p{Lu}]+(?![\p{Ll}])|[\p{N}]+/gu;

/** Search terms of a text: words and identifier parts, lower-cased and lightly stemmed. */
export function terms(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(WORD)) for (const t of wordTerms(m[0])) out.push(t);
  return out;
}

/** Words repeat heavily in code and chat, so each word's terms are computed once. */
const wordCache = new Map<string, readonly string[]>();
const WORD_CACHE_MAX = 200_000;

function wordTerms(word: string): readonly string[] {
  let ts = wordCache.get(word);
  if (ts) return ts;
  const out: string[] = [];
  const lower = word.toLowerCase();
  const parts = word.split('_').flatMap((p) => p.match(CAMEL) ?? []);
  if (parts.length > 1 && lower.length >= 2 && !STOP.has(lower)) out.push(stem(lower.replace(/_/g, '')));
  for (const p of parts) {
    const t = p.toLowerCase();
    if (t.length < 2 || STOP.has(t)) continue;
    out.push(stem(t));
  }
  if (wordCache.size >= WORD_CACHE_MAX) wordCache.clear();
  wordCache.set(own(word), (ts = out.map(own)));
  return ts;
}

/**
 * A copy of `s` that does not point into a larger string. A word matched in a block's text is a slice
 * of the whole document's text in V8 (and so is its lower-cased form when nothing changed): kept as a
 * cache or table key, it would keep the entire text alive after the document let it go.
 */
export function own(s: string): string {
  return s.length < 13 ? s : (' ' + s).slice(1);
}

/** Words the cache keeps between ingests: enough for an edited file's vocabulary. */
const WORD_CACHE_IDLE = 4096;

/**
 * Shrinks the word cache to its most recently added words once an ingest is over: during indexing it
 * saves recomputing the terms of every repeated word, but kept whole it held ~6 bytes per token of a
 * 1M-token tree (24k words) for nothing.
 */
export function trimWordCache(keep = WORD_CACHE_IDLE): void {
  let excess = wordCache.size - keep;
  if (excess <= 0) return;
  for (const k of wordCache.keys()) {
    if (excess-- <= 0) break;
    wordCache.delete(k);
  }
}

/**
 * Term ids shared by every document of the process: each distinct term string is kept once, and
 * postings hold numbers. Ids are never reused, so the table grows with the vocabulary, not the text.
 */
const termIds = new Map<string, number>();

export function termId(term: string): number {
  let id = termIds.get(term);
  if (id === undefined) termIds.set(own(term), (id = termIds.size));
  return id;
}

/** A term's id, or undefined when no text of this process holds it. */
export function knownTermId(term: string): number | undefined {
  return termIds.get(term);
}

/** tf is kept up to this value (BM25 saturates long before). */
const MAX_TF = 255;

/**
 * Per-document postings in one flat array: the document's distinct term ids (ascending), where each
 * term's list starts, the lists themselves, one uint32 per (block, tf) as block << 8 | tf, and each
 * block's length in terms. About 4 bytes per (term, block) pair instead of a Map entry and a typed array
 * per term; the array is small-array storage shared with other documents (packedTokens.ts smallUint32).
 */
export class BlockPostings {
  /** [ids (k), starts (k+1), lists (m), block lengths (blocks)] in one array: a typed array costs ~250 bytes of its own. */
  private readonly d: Uint32Array;
  private readonly k: number;
  /** Blocks of the document. */
  readonly blocks: number;

  constructor(blockTexts: string[]) {
    this.blocks = blockTexts.length;
    const lengths: number[] = [];
    const pairs: number[] = []; // id, block << 8 | tf, ...
    const tf = new Map<number, number>();
    for (let b = 0; b < blockTexts.length; b++) {
      const ts = terms(blockTexts[b]);
      lengths.push(Math.min(ts.length, 65535));
      tf.clear();
      for (const t of ts) {
        const id = termId(t);
        tf.set(id, (tf.get(id) ?? 0) + 1);
      }
      for (const [id, n] of tf) pairs.push(id, (b << 8) | Math.min(n, MAX_TF));
    }
    // Order by term id, then block (blocks were visited in order, so a stable sort by id suffices).
    const order = Array.from({ length: pairs.length / 2 }, (_, i) => i);
    order.sort((x, y) => pairs[2 * x] - pairs[2 * y] || x - y);
    const ids: number[] = [];
    const starts: number[] = [];
    order.forEach((k, i) => {
      const id = pairs[2 * k];
      if (ids.length === 0 || ids[ids.length - 1] !== id) { ids.push(id); starts.push(i); }
    });
    starts.push(order.length);
    this.k = ids.length;
    this.d = smallUint32(2 * ids.length + 1 + order.length + lengths.length);
    this.d.set(ids, 0);
    this.d.set(starts, ids.length);
    const base = 2 * ids.length + 1;
    order.forEach((k, i) => { this.d[base + i] = pairs[2 * k + 1]; });
    this.d.set(lengths, base + order.length);
  }

  /** Length of block `b` in terms (at most 65,535). */
  blockLength(b: number): number {
    return this.d[this.d.length - this.blocks + b];
  }

  /** The term's postings in this document (block << 8 | tf each, by block), or undefined. */
  get(term: string): Uint32Array | undefined {
    const id = termIds.get(term);
    if (id === undefined) return undefined;
    const d = this.d;
    let lo = 0;
    let hi = this.k - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const v = d[mid];
      if (v === id) {
        const base = 2 * this.k + 1;
        return d.subarray(base + d[this.k + mid], base + d[this.k + mid + 1]);
      }
      if (v < id) lo = mid + 1;
      else hi = mid - 1;
    }
    return undefined;
  }

  /** Distinct term ids with the number of blocks holding each (for corpus document frequency). */
  *blockFrequencies(): IterableIterator<[number, number]> {
    for (let i = 0; i < this.k; i++) yield [this.d[i], this.d[this.k + i + 1] - this.d[this.k + i]];
  }

  totalLength(): number {
    let n = 0;
    for (let i = this.d.length - this.blocks; i < this.d.length; i++) n += this.d[i];
    return n;
  }
}

/** Corpus statistics over all blocks of all documents, kept current as documents come and go. */
export class LexicalStats {
  /** Blocks holding each term id (grown as new ids appear). */
  private df = new Uint32Array(1024);
  blocks = 0;
  totalLength = 0;

  add(p: BlockPostings, sign: 1 | -1 = 1): void {
    for (const [id, n] of p.blockFrequencies()) {
      if (id >= this.df.length) {
        const grown = new Uint32Array(Math.max(id + 1, this.df.length * 2));
        grown.set(this.df);
        this.df = grown;
      }
      this.df[id] = Math.max(0, this.df[id] + sign * n);
    }
    this.blocks += sign * p.blocks;
    this.totalLength += sign * p.totalLength();
  }

  idf(term: string): number {
    const id = termIds.get(term);
    const n = id !== undefined && id < this.df.length ? this.df[id] : 0;
    return Math.log(1 + (this.blocks - n + 0.5) / (n + 0.5));
  }

  avgLength(): number {
    return this.blocks > 0 ? this.totalLength / this.blocks : 1;
  }
}

export interface QueryTerms {
  terms: string[];
  /** Each term's weight: its IDF, times CODE_SPAN_WEIGHT for a term of a code span. */
  idf: Float64Array;
}

/**
 * A query term written inside a code span (`` `Popen()` ``, ``` ``shell=True`` ```) names code: an identifier, a
 * call, a literal the change must touch. Its weight is multiplied by this (as if the query said it three
 * times); development issues (click, httpx, attrs; `lines` at 8k / 16k / 32k): 63 / 84 / 104 → 65 / 87 / 103 of
 * 120 (×1.5: 65 / 85, ×2: 64 / 85, ×4 at 16k: 86). Docstring queries barely move (whole functions at 2k: the
 * development folders unchanged, unittest 55 → 57 of 92, importlib 70 → 69 of 120). The cost: a generic word in
 * a span (``str``, `package`) is weighted as much as a rare identifier.
 */
export const CODE_SPAN_WEIGHT = 3;

/** Terms of the query's code spans (backtick-quoted, on one line). */
function codeSpanTerms(query: string): Set<string> {
  const out = new Set<string>();
  for (const m of query.matchAll(/`([^`\n]+)`/g)) for (const t of terms(m[1])) out.add(t);
  return out;
}

export function queryTerms(query: string, stats: LexicalStats): QueryTerms {
  const uniq = [...new Set(terms(query))];
  const code = codeSpanTerms(query);
  return { terms: uniq, idf: Float64Array.from(uniq.map((t) => stats.idf(t) * (code.has(t) ? CODE_SPAN_WEIGHT : 1))) };
}

const K1 = 1.2;
const B = 0.75;

/** One term's BM25 contribution: `tf` occurrences in a text of `length` terms. */
export function bm25Term(idf: number, tf: number, length: number, avgLength: number): number {
  return (idf * tf * (K1 + 1)) / (tf + K1 * (1 - B + (B * length) / avgLength));
}

/**
 * BM25 of the query for every block of a document, and for each block a bitmask of which query
 * terms (first 32) occur in it, so span coverage can be computed by OR-ing masks.
 */
export function scoreBlocks(
  p: BlockPostings,
  q: QueryTerms,
  avgLength: number,
): { scores: Float32Array; masks: Uint32Array } {
  const n = p.blocks;
  const scores = new Float32Array(n);
  const masks = new Uint32Array(n);
  for (let i = 0; i < q.terms.length; i++) {
    const list = p.get(q.terms[i]);
    if (!list) continue;
    const idf = q.idf[i];
    const bit = i < 32 ? 1 << i : 0;
    for (let j = 0; j < list.length; j++) {
      const b = list[j] >>> 8;
      const tf = list[j] & MAX_TF;
      scores[b] += bm25Term(idf, tf, p.blockLength(b), avgLength);
      masks[b] |= bit;
    }
  }
  return { scores, masks };
}

export function popcount(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (((x + (x >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

/** Per postings (immutable): the running sum of block lengths, prefix[b] = terms in blocks before b. */
const prefixes = new WeakMap<BlockPostings, Uint32Array>();
function lengthPrefix(p: BlockPostings): Uint32Array {
  let prefix = prefixes.get(p);
  if (prefix) return prefix;
  prefix = new Uint32Array(p.blocks + 1);
  for (let b = 0; b < p.blocks; b++) prefix[b + 1] = prefix[b] + p.blockLength(b);
  prefixes.set(p, prefix);
  return prefix;
}

/**
 * BM25 of the query for arbitrary block ranges, each scored as one text: `ranges` holds [first, last]
 * block pairs (they may nest or overlap, like a class and its methods).
 */
export function scoreRanges(p: BlockPostings, q: QueryTerms, ranges: Uint32Array, avgLength: number): Float32Array {
  const n = ranges.length >> 1;
  const scores = new Float32Array(n);
  if (n === 0) return scores;
  const prefix = lengthPrefix(p);
  // Sections and definition scopes come in order of their first block: the first posting at or after a
  // range's start then only moves forward (a binary search per range otherwise).
  let ascending = true;
  for (let r = 1; r < n && ascending; r++) ascending = ranges[2 * r] >= ranges[2 * r - 2];
  for (let i = 0; i < q.terms.length; i++) {
    const list = p.get(q.terms[i]);
    if (!list) continue;
    let lo = 0;
    for (let r = 0; r < n; r++) {
      const b0 = ranges[2 * r];
      const b1 = ranges[2 * r + 1];
      // First posting at or after b0 (lists are ordered by block).
      let hi = list.length;
      if (ascending) {
        while (lo < hi && list[lo] >>> 8 < b0) lo++;
        if (lo === hi) break;
      } else {
        lo = 0;
        while (lo < hi) {
          const mid = (lo + hi) >>> 1;
          if (list[mid] >>> 8 < b0) lo = mid + 1;
          else hi = mid;
        }
      }
      let tf = 0;
      for (let j = lo; j < list.length && list[j] >>> 8 <= b1; j++) tf += list[j] & MAX_TF;
      if (tf === 0) continue;
      scores[r] += bm25Term(q.idf[i], tf, prefix[b1 + 1] - prefix[b0], avgLength);
    }
  }
  return scores;
}
