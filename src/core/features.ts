import { GROUP_BLOCKS } from './constants';
import type { Entry } from './entry';
import { popcount, queryTerms, scoreBlocks, type QueryTerms } from './lexical';
import type { Tree, TreeDocument } from './tree';

/**
 * LensNet's view of one working-context entry: its gist vector followed by these features.
 * The order is a contract with the trained model (models/models.json records the width).
 */
export const FEATURE_NAMES = [
  'lod0', 'lod1', 'lod2', 'root',
  'log_width', 'position', 'recency',
  'lex_max_rel', 'lex_max_abs', 'lex_coverage', 'lex_neighbour', 'lex_document',
  'cosine_tail', 'held',
] as const;
export const EXTRA_FEATURES = FEATURE_NAMES.length;

/** Lexical evidence of one document for one query, with per-group and whole-document aggregates. */
export interface DocumentEvidence {
  /** BM25 of each block alone, before smoothing. */
  raw: Float32Array;
  block: Float32Array;
  mask: Uint32Array;
  groupMax: Float32Array;
  groupMask: Uint32Array;
  docMax: number;
  docMask: number;
}

/**
 * Evidence spreads to neighbouring blocks: a turn or a function rarely fits one 32-token block, and
 * the block after a match usually finishes it. Kernel weights for offsets -2..+2.
 */
export const EVIDENCE_KERNEL = [0.3, 0.6, 1, 0.6, 0.3];

export function smoothBlocks(raw: Float32Array, kernel: readonly number[] = EVIDENCE_KERNEL): Float32Array {
  const out = new Float32Array(raw.length);
  const h = kernel.length >> 1;
  for (let b = 0; b < raw.length; b++) {
    if (raw[b] === 0) continue;
    for (let k = -h; k <= h; k++) {
      const j = b + k;
      if (j >= 0 && j < raw.length) out[j] += kernel[k + h] * raw[b];
    }
  }
  return out;
}

/** Query-side state shared by the features and the lexical scorer. */
export class QueryEvidence {
  readonly q: QueryTerms;
  private readonly perDoc = new Map<string, DocumentEvidence>();
  private readonly avg: number;

  constructor(readonly tree: Tree, readonly query: string) {
    this.q = queryTerms(query, tree.stats);
    this.avg = tree.stats.avgLength();
  }

  get termCount(): number {
    return Math.min(32, this.q.terms.length);
  }

  of(doc: TreeDocument): DocumentEvidence {
    let ev = this.perDoc.get(doc.id);
    if (ev) return ev;
    const { scores: raw, masks } = scoreBlocks(doc.postings, this.q, this.avg);
    const scores = smoothBlocks(raw);
    const ng = Math.ceil(doc.nBlocks / GROUP_BLOCKS);
    const groupMax = new Float32Array(ng);
    const groupMask = new Uint32Array(ng);
    let docMax = 0;
    let docMask = 0;
    for (let b = 0; b < doc.nBlocks; b++) {
      const g = Math.floor(b / GROUP_BLOCKS);
      if (scores[b] > groupMax[g]) groupMax[g] = scores[b];
      groupMask[g] |= masks[b];
      if (scores[b] > docMax) docMax = scores[b];
      docMask |= masks[b];
    }
    ev = { raw, block: scores, mask: masks, groupMax, groupMask, docMax, docMask };
    this.perDoc.set(doc.id, ev);
    return ev;
  }

  /** Best block score and query-term mask within an entry's full underlying text. */
  span(e: Entry): { max: number; mask: number } {
    const ev = this.of(e.doc);
    if (e.lod === 3) return { max: ev.docMax, mask: ev.docMask };
    if (e.lod === 2) return { max: ev.groupMax[e.index], mask: ev.groupMask[e.index] };
    return { max: ev.block[e.index], mask: ev.mask[e.index] };
  }
}

/** Writes an entry's gist at `row` of `out`; false when it has none (an unfinished chat tail block). */
function writeGist(e: Entry, out: Float32Array, row: number): boolean {
  if (e.lod === 3) out.set(e.doc.rootGist(), row);
  else if (e.lod === 2) e.doc.gistInto(2, e.index, out, row);
  else if (e.index < e.doc.nLod1) e.doc.gistInto(1, e.index, out, row);
  else return false;
  return true;
}

/** Row-major n*(dim+EXTRA_FEATURES) features of the entries (in working-context order). */
export function buildFeatures(entries: Entry[], ev: QueryEvidence, tailMean: Float32Array): Float32Array {
  const dim = tailMean.length;
  const F = dim + EXTRA_FEATURES;
  const out = new Float32Array(entries.length * F);
  const lex = entries.map((e) => ev.span(e));
  let top = 0;
  for (const l of lex) top = Math.max(top, l.max);
  const terms = ev.termCount;
  const rel = (x: number) => (top > 0 ? x / top : 0);
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i];
    const row = i * F;
    let cos = 0;
    if (writeGist(e, out, row)) for (let d = 0; d < dim; d++) cos += out[row + d] * tailMean[d];
    const f = row + dim;
    out[f + e.lod] = 1;
    out[f + 4] = Math.log2(e.end - e.start + 1) / 20;
    out[f + 5] = e.doc.tokenCount > 0 ? e.start / e.doc.tokenCount : 0;
    out[f + 6] = e.doc.appending ? Math.exp(-(e.doc.tokenCount - e.end) / 2048) : 0;
    out[f + 7] = rel(lex[i].max);
    out[f + 8] = 1 - Math.exp(-lex[i].max / 8);
    out[f + 9] = terms > 0 ? popcount(lex[i].mask) / terms : 0;
    const prev = i > 0 && entries[i - 1].doc === e.doc ? lex[i - 1].max : 0;
    const next = i + 1 < entries.length && entries[i + 1].doc === e.doc ? lex[i + 1].max : 0;
    out[f + 10] = rel(Math.max(prev, next));
    out[f + 11] = rel(ev.of(e.doc).docMax);
    out[f + 12] = cos;
    out[f + 13] = e.held ? 1 : 0;
  }
  return out;
}

/** Mean of the query's tail gists, normalised. */
export function meanVector(rows: Float32Array, count: number, dim: number): Float32Array {
  const m = new Float32Array(dim);
  for (let r = 0; r < count; r++) for (let d = 0; d < dim; d++) m[d] += rows[r * dim + d];
  let n = 0;
  for (let d = 0; d < dim; d++) n += m[d] * m[d];
  n = Math.sqrt(n) || 1;
  for (let d = 0; d < dim; d++) m[d] /= n;
  return m;
}
