/**
 * LensNet v2: a learned value for each block that the focus plan (plan.ts) chooses from, in place of the
 * hand-written blockValues formula. The plan keeps pricing and choosing under the budget; only the value
 * it ranks by changes.
 *
 * The model sees, per candidate block, the plan's own evidence (raw and smoothed BM25, the section,
 * scope and definition-line lifts as the plan computes them, the document's best, position, unit kind,
 * whether the file supports code rather than being it), the query (length, question or description) and
 * GistNet similarities between the query's tail gists and the block's, its group's and its document's
 * gists. It outputs a bounded log-correction δ; blocks are ranked by log(plan value) + δ and take the
 * plan's values in that order (applyValues): a model that outputs 0 is the plan exactly (the recipe starts
 * there), so it can only learn what the ranking loss on the answerable targets asks of it. The order of VALUE_FEATURE_NAMES is a contract with the
 * trained model (models/models.json `valueFeatureNames`).
 */
import { GROUP_BLOCKS } from './constants';
import type { QueryEvidence } from './features';
import { popcount } from './lexical';
import { outline } from './outline';
import { ALL_LIFTS, bestValues, combineValues, liftsOffAt, valueParts, type PlanOptions, type ValueParts } from './plan';
import type { ModelRuntime } from './runtime';
import type { TreeDocument } from './tree';

export const VALUE_FEATURE_NAMES = [
  'log_raw', 'log_smoothed', 'log_value', 'value_doc_rel', 'value_top_rel',
  'log_section', 'log_scope', 'log_defline', 'log_doc_raw_max',
  'position', 'log_doc_tokens',
  'unit_function', 'unit_class', 'unit_section', 'unit_turn', 'name_block',
  'support', 'coverage', 'query_terms', 'query_question',
  'cos_block', 'cos_group', 'cos_root',
] as const;
export const VALUE_FEATURES = VALUE_FEATURE_NAMES.length;

/** Blocks whose plan value is below this share of the best value anywhere are not scored (below the plan's own minShare floor). */
export const VALUE_FLOOR = 0.01;
/**
 * At most this many blocks are scored per refocus, the best by the plan's value (the plan itself considers
 * max(400, budget/16) candidates): the model's features cost a few passes over each document they touch.
 * models/training/value-data.ts takes the same rows. 1000 since round 12 (3000 before): on the development
 * suites the same recall within a query or two either way, and the value pass at 1M tokens p50 ~15 ms instead of ~21.
 */
export const MAX_ROWS = 1000;
/** The model's correction is bounded (tanh × this) inside the graph. */
export const MAX_DELTA = 4;

const QUESTION = /^(who|what|when|where|why|how|which|whom|whose|did|does|do|is|are|was|were|has|have|can|could|would|will|should)\b/i;

/** Whether a query reads as a question (LoCoMo) rather than a description (a docstring, a change title). */
export function isQuestion(query: string): boolean {
  const q = query.trim();
  return q.endsWith('?') || QUESTION.test(q);
}

export interface ValueInputs {
  /** The plan's own value per document (blockValues), in the order of `docs`. */
  base: Float32Array[];
  /** n × VALUE_FEATURES rows, one per scored block. */
  rows: Float32Array;
  /** Per row: its document index and block. */
  docOf: Int32Array;
  blockOf: Int32Array;
  n: number;
}

const log1p = Math.log1p;

/**
 * The value model's inputs for every document: the plan's values and, for each block above VALUE_FLOOR
 * of the best, its feature row. `support(d)`: the document is a test, doc or example file.
 */
export function valueInputs(
  docs: readonly TreeDocument[],
  ev: QueryEvidence,
  query: string,
  tailMean: Float32Array,
  options: PlanOptions,
  support: (d: TreeDocument) => boolean,
): ValueInputs {
  // Each document's value parts, once: its value is their sum, and the lift features below are the same
  // parts summed with one lift left out (the plan's blockValues, without three more passes).
  const parts: (ValueParts | undefined)[] = docs.map((d) => {
    const raw = ev.of(d).raw;
    return d.tokenCount > 0 && raw.some((x) => x > 0) ? valueParts(d, raw, options, ev.q) : undefined;
  });
  const base = docs.map((d, i) => {
    const p = parts[i];
    return d.tokenCount === 0 ? new Float32Array(0) : p ? combineValues(d, p, options, ALL_LIFTS, support(d)) : ev.of(d).raw;
  });
  let top = 0;
  for (const v of base) for (let b = 0; b < v.length; b++) if (v[b] > top) top = v[b];
  // At most MAX_ROWS, the best by the plan's value (ties in document and block order), as in training.
  const { n, doc: candDoc, block: candBlock } = bestValues(base, 0, VALUE_FLOOR * top, MAX_ROWS);
  const F = VALUE_FEATURES;
  const rows = new Float32Array(n * F);
  const docOf = new Int32Array(n);
  const blockOf = new Int32Array(n);
  if (n === 0) return { base, rows, docOf, blockOf, n };
  const terms = Math.max(1, ev.termCount);
  const queryTerms = Math.log2(1 + ev.q.terms.length) / 5;
  const question = isQuestion(query) ? 1 : 0;
  const dim = tailMean.length;
  const row = new Float32Array(dim);
  const cosOf = (doc: TreeDocument, lod: 1 | 2, i: number): number => {
    if (lod === 1 ? i >= doc.nLod1 : i >= doc.nLod2) return 0;
    doc.gistInto(lod, i, row, 0);
    let c = 0;
    for (let k = 0; k < dim; k++) c += row[k] * tailMean[k];
    return c;
  };
  // The chosen blocks, a document at a time (they are in document and block order).
  for (let r = 0; r < n; ) {
    const d = candDoc[r];
    let end = r;
    while (end < n && candDoc[end] === d) end++;
    const doc = docs[d];
    const v = base[d];
    const e = ev.of(doc);
    const sup = support(doc);
    // The plan's lifts, each as what it adds: the value without it, subtracted, at the chosen blocks only.
    // A lift with no parts in this document adds nothing: the value without it is the value (its feature 0).
    const { noSection, noScope, noDef } = liftsOffAt(doc, parts[d]!, options, sup, candBlock.subarray(r, end), v);
    const smooth = e.block;
    let docTop = 0;
    let rawMax = 0;
    for (let b = 0; b < v.length; b++) { if (v[b] > docTop) docTop = v[b]; if (e.raw[b] > rawMax) rawMax = e.raw[b]; }
    const scale = sup ? 1 / Math.max(1e-6, options.supportShare) : 1;
    const o = outline(doc);
    let root = 0;
    const rg = doc.rootGist();
    for (let k = 0; k < dim; k++) root += rg[k] * tailMean[k];
    const groupCos = new Map<number, number>();
    const logDocTokens = Math.log2(doc.tokenCount + 1) / 20;
    const docRawMax = log1p(rawMax);
    for (const r0 = r; r < end; r++) {
      const b = candBlock[r];
      const i = r - r0;
      const f = r * F;
      rows[f] = log1p(e.raw[b]);
      rows[f + 1] = log1p(smooth[b]);
      rows[f + 2] = Math.log(v[b]);
      rows[f + 3] = v[b] / docTop;
      rows[f + 4] = v[b] / top;
      rows[f + 5] = log1p(Math.max(0, v[b] - noSection[i]) * scale);
      rows[f + 6] = log1p(Math.max(0, v[b] - noScope[i]) * scale);
      rows[f + 7] = log1p(Math.max(0, v[b] - noDef[i]) * scale);
      rows[f + 8] = docRawMax;
      rows[f + 9] = doc.nBlocks > 1 ? b / (doc.nBlocks - 1) : 0;
      rows[f + 10] = logDocTokens;
      const u = o.innermost[b];
      if (u >= 0) {
        const kind = o.units[u].kind;
        if (kind === 'function' || kind === 'method') rows[f + 11] = 1;
        else if (kind === 'class' || kind === 'interface' || kind === 'type') rows[f + 12] = 1;
        else if (kind === 'section' || kind === 'session') rows[f + 13] = 1;
        else if (kind === 'turn') rows[f + 14] = 1;
        if (o.nameBlock[u] === b) rows[f + 15] = 1;
      }
      rows[f + 16] = sup ? 1 : 0;
      rows[f + 17] = popcount(e.mask[b]) / terms;
      rows[f + 18] = queryTerms;
      rows[f + 19] = question;
      rows[f + 20] = cosOf(doc, 1, b);
      const g = Math.floor(b / GROUP_BLOCKS);
      let gc = groupCos.get(g);
      if (gc === undefined) groupCos.set(g, (gc = cosOf(doc, 2, g)));
      rows[f + 21] = gc;
      rows[f + 22] = root;
      docOf[r] = d;
      blockOf[r] = b;
    }
  }
  return { base, rows, docOf, blockOf, n };
}

/**
 * The plan's values, re-ordered by the model: the scored blocks are ranked by log(value) + δ and the
 * k-th of them gets the plan's k-th largest value among them. The plan then sees the values it was tuned
 * for — the same spread, the same blocks above its minShare floor, the same trade-off against cost
 * (alpha) — and only the order is learned. (Value × e^δ itself, tried first, stretched the spread up to
 * e^8: most blocks fell under the floor, and on the development suites the plan left the budget unused,
 * LoCoMo whole turns at 8k 90.6 → 77.0.) Blocks not scored keep their value, below every scored block's.
 */
export function applyValues(inputs: ValueInputs, delta: Float32Array): Float32Array[] {
  const out = inputs.base.map((v) => Float32Array.from(v));
  const n = inputs.n;
  const F = VALUE_FEATURES;
  const base = new Float32Array(n);
  const score = new Float64Array(n);
  for (let r = 0; r < n; r++) {
    base[r] = inputs.base[inputs.docOf[r]][inputs.blockOf[r]];
    score[r] = inputs.rows[r * F + 2] + delta[r];
  }
  const byScore = Array.from({ length: n }, (_, r) => r).sort((x, y) => score[y] - score[x] || x - y);
  const values = Float32Array.from(base).sort().reverse();
  byScore.forEach((r, k) => (out[inputs.docOf[r]][inputs.blockOf[r]] = values[k]));
  return out;
}

/**
 * The plan's value function with LensNet v2's corrections (one model call for the whole tree), for
 * FocusEngine's 'lens2' scorer. Documents not in `docs` get no value.
 */
export async function learnedBlockValues(
  runtime: ModelRuntime,
  docs: readonly TreeDocument[],
  ev: QueryEvidence,
  query: string,
  tailMean: Float32Array,
  options: PlanOptions,
  support: (d: TreeDocument) => boolean,
): Promise<(d: TreeDocument) => Float32Array> {
  const inputs = valueInputs(docs, ev, query, tailMean, options, support);
  const delta = inputs.n > 0 && runtime.scoreValues ? await runtime.scoreValues(inputs.rows, inputs.n) : new Float32Array(inputs.n);
  const values = applyValues(inputs, delta);
  const byDoc = new Map(docs.map((d, i) => [d, values[i]]));
  return (d) => byDoc.get(d) ?? new Float32Array(d.nBlocks);
}
