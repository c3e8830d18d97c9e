/**
 * Budget-aware focus plan for the lexical scorer: which blocks to bring to LOD0, priced per token.
 *
 * Bringing a block to exact text costs its 32 tokens, and — the first time a group is entered — the
 * group's 32 block-gist entries that replace its one group line (and, for a document collapsed to its
 * root, the document's header and group lines). A plan picks blocks greedily by value / marginal cost^α
 * until nothing more fits under the budget, so it spends the budget on exact text of the best blocks in
 * few groups rather than on opening many groups for one block each. It is computed once per refocus
 * from the allocator's starting state with the allocator's own cost model, so what it picks fits.
 *
 * `planScores` then turns the plan into allocator scores: every node on the way to a planned block
 * scores above τ_expand (earlier picks higher), what the plan leaves as it is scores 0 (neither expands
 * nor collapses), and anything the plan would not show at that detail scores -1. The allocator's own
 * rules (legality, budget, N_diff, cooldown) are unchanged: the plan only decides what is worth it.
 */
import { BLOCK_TOKENS, GROUP_BLOCKS } from './constants';
import { makeEntry, type Entry } from './entry';
import { EVIDENCE_KERNEL, smoothBlocks } from './features';
import { children } from './focus';
import type { CostModel } from './render';
import type { TreeDocument } from './tree';

export interface PlanOptions {
  /** Exponent on the marginal token cost: 0 = pure value order, 1 = value per token. */
  alpha: number;
  /** Blocks scoring below this share of the best block are not worth showing. */
  minShare: number;
  /** At most this many candidate blocks (the best by value) are considered. */
  maxCandidates: number;
  /** Smoothing of block BM25 over neighbouring blocks (odd length, centre = the block); null = features.ts EVIDENCE_KERNEL. */
  kernel: number[] | null;
  /**
   * A block sharing a line with a better block gets this share of that block's value: a line (a chat
   * turn, a long signature) counts as shown only when most of it is exact, whichever block matched.
   */
  lineSpread: number;
  /**
   * A definition line (def, class, function, … — what a code query's answer is) gets this share of the
   * best value inside its body: the query's words match the body, the answer is the line above it.
   * 0 = off.
   */
  scopeLift: number;
}

export const DEFAULT_PLAN: PlanOptions = { alpha: 0.5, minShare: 0.02, maxCandidates: 400, kernel: null, lineSpread: 0.6, scopeLift: 2 };

/** Block values for the plan: smoothed BM25, spread across blocks that share a line. */
export function blockValues(doc: TreeDocument, raw: Float32Array, options: PlanOptions): Float32Array {
  // Most documents of a large tree hold no query word: nothing to smooth, lift or spread.
  if (!raw.some((x) => x > 0)) return raw;
  const v = smoothBlocks(raw, options.kernel ?? EVIDENCE_KERNEL);
  if (options.scopeLift > 0) liftScopes(doc, v, options.scopeLift);
  if (options.lineSpread <= 0) return v;
  const out = Float32Array.from(v);
  // Walk lines; every line spanning several blocks shares its best block's value among them.
  const nb = doc.nBlocks;
  let b = 0;
  for (let l = 0; l < doc.lines.length; l++) {
    const c0 = doc.lines[l];
    const c1 = l + 1 < doc.lines.length ? doc.lines[l + 1] : doc.text.length;
    while (b + 1 < nb && doc.blockChar[b + 1] <= c0) b++;
    let e = b;
    while (e + 1 < nb && doc.blockChar[e + 1] < c1) e++;
    if (e === b) continue;
    let best = 0;
    for (let k = b; k <= e; k++) best = Math.max(best, v[k]);
    for (let k = b; k <= e; k++) out[k] = Math.max(out[k], options.lineSpread * best);
  }
  return out;
}

export interface Plan {
  /** Planned LOD0 blocks per document id, with their pick order (0 = first). */
  blocks: Map<string, Map<number, number>>;
  picks: number;
  /** Estimated tokens of the planned working context. */
  used: number;
  /** Documents the plan shows as their root line alone, to make room for better evidence elsewhere. */
  folded: Set<string>;
}

/** Index of the entry holding token `t` (entries in order, covering the document). */
function entryAt(entries: Entry[], t: number): number {
  let lo = 0;
  let hi = entries.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if (entries[mid].start <= t) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** Tokens that bringing block b to LOD0 adds, expanding every node on the way; null if it cannot. */
function marginalCost(cm: CostModel, entries: Entry[], b: number): number | null {
  const t = b * BLOCK_TOKENS;
  let list = entries;
  let i = entryAt(list, t);
  let total = 0;
  for (;;) {
    const e = list[i];
    if (e.lod === 0) return total;
    if (e.fold || (e.lod === 3 && e.doc.tokenCount === 0)) return null;
    const kids = children(e);
    total += cm.spliceDelta(list, i, i + 1, kids);
    // Only the splice's neighbours matter to the next step's cost (run markers).
    const left = i > 0 ? [list[i - 1]] : [];
    const right = i + 1 < list.length ? [list[i + 1]] : [];
    list = [...left, ...kids, ...right];
    i = left.length + entryAt(kids, t);
  }
}

/** Applies the expansions that bring block b to LOD0; returns the cost added. */
function expandTo(cm: CostModel, entries: Entry[], b: number): number {
  const t = b * BLOCK_TOKENS;
  let total = 0;
  for (;;) {
    const i = entryAt(entries, t);
    const e = entries[i];
    if (e.lod === 0) return total;
    const kids = children(e);
    total += cm.spliceDelta(entries, i, i + 1, kids);
    entries.splice(i, 1, ...kids);
  }
}

/**
 * Plans the LOD0 blocks under `budget`, starting from `state` (the allocator's entries per document,
 * not modified) whose estimated cost is `used`. `value(doc)` gives each block's evidence (≥ 0).
 */
export function planFocus(
  state: Entry[][],
  used: number,
  budget: number,
  cm: CostModel,
  value: (doc: TreeDocument) => Float32Array,
  options: PlanOptions = DEFAULT_PLAN,
): Plan {
  const work = state.map((es) => es.slice());
  const values = state.map((es) => (es.length > 0 && es[0].doc.tokenCount > 0 ? value(es[0].doc) : new Float32Array(0)));
  let top = 0;
  for (const v of values) for (let b = 0; b < v.length; b++) top = Math.max(top, v[b]);
  const plan: Plan = { blocks: new Map(), picks: 0, used, folded: new Set() };
  if (top <= 0) return plan;
  // Candidates: the best blocks by value, in a deterministic order.
  let cand: { d: number; b: number; v: number; cost: number | null }[] = [];
  values.forEach((v, d) => {
    for (let b = 0; b < v.length; b++) if (v[b] > options.minShare * top) cand.push({ d, b, v: v[b], cost: null });
  });
  cand.sort((x, y) => y.v - x.v || x.d - y.d || x.b - y.b);
  cand = cand.slice(0, options.maxCandidates);
  // A pick changes the cost of blocks in its own group and the groups beside it (run markers at the
  // edges), or of the whole document when it was at its root line: only those are re-costed.
  const staleDoc = new Set(values.map((_, d) => d));
  const staleGroup = new Set<number>(); // d * 2^21 + group
  const docValue = values.map((v) => v.reduce((a, x) => Math.max(a, x), 0));
  const picked = new Set<number>();
  while (cand.length > 0) {
    let best = -1;
    let bestPriority = -Infinity;
    for (let k = 0; k < cand.length; k++) {
      const c = cand[k];
      if (staleDoc.has(c.d) || staleGroup.has(c.d * 2097152 + Math.floor(c.b / GROUP_BLOCKS))) c.cost = marginalCost(cm, work[c.d], c.b);
      if (c.cost === null || plan.used + c.cost > budget) continue;
      const priority = c.v / Math.max(1, c.cost) ** options.alpha;
      if (priority > bestPriority) { bestPriority = priority; best = k; }
    }
    staleDoc.clear();
    staleGroup.clear();
    if (best < 0) {
      // Nothing fits: a whole document that matters less than the best candidate folds to its root
      // line, least relevant first, and its candidates go (re-opening it would cost its whole map).
      const want = cand.reduce((m, c) => Math.max(m, c.v), 0);
      let fold = -1;
      work.forEach((es, d) => {
        if (picked.has(d) || es.length === 0 || es[0].lod === 3 || es.some((e) => e.held || e.lod < 2)) return;
        if (docValue[d] >= want) return;
        if (fold < 0 || docValue[d] < docValue[fold] || (docValue[d] === docValue[fold] && cm.documentCost(es) > cm.documentCost(work[fold]))) fold = d;
      });
      if (fold < 0) break;
      const root = [makeEntry(work[fold][0].doc, 3, 0)];
      plan.used += cm.documentCost(root) - cm.documentCost(work[fold]);
      work[fold] = root;
      plan.folded.add(work[fold][0].doc.id);
      cand = cand.filter((c) => c.d !== fold);
      continue;
    }
    const c = cand[best];
    cand.splice(best, 1);
    if (work[c.d].length === 1 && work[c.d][0].lod === 3) staleDoc.add(c.d);
    const g = Math.floor(c.b / GROUP_BLOCKS);
    for (let k = g - 1; k <= g + 1; k++) staleGroup.add(c.d * 2097152 + k);
    plan.used += expandTo(cm, work[c.d], c.b);
    const id = work[c.d][0].doc.id;
    let m = plan.blocks.get(id);
    if (!m) plan.blocks.set(id, (m = new Map()));
    m.set(c.b, plan.picks++);
    picked.add(c.d);
  }
  return plan;
}

/** Allocator scores that realise a plan (see the module comment). */
export function planScores(plan: Plan, entries: Entry[], tauExpand: number): Float32Array {
  const out = new Float32Array(entries.length);
  const n = Math.max(1, plan.picks);
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i];
    const m = plan.blocks.get(e.doc.id);
    // Earliest pick inside the entry's span, if any.
    let first = Infinity;
    if (m) {
      if (e.lod === 0 || e.lod === 1) first = m.get(e.index) ?? Infinity;
      else {
        const b0 = Math.floor(e.start / BLOCK_TOKENS);
        const b1 = Math.ceil(e.end / BLOCK_TOKENS);
        if (b1 - b0 < m.size) {
          for (let b = b0; b < b1; b++) { const p = m.get(b); if (p !== undefined && p < first) first = p; }
        } else {
          for (const [b, p] of m) if (b >= b0 && b < b1 && p < first) first = p;
        }
      }
    }
    if (plan.folded.has(e.doc.id)) out[i] = e.lod === 3 ? 0 : -1;
    else if (e.lod === 0) out[i] = first < Infinity ? 1 : e.held ? 0 : -1;
    else if (first < Infinity) out[i] = tauExpand + 0.05 + (0.9 - tauExpand) * (1 - first / n);
    else out[i] = 0;
  }
  return out;
}

const DEFINITION_LINE = /^([ \t]*)(?:export\s+)?(?:default\s+)?(?:async\s+)?(?:def|class|function|interface|struct|enum|fn|func)\s+[A-Za-z_$]/gm;

/** Definition scopes of a document, as [definition block, last block of its body] pairs (computed once). */
const scopeCache = new WeakMap<TreeDocument, Uint32Array>();

function definitionScopes(doc: TreeDocument): Uint32Array {
  let out = scopeCache.get(doc);
  if (out) return out;
  const pairs: number[] = [];
  const text = doc.text;
  const blockAt = (c: number) => {
    let lo = 0;
    let hi = doc.nBlocks - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (doc.blockChar[mid] <= c) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  };
  for (const m of text.matchAll(DEFINITION_LINE)) {
    const indent = m[1].replace(/\t/g, '    ').length;
    // The body: following lines until a non-blank line indented no deeper (Python), or a line that
    // closes at the definition's indentation (brace languages end with `}` there: included).
    let pos = text.indexOf('\n', m.index!);
    let end = pos < 0 ? text.length : pos;
    while (pos >= 0 && pos + 1 < text.length) {
      const next = text.indexOf('\n', pos + 1);
      const line = text.slice(pos + 1, next < 0 ? text.length : next);
      if (line.trim() !== '') {
        const ind = (/^[ \t]*/.exec(line)![0]).replace(/\t/g, '    ').length;
        if (ind <= indent) {
          if (/^[ \t]*[}\])]/.test(line)) end = next < 0 ? text.length : next;
          break;
        }
        end = next < 0 ? text.length : next;
      }
      pos = next;
    }
    const b0 = blockAt(m.index! + m[1].length);
    const b1 = blockAt(Math.max(m.index!, end - 1));
    if (b1 > b0) pairs.push(b0, b1);
  }
  out = Uint32Array.from(pairs);
  scopeCache.set(doc, out);
  return out;
}

/** Each definition block gets `share` of the best value in its body, if that is more than its own. */
function liftScopes(doc: TreeDocument, v: Float32Array, share: number): void {
  const scopes = definitionScopes(doc);
  const src = Float32Array.from(v);
  for (let k = 0; k < scopes.length; k += 2) {
    const b0 = scopes[k];
    let best = 0;
    for (let b = b0 + 1; b <= scopes[k + 1]; b++) best = Math.max(best, src[b]);
    if (share * best > v[b0]) v[b0] = share * best;
  }
}

