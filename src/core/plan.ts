/**
 * Budget-aware focus plan for the lexical scorer: which blocks to bring to LOD0, priced per token.
 *
 * Bringing a block to exact text costs its 32 tokens, and — the first time a group is entered — the
 * group's 32 block-gist entries that replace its one group line (and, for a document collapsed to its
 * root, the document's header and group lines). A plan picks blocks greedily by value / marginal cost^α
 * until nothing more fits under the budget, so it spends the budget on exact text of the best blocks in
 * few groups rather than on opening many groups for one block each. It is computed once per refocus
 * from the allocator's starting state with the allocator's own cost model, so what it picks fits.
 * Every document it may fold starts at its root line, so opening a large file for one function is
 * priced at its whole map; when a better block does not fit, root lines without evidence give up their
 * names for their bare paths; the budget left at the end gives the maps back, most relevant first.
 *
 * `planScores` then turns the plan into allocator scores: every node on the way to a planned block
 * scores above τ_expand (earlier picks higher), what the plan leaves as it is scores 0 (neither expands
 * nor collapses), and anything the plan would not show at that detail scores -1. The allocator's own
 * rules (legality, budget, cooldown) are unchanged: the plan only decides what is worth it. (The engine
 * lifts N_diff for the plan: it is a whole target, not a step-by-step guess.)
 */
import { GROUP_BLOCKS } from './constants';
import { makeEntry, type Entry } from './entry';
import { EVIDENCE_KERNEL, smoothBlocks } from './features';
import { children } from './focus';
import type { CostModel } from './cost';
import { bm25Term, knownTermId, scoreRanges, terms, type QueryTerms } from './lexical';
import { outline, unitChain } from './outline';
import { lineOf } from './tokenizer';
import { definitionLines, definitionName, definitionScopes, nameParts, sectionRanges } from './structure';
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
  /**
   * A definition line also gets this share of its whole scope's BM25 (the definition and its body
   * scored as one text, the way a chunk retriever sees a function), when that is more. 0 = off.
   */
  scopeText: number;
  /**
   * A definition line's own BM25 (the line scored as a short text — its name and parameters — the way a
   * line retriever sees it) times this is added to its block's value: a block's BM25 dilutes the name
   * that answers a code query among the body's words. 0 = off.
   */
  defLine: number;
  /**
   * In that line score, a query word the line lacks but the definition's name holds (getmembers for
   * "members", is_symlink for "symbolic": see nameHolds) counts this share of an occurrence. Python
   * names glue words and abbreviate them. 0 = off.
   */
  defName: number;
  /**
   * Section prior: every block gets this share of the document's best block value, scaled by how well
   * its section (structure.ts: a session, a heading's span, a top-level definition, ≤ 512 tokens) matches
   * the query as one text relative to the document's best section. Evidence is often a turn that answers
   * in other words inside a session the question's words point to. 0 = off.
   */
  section: number;
  /**
   * Fill mode: plan on top of another scorer's focus (LensNet's), keeping what it shows. Nothing is
   * folded at the start, and exact text the plan did not pick stays exact.
   */
  fill?: boolean;
  /** Show picked blocks as parts of their units (bundleVariants): 0 = the block alone. */
  units: number;
  /** A document of at most this share of the budget is shown whole when one of its blocks is picked (0 = never). */
  wholeDoc: number;
  /**
   * Block values of supporting files — tests, docs, examples, benchmarks (isSupportFile) — are scaled
   * by this: they repeat the names of the code they exercise or describe, and took the budget that the
   * code itself needed. 1 = off.
   */
  supportShare: number;
  /** Kinds of enclosing units whose head line is shown with a pick: 'code' (classes and functions), 'all' (sections, sessions too), 'none'. */
  heads: 'code' | 'all' | 'none';
  /**
   * A code file's prologue — its lines before the first definition: module docstring, imports, module
   * constants — gets this share of the file's best block value (0 = off): what a file imports is what an
   * edit must know, and a change that adds a dependency or a constant changes those lines. As a value,
   * not an attachment, it is shown for the files that matter most when the budget has room for it.
   */
  prologueValue: number;
  /**
   * In a chat transcript, when the query names some of its speakers but not all, the turns of the
   * others are scaled by this: "What does Melanie do to destress?" is answered by Melanie's turns (96%
   * of the evidence turns of such questions in the development conversations). 1 = off.
   */
  speakerShare: number;
  /**
   * A chat session whose heading line (`## Session 4 (10:37 am on 27 June, 2023)`) holds query words
   * lifts its blocks by up to this share of the document's best block value, in proportion to the words'
   * IDF beyond what every session's heading holds: "When did Melanie go camping in June?" is asked of the
   * sessions dated June. 0 = off.
   */
  sessionHead: number;
}

/**
 * Defaults, tuned on development data only (LoCoMo 26, 30, 41; Python's urllib, http, wsgiref; issue
 * localization on click, httpx, attrs), for the answerable metrics (whole turns, whole functions, the
 * lines a change touched). With units: alpha 0.5 → 0.3 (a unit costs more than a block, and a cheaper
 * exponent lets the plan afford it) took whole-turn recall at 2048 from 76.8 to 78.1 and whole functions
 * on urllib/http from 69.4/67.9 to 72.6/71.8; heads 'code' (not sessions) 73.9 → 76.8 on LoCoMo with
 * session names on map lines, equal without; wholeDoc 0.3 took issue localization (lines at 16k, 14
 * instances each of httpx/click/attrs) from 19 to 23 of 42 and left the code suites unchanged.
 * supportShare 0.25: issue localization on the dev split (120 instances), lines at 8k/16k/32k from
 * 32.5/47.5/65.8 to 44.2/64.2/83.3 (0.4: 43.3/63.3/82.5; 0.15: 45.0/65.8/86.7 — kept at 0.25 so a
 * question about tests still finds them); the code and LoCoMo suites hold no such files. wholeDoc 0.3 → 0.8:
 * issue localization (dev split), lines at 8k/16k/32k 44.2/64.2/83.3 → 50.0/67.5/85.0 (0.6: 50.0/65.8/84.2; 0.5:
 * 16k unchanged); whole functions (urllib, http, wsgiref) and whole turns (LoCoMo 26, 30, 41) at 1k/2k/8k equal but
 * for wsgiref at 8k 96.9 → 100. prologueValue 0.3 (was off): issue lines at 8k/16k/32k 50.0/67.5/85.0 →
 * 52.5/69.2/85.8, files 80.8/87.5/88.3 → 80.8/86.7/88.3 (0.15: 50.0/69.2/85.0; 0.6: 52.5/69.2 at 8k/16k;
 * attaching the prologue to a file's first pick instead, up to 2–5% of the budget: 49.2–51.7/69.2–70.8/85.8 with
 * files at 16k 83.3); whole functions (urllib, http, wsgiref) at 1k/2k/8k: one query fewer at urllib 2k, http 8k
 * and wsgiref 8k, one more at wsgiref 1k. speakerShare 0.7 and sessionHead 0.25 (round 12, both off before): whole
 * turns on LoCoMo 26, 30, 41 at 2k 78.1 → 79.9 (speakers; 0.5: 79.4, 0.3: 79.1) → 81.7 (session headings; 0.1:
 * 80.9, 0.5: 81.7); the code and issue suites hold no transcripts. On the test conversations (42, 43) the two
 * together moved 75.9 → 76.2 (speakers alone: 2 gained, 2 lost). Tried and left out: a turn shown with its
 * question or its reply (or both neighbours) as a preferred variant, 78.1 → 78.3 at best, 78.6 with the speakers.
 * Round 15, left out: pseudo-relevance feedback (RM3-style: the words of the best 3–10 blocks, 5–20 of them, added
 * at 0.05–0.3 of their IDF), whole turns at 2k 81.7 → 79.4–80.7 on the development conversations; a turn-level
 * BM25 with the same feedback had gained 67.6 → 71.3 (top 30 turns), so the plan's section, session and speaker
 * lifts already carry what the feedback words found, and the feedback adds drift. WordNet synonyms, hyponyms and
 * derived forms on that turn-level BM25: +1.6 at best (69.2), not tried further.
 */
export const DEFAULT_PLAN: PlanOptions = { alpha: 0.3, minShare: 0.02, maxCandidates: 400, kernel: null, lineSpread: 0.6, scopeLift: 2, scopeText: 4, defLine: 3, defName: 1, section: 0.25, units: 1, heads: 'code', wholeDoc: 0.8, supportShare: 0.25, prologueValue: 0.3, speakerShare: 0.7, sessionHead: 0.25 };

/**
 * Block values for the plan: smoothed BM25, spread across blocks that share a line. `support`: the
 * document is a test, doc or example file (isSupportFile of its workspace path).
 */
export function blockValues(doc: TreeDocument, raw: Float32Array, options: PlanOptions, q?: QueryTerms, support = false): Float32Array {
  // Most documents of a large tree hold no query word: nothing to smooth, lift or spread.
  if (!raw.some((x) => x > 0)) return raw;
  return combineValues(doc, valueParts(doc, raw, options, q), options, ALL_LIFTS, support);
}

/**
 * What blockValues adds up, each computed once: the smoothed BM25, the section prior's and the
 * definition lines' increments (in the order they are added, so a sum is the same float as before),
 * and the scope scores the scope lift takes its maximum with. LensNet v2 asks for the values with one
 * lift off at a time (valueModel.ts): from the parts that is three cheap combinations, not three more
 * passes over the document's sections, scopes and definition lines.
 */
export interface ValueParts {
  readonly smooth: Float32Array;
  /** The section prior's and the session headings' increments, in the order they are added. */
  readonly sections: readonly RangeAdds[];
  /** Definition scopes (first, last block pairs) and each one's whole-scope BM25 times scopeText (null: off). */
  readonly scopes: Uint32Array | null;
  readonly scopeText: Float32Array | null;
  readonly defAt: Int32Array;
  readonly defAdd: Float64Array;
  /** First and last blocks of the turns by speakers the query does not name, when it names another (PlanOptions.speakerShare). */
  readonly others: Uint32Array | null;
}

/** Which of the plan's lifts a combination of ValueParts applies. */
/** Increments to runs of blocks: `add[k]` to every block from `ranges[2k]` to `ranges[2k + 1]`. */
export interface RangeAdds {
  readonly ranges: Uint32Array;
  readonly add: Float64Array;
}

export interface Lifts {
  section: boolean;
  scope: boolean;
  def: boolean;
}
export const ALL_LIFTS: Lifts = { section: true, scope: true, def: true };

/** The parts of a document's block values (see ValueParts). */
export function valueParts(doc: TreeDocument, raw: Float32Array, options: PlanOptions, q?: QueryTerms): ValueParts {
  const smooth = smoothBlocks(raw, options.kernel ?? EVIDENCE_KERNEL);
  const sections: RangeAdds[] = [];
  if (options.section > 0 && q) sectionPrior(doc, raw, q, options.section, sections);
  if (options.sessionHead > 0 && q) sessionHeadAdds(doc, raw, q, options.sessionHead, sections);
  const def = options.defLine > 0 && q ? definitionLineAdds(doc, q, options.defLine, options.defName) : NO_ADDS;
  let scopes: Uint32Array | null = null;
  let scopeText: Float32Array | null = null;
  if (options.scopeLift > 0 || (options.scopeText > 0 && q)) {
    scopes = definitionScopes(doc);
    if (options.scopeText > 0 && q) {
      scopeText = scoreRanges(doc.postings, q, scopes, SCOPE_LENGTH * doc.postings.totalLength() / Math.max(1, doc.nBlocks));
    }
  }
  const others = options.speakerShare !== 1 && q ? unnamedSpeakerTurns(doc, q) : null;
  return { smooth, sections, scopes, scopeText, defAt: def.at, defAdd: def.add, others };
}

/**
 * The session heading lift (PlanOptions.sessionHead) as increments to every block of each session whose
 * heading holds query words: `weight` × the best raw value × the heading's IDF sum of query words above
 * the lowest session's, over the highest's. Nothing when the document has no sessions or every heading
 * matches alike (a year every heading names lifts nothing).
 */
function sessionHeadAdds(doc: TreeDocument, raw: Float32Array, q: QueryTerms, weight: number, out: RangeAdds[]): void {
  const { sessions } = chatStructure(doc);
  if (sessions.length < 2) return;
  const idf = new Map(q.terms.map((t, i) => [t, q.idf[i]]));
  const sc = sessions.map((s) => {
    let x = 0;
    for (const t of s.heading) x += idf.get(t) ?? 0;
    return x;
  });
  let top = 0;
  let low = Infinity;
  for (const x of sc) { top = Math.max(top, x); low = Math.min(low, x); }
  if (top <= low) return;
  let best = 0;
  for (const x of raw) best = Math.max(best, x);
  const ranges: number[] = [];
  const add: number[] = [];
  sessions.forEach((s, k) => {
    if (sc[k] <= low) return;
    ranges.push(s.first, s.last);
    add.push((weight * best * (sc[k] - low)) / (top - low));
  });
  out.push({ ranges: Uint32Array.from(ranges), add: Float64Array.from(add) });
}

/** A transcript's sessions (blocks, heading terms) and turns (blocks, speaker), found once per document version. */
interface ChatStructure {
  sessions: { first: number; last: number; heading: Set<string> }[];
  /** Per speaker: the search terms of their name and the first and last blocks of their turns. */
  speakers: Map<string, { terms: string[]; blocks: number[] }>;
}
const chatCache = new WeakMap<TreeDocument, ChatStructure>();
function chatStructure(doc: TreeDocument): ChatStructure {
  let c = chatCache.get(doc);
  if (c) return c;
  const o = outline(doc);
  c = { sessions: [], speakers: new Map() };
  for (let u = 0; u < o.units.length; u++) {
    const unit = o.units[u];
    if (unit.kind === 'session') {
      const l = unit.line;
      const line = doc.text.slice(doc.lines[l], l + 1 < doc.lines.length ? doc.lines[l + 1] : doc.textLength);
      c.sessions.push({ first: o.first[u], last: o.last[u], heading: new Set(terms(line)) });
    } else if (unit.kind === 'turn' && unit.name) {
      let s = c.speakers.get(unit.name);
      if (!s) c.speakers.set(unit.name, (s = { terms: terms(unit.name), blocks: [] }));
      s.blocks.push(o.first[u], o.last[u]);
    }
  }
  chatCache.set(doc, c);
  return c;
}

/**
 * Block ranges of the turns whose speaker the query does not name, when it names at least one speaker
 * of the transcript and not all; null otherwise (not a transcript, no speaker named, or every one).
 */
function unnamedSpeakerTurns(doc: TreeDocument, q: QueryTerms): Uint32Array | null {
  const { speakers } = chatStructure(doc);
  if (speakers.size < 2) return null;
  const wanted = new Set(q.terms);
  const unnamed = [...speakers.values()].filter((s) => s.terms.length === 0 || !s.terms.every((t) => wanted.has(t)));
  if (unnamed.length === 0 || unnamed.length === speakers.size) return null;
  return Uint32Array.from(unnamed.flatMap((s) => s.blocks));
}

/** The block values from their parts with the chosen lifts, the line spread and the support share. */
export function combineValues(doc: TreeDocument, parts: ValueParts, options: PlanOptions, lifts: Lifts, support: boolean): Float32Array {
  const v = Float32Array.from(parts.smooth);
  if (lifts.section) addSections(v, parts.sections);
  if (lifts.scope && parts.scopes) liftScopes(v, parts.scopes, options.scopeLift, options.scopeText, parts.scopeText);
  if (lifts.def) for (let k = 0; k < parts.defAt.length; k++) v[parts.defAt[k]] += parts.defAdd[k];
  if (parts.others) for (let k = 0; k < parts.others.length; k += 2) for (let b = parts.others[k]; b <= parts.others[k + 1]; b++) v[b] *= options.speakerShare;
  const out = options.lineSpread > 0 ? spreadLines(doc, v, options.lineSpread) : v;
  if (options.supportShare !== 1 && support) for (let b = 0; b < out.length; b++) out[b] *= options.supportShare;
  return out;
}

/** The section prior's and session headings' increments, added to `v` in their order. */
function addSections(v: Float32Array, sections: readonly RangeAdds[]): void {
  for (const { ranges, add } of sections) {
    for (let k = 0; k < add.length; k++) {
      const last = Math.min(ranges[2 * k + 1], v.length - 1);
      for (let b = ranges[2 * k]; b <= last; b++) v[b] += add[k];
    }
  }
}

/** Per block of a document, the values with one lift left out (valueModel.ts: what each lift adds). */
export interface LiftsOff {
  noSection: Float32Array;
  noScope: Float32Array;
  noDef: Float32Array;
}

/**
 * combineValues with one lift off (section, scope, def in turn), only at the blocks `at` (ascending):
 * `noSection[i]` is `combineValues(doc, parts, options, { ...ALL_LIFTS, section: false }, support)[at[i]]`,
 * the same float, and so on. LensNet v2 needs them at its ≤ 1,000 scored blocks, not at every block of
 * every document it touches (three whole-document passes each). A lift with no parts in the document
 * gives the value with every lift (`all`, at those blocks).
 *
 * Each step is the whole-array one, at one block: the section adds in their order (computed once for the
 * document), the scope lifts whose head the block is (over their bodies before any lift), the definition
 * lines' adds, the unnamed speakers' share, the line spread over the block's line, the support share.
 */
export function liftsOffAt(doc: TreeDocument, parts: ValueParts, options: PlanOptions, support: boolean, at: ArrayLike<number>, all: Float32Array): LiftsOff {
  const n = parts.smooth.length;
  const smooth = parts.smooth;
  const hasSections = parts.sections.length > 0;
  const hasScopes = !!parts.scopes && parts.scopes.length > 0;
  const hasDefs = parts.defAt.length > 0;
  // After the section adds, as combineValues's first step makes it (the only whole-document pass here).
  let sectioned: Float32Array = smooth;
  if (hasSections) addSections((sectioned = Float32Array.from(smooth)), parts.sections);
  // Per block asked for, the multi-block lines holding it (start index into `spans`; the last piece of one
  // long line and the first of the next can share a block), found in one walk.
  const spans = options.lineSpread > 0 ? lineSpans(doc) : NO_SPANS;
  const lineOf: (readonly number[])[] = [];
  const needed = new Set<number>();
  for (let i = 0, s = 0; i < at.length; i++) {
    const x = at[i];
    while (s < spans.length && spans[s + 1] < x) s += 2;
    let held: number[] | undefined; // most blocks lie on no multi-block line: no array for them
    for (let j = s; j < spans.length && spans[j] <= x; j += 2) if (spans[j + 1] >= x) (held ??= []).push(j);
    lineOf.push(held ?? NO_KEYS);
    // The blocks whose values are read: those asked for and the other blocks of their lines.
    needed.add(x);
    for (const j of lineOf[i]) for (let y = spans[j]; y <= spans[j + 1]; y++) needed.add(y);
  }
  // Scopes and definition-line adds by the block they lift, in their order (only for the blocks read).
  const scopesAt = hasScopes ? indexAt(parts.scopes!, 2, needed) : EMPTY_INDEX;
  const defsAt = indexAt(parts.defAt, 1, needed);
  // How many unnamed speakers' turn ranges hold each block (each multiplies once, as in combineValues).
  let others: Uint8Array | null = null;
  if (parts.others) {
    others = new Uint8Array(n);
    for (let k = 0; k < parts.others.length; k += 2) for (let b = parts.others[k]; b <= parts.others[k + 1] && b < n; b++) others[b]++;
  }
  // A scope's body maximum over the array its lift reads (before any lift), cached per array.
  const bodyMax = new Map<Float32Array, Map<number, number>>();
  const scopeBest = (src: Float32Array, k: number): number => {
    let cache = bodyMax.get(src);
    if (!cache) bodyMax.set(src, (cache = new Map()));
    let best = cache.get(k);
    if (best === undefined) {
      best = 0;
      for (let b = parts.scopes![k] + 1; b <= parts.scopes![k + 1]; b++) best = Math.max(best, src[b]);
      cache.set(k, best);
    }
    return best;
  };
  // The value of block y before the line spread, with the given lifts.
  const before = (y: number, lifts: Lifts): number => {
    const src = lifts.section ? sectioned : smooth;
    let v = src[y];
    if (lifts.scope && hasScopes) {
      for (const k of scopesAt.get(y) ?? NO_KEYS) {
        const lifted = Math.max(options.scopeLift * scopeBest(src, k), parts.scopeText ? options.scopeText * parts.scopeText[k >> 1] : 0);
        if (lifted > v) v = Math.fround(lifted);
      }
    }
    if (lifts.def) for (const k of defsAt.get(y) ?? NO_KEYS) v = Math.fround(v + parts.defAdd[k]);
    if (others) for (let c = others[y]; c > 0; c--) v = Math.fround(v * options.speakerShare);
    return v;
  };
  const share = options.supportShare !== 1 && support ? options.supportShare : 1;
  const valuesAt = (lifts: Lifts): Float32Array => {
    const out = new Float32Array(at.length);
    for (let i = 0; i < at.length; i++) {
      const x = at[i];
      let v = before(x, lifts);
      // The spread over every multi-block line holding x takes the largest.
      let spread = 0;
      for (const j of lineOf[i]) {
        let best = 0;
        for (let y = spans[j]; y <= spans[j + 1]; y++) best = Math.max(best, y === x ? v : before(y, lifts));
        spread = Math.max(spread, options.lineSpread * best);
      }
      if (spread > v) v = Math.fround(spread);
      out[i] = share !== 1 ? Math.fround(v * share) : v;
    }
    return out;
  };
  const allAt = (): Float32Array => Float32Array.from(at, (b) => all[b]);
  return {
    noSection: hasSections ? valuesAt({ section: false, scope: true, def: true }) : allAt(),
    noScope: hasScopes ? valuesAt({ section: true, scope: false, def: true }) : allAt(),
    noDef: hasDefs ? valuesAt({ section: true, scope: true, def: false }) : allAt(),
  };
}

const NO_KEYS: readonly number[] = [];
const NO_SPANS = new Uint32Array(0);
const EMPTY_INDEX: ReadonlyMap<number, number[]> = new Map();

/** The positions k (every `stride`-th, in order) of `keys` whose key is in `wanted`, by key. */
function indexAt(keys: ArrayLike<number>, stride: number, wanted: ReadonlySet<number>): Map<number, number[]> {
  const out = new Map<number, number[]>();
  for (let k = 0; k < keys.length; k += stride) {
    if (!wanted.has(keys[k])) continue;
    const list = out.get(keys[k]);
    if (list) list.push(k);
    else out.set(keys[k], [k]);
  }
  return out;
}

const NO_ADDS = { at: new Int32Array(0), add: new Float64Array(0) };

/** Every line spanning several blocks shares its best block's value (times `share`) among them. */
function spreadLines(doc: TreeDocument, v: Float32Array, share: number): Float32Array {
  const out = Float32Array.from(v);
  const spans = lineSpans(doc);
  for (let k = 0; k < spans.length; k += 2) {
    const b = spans[k];
    const e = spans[k + 1];
    let best = 0;
    for (let x = b; x <= e; x++) best = Math.max(best, v[x]);
    for (let x = b; x <= e; x++) out[x] = Math.max(out[x], share * best);
  }
  return out;
}

/** First and last block of every line that spans several blocks, found once per document. */
const spanCache = new WeakMap<TreeDocument, Uint32Array>();
function lineSpans(doc: TreeDocument): Uint32Array {
  let spans = spanCache.get(doc);
  if (spans) return spans;
  const out: number[] = [];
  const nb = doc.nBlocks;
  const lines = doc.lines;
  let b = 0;
  for (let l = 0; l < lines.length; l++) {
    const c0 = lines[l];
    const c1 = l + 1 < lines.length ? lines[l + 1] : doc.textLength;
    while (b + 1 < nb && doc.blockChar[b + 1] <= c0) b++;
    let e = b;
    while (e + 1 < nb && doc.blockChar[e + 1] < c1) e++;
    if (e > b) out.push(b, e);
  }
  spanCache.set(doc, (spans = Uint32Array.from(out)));
  return spans;
}

/** Directories whose files support code rather than being it (compared case-insensitively). */
const SUPPORT_DIRS = new Set(['test', 'tests', 'testing', '__tests__', 'spec', 'specs', 'docs', 'doc', 'examples', 'example', 'bench', 'benchmark', 'benchmarks', 'fixtures', 'changelog.d', 'newsfragments']);
/** Release histories (CHANGELOG.md, CHANGES, HISTORY.rst, NEWS): they retell every change in the words of its description. */
const HISTORY_FILE = /^(change[-_ ]?log|changes|history|news|releases?)(\.(md|markdown|rst|txt|adoc))?$/i;
/** File names of tests (test_x.py, x_test.go, x.test.ts, x.spec.js, conftest.py). */
const TEST_FILE = /^(test_.*\.py|.*_test\.(py|go|rb)|conftest\.py|.*\.(test|spec)\.[cm]?[jt]sx?)$/i;

/** Whether a workspace path is a test, doc, example, benchmark or release-history file (PlanOptions.supportShare). */
export function isSupportFile(path: string): boolean {
  const parts = path.split(/[\\/]/);
  const name = parts.pop() ?? '';
  return HISTORY_FILE.test(name) || TEST_FILE.test(name) || parts.some((p) => SUPPORT_DIRS.has(p.toLowerCase()));
}

export interface Plan {
  /** Planned on top of another scorer's focus (PlanOptions.fill): what it does not pick stays as it is. */
  fill: boolean;
  /** Planned LOD0 blocks per document id, with their pick order (0 = first). */
  blocks: Map<string, Map<number, number>>;
  picks: number;
  /** Estimated tokens of the planned working context. */
  used: number;
  /** Documents open in the starting state that the plan leaves at their root line (their map did not fit). */
  folded: Set<string>;
  /** Documents at their root line in the starting state that the plan opens to their map (LOD2) with the budget left. */
  opened: Set<string>;
  /** Documents whose root line the plan shows as a bare path, to make room for evidence. */
  bared: Set<string>;
}

/** Documents at their root line in the starting state that the plan tries to reopen with the budget left. */
const REOPEN_TRIES = 32;
/** Budget left below which no map is worth costing (a header line and one group gist). */
const MIN_REOPEN = 16;

/**
 * Index of the entry holding token `t` (entries in order, covering the document), searched from entry
 * `from` on (one whose start is at most `t`: the answer is the same as from 0).
 */
function entryAt(entries: Entry[], t: number, from = 0): number {
  let lo = from;
  let hi = entries.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if (entries[mid].start <= t) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** Applies the expansions that bring block b to LOD0; returns the cost added. */
function expandTo(cm: CostModel, entries: Entry[], b: number): number {
  const t = entries[0].doc.blockTok[b];
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
 * A unit up to this many tokens opens whole when one of its blocks is picked, or up to this share of the
 * budget when that is more; a larger one shows its head, the picked block and its last block.
 */
const WHOLE_UNIT_TOKENS = 640;
const WHOLE_UNIT_SHARE = 0.25;
/** A unit's head as shown: its first line to the end of its signature and docstring, at most this many lines past its name line. */
const HEAD_LINES = 4;

/** Unit kinds whose head line PlanOptions.heads 'code' shows. */
const CODE_UNITS: ReadonlySet<string> = new Set(['class', 'interface', 'function', 'method', 'type']);

/** Candidate blocks kept per unit (the best by value): more would only repeat its whole-unit variant. */
const PER_UNIT = 3;

function blockRange(b0: number, b1: number): number[] {
  const out: number[] = [];
  for (let b = b0; b <= b1; b++) out.push(b);
  return out;
}

/**
 * The distinct values of `v` ascending (below `limit`): what `[...new Set(v)].sort((x, y) => x - y)`
 * gives, without a Set or a comparator sort (variants are runs of blocks with a few head blocks after
 * them: an insertion sort moves only those).
 */
function distinctAscending(v: readonly number[], limit = Infinity): number[] {
  const a = v.slice();
  for (let i = 1; i < a.length; i++) {
    const x = a[i];
    let j = i - 1;
    while (j >= 0 && a[j] > x) { a[j + 1] = a[j]; j--; }
    a[j + 1] = x;
  }
  const out: number[] = [];
  for (let i = 0; i < a.length; i++) if ((i === 0 || a[i] !== a[i - 1]) && a[i] < limit) out.push(a[i]);
  return out;
}

function sameBlocks(x: readonly number[], y: readonly number[]): boolean {
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

/** Every block of a document, ascending: one array per document, shared by the whole-document variant of all its candidates. */
const allBlocksOf = new WeakMap<TreeDocument, readonly number[]>();
function allBlocks(doc: TreeDocument): number[] {
  let all = allBlocksOf.get(doc);
  if (!all) allBlocksOf.set(doc, (all = blockRange(0, doc.nBlocks - 1)));
  return all as number[];
}

/**
 * The ways to show block b as part of its unit (DESIGN.md invariant 8), preferred first: the whole
 * innermost unit when it is small enough; its head (first line through the signature and the start of
 * its docstring), the block and, for a function, its last block; the block alone. Each carries the head
 * line of every enclosing unit (class, section). A chat turn is shown whole (or, when even that is over
 * the budget, as the block alone).
 */
function bundleVariants(doc: TreeDocument, b: number, budget: number, options: PlanOptions): number[][] {
  const chain = unitChain(doc, b);
  const whole = options.wholeDoc > 0 && doc.tokenCount <= options.wholeDoc * budget ? [allBlocks(doc)] : [];
  if (chain.length === 0 || !options.units) {
    const line = wholeLine(doc, b);
    return line.length > 1 ? [...whole, line, [b]] : [...whole, [b]];
  }
  const o = outline(doc);
  const u = chain[0];
  const unit = o.units[u];
  const heads = options.heads === 'none' ? [] : chain.slice(1).filter((a) => options.heads === 'all' || CODE_UNITS.has(o.units[a].kind)).map((a) => o.nameBlock[a]);
  const tokens = doc.blockTok[o.last[u] + 1] - doc.blockTok[o.first[u]];
  const out: number[][] = [];
  if (tokens <= Math.max(WHOLE_UNIT_TOKENS, WHOLE_UNIT_SHARE * budget)) out.push([...blockRange(o.first[u], o.last[u]), ...heads]);
  if (unit.kind !== 'turn') {
    const headLine = Math.min(unit.headEnd, unit.line + HEAD_LINES, doc.lines.length - 1);
    const headEnd = Math.min(doc.blockAtChar(doc.lines[headLine]), o.last[u]);
    const end = unit.kind === 'function' || unit.kind === 'method' ? [o.last[u]] : [];
    out.push([...blockRange(o.first[u], headEnd), b, ...end, ...heads]);
  }
  // A turn is shown whole or not at all (unless it alone is over the budget's whole-unit share).
  if (unit.kind !== 'turn' || (out.length === 0 && whole.length === 0)) out.push([b, ...heads]);
  // A piece of a line over 32 tokens brings the rest of its line; the piece alone is the last resort
  // (not for a turn: it is shown whole or not at all).
  const lines = out.map((v) => wholeLines(doc, v));
  if (unit.kind !== 'turn' && lines.some((v, i) => v.length > out[i].length)) lines.push([b, ...heads]);
  // Distinct, ascending, and distinct from each other.
  const distinct: number[][] = [];
  for (const v of lines) {
    const d = distinctAscending(v, doc.nBlocks);
    if (!distinct.some((x) => sameBlocks(x, d))) distinct.push(d);
  }
  // The whole document (one shared array, ascending already) leads; a variant as large is the same.
  return [...whole, ...distinct.filter((v) => whole.length === 0 || v.length < doc.nBlocks)];
}

/**
 * The number of blocks of a code file before its first definition (class, function, …) — imports and
 * module constants, the module docstring — when it has a definition after line 0; 0 otherwise.
 */
const prologueOf = new WeakMap<TreeDocument, number>();
function prologueBlocks(doc: TreeDocument): number {
  let pro = prologueOf.get(doc);
  if (pro !== undefined) return pro;
  const o = outline(doc);
  pro = 0;
  for (let u = 0; u < o.units.length; u++) if (CODE_UNITS.has(o.units[u].kind)) { pro = Math.max(0, o.first[u]); break; }
  prologueOf.set(doc, pro);
  return pro;
}

/** A line cut into more pieces than this (a minified file, a data line) is shown by its pieces alone. */
const MAX_LINE_PIECES = 16;

/**
 * Block b and, when it is a piece of a line over 32 tokens (the only blocks that are not whole lines),
 * the other pieces of that line: exact text starts at a line start and ends at a line end (DESIGN.md
 * invariant 2), unless the line is over MAX_LINE_PIECES blocks.
 */
function wholeLine(doc: TreeDocument, b: number): number[] {
  const lines = doc.lines;
  const startsLine = (x: number): boolean => x === 0 || x >= doc.nBlocks || lines[lineOf(lines, doc.blockChar[x]) - 1] === doc.blockChar[x];
  let b0 = b;
  while (!startsLine(b0) && b - b0 < MAX_LINE_PIECES) b0--;
  let b1 = b + 1;
  while (!startsLine(b1) && b1 - b0 <= MAX_LINE_PIECES) b1++;
  if (!startsLine(b0) || !startsLine(b1)) return [b];
  return blockRange(b0, b1 - 1);
}

/**
 * `blocks` with the rest of every line a piece of which they hold (wholeLine of each block). Only the
 * first and last block of each run of consecutive blocks can be a piece of a line reaching outside the
 * run, so only those are looked at (a whole-unit variant holds up to hundreds of blocks).
 */
function wholeLines(doc: TreeDocument, blocks: number[]): number[] {
  const sorted = distinctAscending(blocks);
  const out: number[] = [];
  for (let k = 0; k < sorted.length; k++) {
    const x = sorted[k];
    const first = k === 0 || sorted[k - 1] !== x - 1;
    const last = k === sorted.length - 1 || sorted[k + 1] !== x + 1;
    if (first || last) out.push(...wholeLine(doc, x));
    else out.push(x);
  }
  return out;
}

/**
 * An estimate of what bringing `blocks` (strictly ascending, as bundleVariants makes them) to LOD0 adds
 * to `entries`, without expanding anything: the document's map when it is at its root line, each group
 * entered (its block gists in place of its group gist), each block's tokens in place of its gist, and run
 * markers per run of new exact blocks. Ranks the candidates; the pick itself is priced exactly
 * (variantCost). Null when the blocks cannot be shown. Asked thousands of times per refocus (a variant
 * can be a whole document): the entry holding each block is searched for only past the previous one's.
 */
function approxCost(cm: CostModel, entries: Entry[], blocks: number[], prices: Prices): number | null {
  const doc = entries[0].doc;
  let cost = 0;
  const atRoot = entries.length === 1 && entries[0].lod === 3;
  if (atRoot) {
    const root = entries[0];
    if (root.fold || doc.tokenCount === 0) return null;
    cost += prices.rootOpen(root);
  }
  const groupsEnd = doc.nLod2 * GROUP_BLOCKS;
  const nLod1 = doc.nLod1;
  const tok = doc.blockTok;
  const gists = cm.gistCosts(doc, 1);
  let markers = -1;
  let group = -1;
  let prev = -2;
  let i = 0;
  for (let k = 0; k < blocks.length; k++) {
    const x = blocks[k];
    let lod: number;
    if (atRoot) lod = x >= nLod1 ? 0 : x < groupsEnd ? 2 : 1;
    else {
      const t = tok[x];
      if (i + 1 < entries.length && entries[i + 1].start <= t) i = entryAt(entries, t, i + 1);
      lod = entries[i].lod;
    }
    if (lod === 0) { prev = -2; continue; }
    if (lod === 2) {
      // Ascending blocks enter each group once, in order.
      const g = Math.floor(x / GROUP_BLOCKS);
      if (g !== group) { group = g; cost += prices.groupOpen(doc, g); }
    }
    const gist = gists[x];
    cost += tok[x + 1] - tok[x] - (gist >= 0 ? gist : cm.gistCost(doc, 1, x));
    if (x !== prev + 1) cost += markers >= 0 ? markers : (markers = cm.exactRunMarkers(doc));
    prev = x;
  }
  return cost;
}

/** Memoised prices of one plan: opening a root line to its map, a group to its block gists, a block gist. */
interface Prices {
  rootOpen(root: Entry): number;
  groupOpen(doc: TreeDocument, g: number): number;
  blockGist(doc: TreeDocument, b: number): number;
}

function prices(cm: CostModel): Prices {
  const roots = new Map<Entry, number>();
  const groups = new Map<TreeDocument, Map<number, number>>();
  const blockGist = (doc: TreeDocument, b: number) => cm.gistCost(doc, 1, b);
  return {
    rootOpen(root) {
      let c = roots.get(root);
      if (c === undefined) roots.set(root, (c = cm.spliceDelta([root], 0, 1, children(root))));
      return c;
    },
    groupOpen(doc, g) {
      let m = groups.get(doc);
      if (!m) groups.set(doc, (m = new Map()));
      let c = m.get(g);
      if (c === undefined) {
        c = -cm.gistCost(doc, 2, g);
        for (let b = g * GROUP_BLOCKS; b < Math.min(doc.nLod1, (g + 1) * GROUP_BLOCKS); b++) c += blockGist(doc, b);
        m.set(g, c);
      }
      return c;
    },
    blockGist,
  };
}

/**
 * A block the plan may bring to LOD0, shown as part of its unit: its variants (bundleVariants), their
 * estimated costs (priced lazily, preferred first) and what follows from them, kept until a pick next
 * to it (its document's version moves) makes them stale.
 */
interface Candidate {
  d: number;
  b: number;
  v: number;
  variants: number[][];
  /** Groups its variants touch: a pick in one of them (or beside it) re-costs it. */
  groups: number[];
  costs: (number | null)[];
  /** priority (value / cost^α) of each priced variant; NaN when it cannot be shown. */
  priority: number[];
  /** The priority of the first variant that fits an empty budget's room (NaN: none, undefined: not known yet). */
  want: number | undefined;
  /** docVersion of its document when last checked. */
  version: number;
}

/** What one plan works on: the state it changes as it picks, and what it keeps between picks. */
interface Planning {
  readonly state: Entry[][];
  readonly budget: number;
  readonly cm: CostModel;
  readonly options: PlanOptions;
  readonly plan: Plan;
  /** Each document's entries as the plan leaves them so far. */
  readonly work: Entry[][];
  readonly values: Float32Array[];
  /** Each document's best block value. */
  readonly docValue: number[];
  readonly picked: Set<number>;
  /** Documents the plan showed as bare paths: their blocks are never shown. */
  readonly baredHere: Uint8Array;
}

/**
 * Plans the LOD0 blocks under `budget`, starting from `state` (the allocator's entries per document,
 * not modified) whose estimated cost is `used`. `value(doc)` gives each block's evidence (≥ 0).
 * In four steps: block values, the folded start, the candidates, and the greedy picks; the budget left
 * then reopens maps.
 */
export function planFocus(
  state: Entry[][],
  used: number,
  budget: number,
  cm: CostModel,
  value: (doc: TreeDocument) => Float32Array,
  options: PlanOptions = DEFAULT_PLAN,
): Plan {
  const values = state.map((es) => (es.length > 0 && es[0].doc.tokenCount > 0 ? value(es[0].doc) : new Float32Array(0)));
  const docValue = values.map((v) => v.reduce((a, x) => Math.max(a, x), 0));
  const top = docValue.reduce((a, x) => Math.max(a, x), 0);
  if (options.prologueValue > 0) {
    // Only where the lifted value can pass the candidates' floor: the others are never outlined for it.
    const floor = options.minShare * top;
    values.forEach((v, d) => {
      const lift = options.prologueValue * docValue[d];
      const pro = lift > floor ? prologueBlocks(state[d][0].doc) : 0;
      if (pro === 0) return;
      const lifted = Float32Array.from(v);
      for (let b = 0; b < pro; b++) lifted[b] = Math.max(lifted[b], lift);
      values[d] = lifted;
    });
  }
  const plan: Plan = { fill: !!options.fill, blocks: new Map(), picks: 0, used, folded: new Set(), opened: new Set(), bared: new Set() };
  if (top <= 0) return plan;
  const p: Planning = {
    state, budget, cm, options, plan, values, docValue,
    work: foldedStart(state, cm, options, plan),
    picked: new Set(),
    baredHere: new Uint8Array(state.length),
  };
  pickBlocks(p, candidates(p, top));
  reopenMaps(p);
  return plan;
}

/**
 * Every document the plan may fold starts at its root line: opening one for evidence then costs its
 * map, so the budget goes to the documents that hold evidence; the maps of the others come back at the
 * end (reopenMaps), most relevant first, if the budget still has room.
 */
function foldedStart(state: Entry[][], cm: CostModel, options: PlanOptions, plan: Plan): Entry[][] {
  const foldable = (es: Entry[]) => !options.fill && es.length > 0 && es[0].lod !== 3 && !es.some((e) => e.held || e.lod < 2);
  return state.map((es) => {
    if (!foldable(es)) return es.slice();
    const root = [makeEntry(es[0].doc, 3, 0)];
    plan.used += cm.documentCost(root) - cm.startCost(es);
    return root;
  });
}

/**
 * The best blocks by value (above minShare of the best), in a deterministic order, each shown as part
 * of its unit (bundleVariants). A larger budget considers more blocks (a fixed cap flattened recall
 * past ~16k); blocks of a unit small enough to open whole share that variant, so the best few of each
 * are enough.
 */
function candidates(p: Planning, top: number): Candidate[] {
  const { options, budget, state } = p;
  const floor = options.minShare * top;
  const best = bestValues(p.values, floor, -Infinity, Math.max(options.maxCandidates, Math.ceil(budget / 16)));
  const cand: Candidate[] = [];
  for (let k = 0; k < best.n; k++) {
    const d = best.doc[k];
    const b = best.block[k];
    cand.push({ d, b, v: p.values[d][b], variants: [], groups: [], costs: [], priority: [], want: undefined, version: -1 });
  }
  cand.sort((x, y) => y.v - x.v || x.d - y.d || x.b - y.b);
  const perUnit = new Map<string, number>();
  const kept = cand.filter((c) => {
    const doc = state[c.d][0].doc;
    const u = unitChain(doc, c.b)[0];
    if (u === undefined) return true;
    const o = outline(doc);
    if (doc.blockTok[o.last[u] + 1] - doc.blockTok[o.first[u]] > Math.max(WHOLE_UNIT_TOKENS, WHOLE_UNIT_SHARE * budget)) return true;
    const k = `${c.d}:${u}`;
    const n = perUnit.get(k) ?? 0;
    perUnit.set(k, n + 1);
    return n < PER_UNIT;
  });
  for (const c of kept) {
    c.variants = bundleVariants(state[c.d][0].doc, c.b, budget, options);
    const groups = new Set<number>();
    for (const v of c.variants) {
      // Variants are ascending: each group once per variant.
      let last = -1;
      for (let k = 0; k < v.length; k++) {
        const g = Math.floor(v[k] / GROUP_BLOCKS);
        if (g !== last) groups.add((last = g));
      }
    }
    c.groups = [...groups];
  }
  return kept;
}

/**
 * The `keep` best blocks of those whose value `x` passes `x > over && x >= atLeast`, found on typed arrays (a
 * large tree has tens of thousands of blocks above a floor; sorting them as objects took longer than the rest
 * of the plan's candidates), in document and block order; values equal to the keep-th are taken in that
 * order, as a full sort would. The plan's candidates and LensNet v2's rows (valueModel.ts) both choose here.
 */
export function bestValues(values: readonly Float32Array[], over: number, atLeast: number, keep: number): { n: number; doc: Int32Array; block: Int32Array } {
  let size = 0;
  for (const v of values) size += v.length;
  const doc = new Int32Array(size);
  const block = new Int32Array(size);
  const value = new Float32Array(size);
  let m = 0;
  values.forEach((v, d) => {
    for (let b = 0; b < v.length; b++) {
      const x = v[b];
      if (x > over && x >= atLeast) { doc[m] = d; block[m] = b; value[m] = x; m++; }
    }
  });
  if (m <= keep) return { n: m, doc, block };
  // The keep-th largest value (what an ascending sort puts at m - keep), by selection rather than a sort.
  const cut = kthSmallest(value.slice(0, m), m - keep);
  let atCut = keep;
  for (let k = 0; k < m; k++) if (value[k] > cut) atCut--;
  let n = 0;
  for (let k = 0; k < m; k++) {
    const x = value[k];
    if (x > cut || (x === cut && atCut-- > 0)) { doc[n] = doc[k]; block[n] = block[k]; n++; }
  }
  return { n, doc, block };
}

/** The k-th smallest of `a` (0-based; what `a.sort()[k]` is), found in place by quickselect: `a` is reordered. */
export function kthSmallest(a: Float32Array, k: number): number {
  let lo = 0;
  let hi = a.length - 1;
  while (hi > lo) {
    // Median of three as the pivot; Hoare's partition.
    const mid = (lo + hi) >>> 1;
    const x = a[lo], y = a[mid], z = a[hi];
    const pivot = x < y ? (y < z ? y : x < z ? z : x) : x < z ? x : y < z ? z : y;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i <= j) {
        const t = a[i];
        a[i] = a[j];
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return a[k];
  }
  return a[k];
}

/** One look at every candidate (pickBlocks): the choice it made and where it stops holding. */
interface Scan {
  room: number;
  /** The cheapest priced variant that did not fit `room` (of those looked at): a room below it changes nothing. */
  minAbove: number;
  best: number;
  bestVariant: number;
  bestPriority: number;
  wantedPriority: number;
  wantedValue: number;
  /** Documents of the candidates that set best, wantedPriority and wantedValue (-1: none). */
  bestDoc: number;
  wantedDoc: number;
  valueDoc: number;
}

/** A group's key in the plan's stale set: document index and group number in one integer. */
const groupKey = (d: number, g: number): number => d * 2097152 + g;

/**
 * The greedy picks: the candidate of the best value per cost^α that fits, shown as its preferred
 * variant that fits, priced exactly before it is taken; when a better candidate does not fit, root
 * lines of less relevant documents give up their names for bare paths to make room.
 */
function pickBlocks(p: Planning, cand: Candidate[]): void {
  const { cm, budget, options, plan, work, picked, baredHere, docValue, state } = p;
  const price = prices(cm);
  // A pick changes the cost of blocks in its own group and the groups beside it (run markers at the
  // edges), or of the whole document when it was at its root line: only those are re-costed. A
  // candidate looks at these sets only when its document's version moved since it last looked.
  const staleDoc = new Set<number>();
  const staleGroup = new Set<number>();
  const docVersion = new Int32Array(work.length);
  const reset = (c: Candidate) => { c.costs = []; c.priority = []; c.want = undefined; };
  const isStale = (c: Candidate): boolean => {
    if (staleDoc.has(c.d)) return true;
    for (const g of c.groups) if (staleGroup.has(groupKey(c.d, g))) return true;
    return false;
  };
  // The whole-document variant is one array shared by every candidate of its document: priced once per
  // document version (a 20k-token file has hundreds of candidates, each pricing all its blocks).
  const wholeCost = new Map<number, { version: number; cost: number | null }>();
  const approx = (c: Candidate, blocks: number[]): number | null => {
    if (blocks.length !== state[c.d][0].doc.nBlocks) return approxCost(cm, work[c.d], blocks, price);
    const kept = wholeCost.get(c.d);
    if (kept && kept.version === docVersion[c.d]) return kept.cost;
    const cost = approxCost(cm, work[c.d], blocks, price);
    wholeCost.set(c.d, { version: docVersion[c.d], cost });
    return cost;
  };
  const costOf = (c: Candidate, v: number): number | null => {
    if (c.costs.length <= v) {
      const x = approx(c, c.variants[v]);
      c.costs.push(x);
      c.priority.push(x === null ? NaN : c.v / Math.max(1, x) ** options.alpha);
    }
    return c.costs[v];
  };
  // Root lines that may give up their names for room: least relevant, then longest, last (popped first).
  // Ordered only when first needed: most plans fit without it, and a large tree has thousands of roots.
  let bareable: number[] | undefined;
  const bareOrder = (): number[] => {
    const ds = work.map((_, d) => d).filter((d) => work[d].length === 1 && work[d][0].lod === 3 && !work[d][0].bare && !work[d][0].fold && !work[d][0].held);
    const saving = new Map(ds.map((d) => [d, cm.documentCost(work[d]) - cm.documentCost([{ ...work[d][0], bare: true }])]));
    return ds.sort((x, y) => docValue[y] - docValue[x] || saving.get(x)! - saving.get(y)! || y - x);
  };
  // The best candidate that fits `room`; the best priority and value among those that would fit if room
  // were made; and the cheapest variant looked at that did not fit (minAbove).
  const scanCandidates = (room: number): Scan => {
    const s: Scan = { room, minAbove: Infinity, best: -1, bestVariant: 0, bestPriority: -Infinity, wantedPriority: -Infinity, wantedValue: 0, bestDoc: -1, wantedDoc: -1, valueDoc: -1 };
    for (let k = 0; k < cand.length; k++) {
      const c = cand[k];
      // A document the plan bared never shows its blocks (planScores keeps it bare).
      if (baredHere[c.d]) continue;
      if (c.version !== docVersion[c.d]) {
        c.version = docVersion[c.d];
        if (isStale(c)) reset(c);
      }
      // Variants are priced lazily (estimates), preferred first, until one fits (or none is left).
      let fit = -1;
      for (let v = 0; v < c.variants.length; v++) {
        const x = v < c.costs.length ? c.costs[v] : costOf(c, v);
        if (x !== null && x <= room) { fit = v; break; }
        if (x !== null && x < s.minAbove) s.minAbove = x;
      }
      if (fit >= 0) {
        if (c.priority[fit] > s.bestPriority) { s.bestPriority = c.priority[fit]; s.best = k; s.bestVariant = fit; s.bestDoc = c.d; }
        continue;
      }
      if (c.want === undefined) {
        const w = c.costs.findIndex((x) => x !== null && x <= budget);
        c.want = w < 0 ? NaN : c.priority[w];
      }
      if (Number.isNaN(c.want)) continue;
      if (c.want > s.wantedPriority) { s.wantedPriority = c.want; s.wantedDoc = c.d; }
      if (c.v > s.wantedValue) { s.wantedValue = c.v; s.valueDoc = c.d; }
    }
    return s;
  };
  // What the last full look at the candidates found, and what it allows to be reused: after a root line
  // is bared only the room (and that document's candidates) changed, and while the room has grown by less
  // than the cheapest variant that did not fit, every candidate fits as it did (its costs are kept).
  let last: Scan | undefined;
  let reuse = false;
  while (cand.length > 0) {
    const room = budget - plan.used;
    const scan: Scan = reuse && last && room >= last.room && room < last.minAbove ? last : (last = scanCandidates(room));
    reuse = false;
    const { best, bestVariant, bestPriority, wantedPriority, wantedValue } = scan;
    staleDoc.clear();
    staleGroup.clear();
    if (wantedPriority > bestPriority) {
      // A better candidate does not fit (or nothing does): the root line of a document that matters less
      // than the best candidate left out drops its names for its bare path, least relevant first (every
      // other document already starts folded). Waiting until nothing fits let cheap neighbours of earlier
      // picks fill the room that a better block elsewhere needed.
      let d = -1;
      bareable ??= bareOrder();
      while (bareable.length > 0) {
        const next = bareable[bareable.length - 1];
        const es = work[next];
        if (picked.has(next) || es.length !== 1 || es[0].lod !== 3 || es[0].bare || es[0].fold) { bareable.pop(); continue; }
        if (docValue[next] < wantedValue) d = bareable.pop()!;
        break;
      }
      if (d >= 0) {
        bare(p, d);
        // Reusable unless the bared document's candidates made the choice or the wanted maxima.
        reuse = d !== scan.bestDoc && d !== scan.wantedDoc && d !== scan.valueDoc;
        continue;
      }
    }
    if (best < 0) break;
    const c = cand[best];
    // Units, not fragments: the block with the rest of its unit (or its head and end) and its parents'
    // head lines, priced exactly now; an estimate that was short is corrected and the choice made again.
    const blocks = c.variants[bestVariant];
    const after = work[c.d].slice();
    let exact = 0;
    for (const b of blocks) exact += expandTo(cm, after, b);
    if (plan.used + exact > budget) {
      c.costs[bestVariant] = exact;
      c.priority[bestVariant] = c.v / Math.max(1, exact) ** options.alpha;
      c.want = undefined;
      continue;
    }
    cand.splice(best, 1);
    if (work[c.d].length === 1 && work[c.d][0].lod === 3) staleDoc.add(c.d);
    work[c.d] = after;
    plan.used += exact;
    docVersion[c.d]++;
    const id = after[0].doc.id;
    let m = plan.blocks.get(id);
    if (!m) plan.blocks.set(id, (m = new Map()));
    const rank = plan.picks++;
    for (const b of blocks) {
      if (!m.has(b)) m.set(b, rank);
      const g = Math.floor(b / GROUP_BLOCKS);
      for (let k = g - 1; k <= g + 1; k++) staleGroup.add(groupKey(c.d, k));
    }
    picked.add(c.d);
  }
}

/** Shows document d's root line as its bare path (its neighbours' share of a folder line changes too). */
function bare(p: Planning, d: number): void {
  const { cm, work, plan } = p;
  const bareRoot = [{ ...work[d][0], bare: true }];
  const runs = () => cm.bareRunExtra(work, d - 1) + cm.bareRunExtra(work, d) + cm.bareRunExtra(work, d + 1);
  const before = runs();
  plan.used += cm.documentCost(bareRoot) - cm.documentCost(work[d]);
  work[d] = bareRoot;
  plan.used += runs() - before;
  plan.bared.add(bareRoot[0].doc.id);
  p.baredHere[d] = 1;
}

/**
 * The budget left reopens the maps of documents folded at the start (most relevant first); the rest
 * stay folded. A document at its root line in the allocator's state opens only when it is worth it.
 */
function reopenMaps(p: Planning): void {
  const { state, work, plan, cm, budget, picked, baredHere, docValue } = p;
  const back = state.map((_, d) => d).filter((d) => !picked.has(d) && work[d].length === 1 && work[d][0].lod === 3 && !baredHere[d] && state[d].length > 0);
  back.sort((x, y) => docValue[y] - docValue[x] || x - y);
  let tries = REOPEN_TRIES;
  for (const d of back) {
    const root = state[d][0];
    if (root.lod !== 3) {
      // Folded by the plan itself: its starting map comes back if it fits (its cost is kept on the document).
      const delta = cm.startCost(state[d]) - cm.documentCost(work[d]);
      if (plan.used + delta <= budget) { plan.used += delta; work[d] = state[d]; }
      else plan.folded.add(root.doc.id);
      continue;
    }
    // At its root line in the allocator's state (a cold start): opened only with evidence, and only a few
    // are costed (a map's gist texts are decoded to be counted; a large tree has thousands of these).
    if (docValue[d] <= 0 || root.fold || root.doc.tokenCount === 0 || tries <= 0 || budget - plan.used < MIN_REOPEN) continue;
    tries--;
    const map = children(root);
    const delta = cm.documentCost(map) - cm.documentCost(work[d]);
    if (plan.used + delta <= budget) { plan.used += delta; work[d] = map; plan.opened.add(root.doc.id); }
  }
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
        const b0 = e.doc.blockAtToken(e.start);
        const b1 = e.end >= e.doc.tokenCount ? e.doc.nBlocks : e.doc.blockAtToken(e.end);
        if (b1 - b0 < m.size) {
          for (let b = b0; b < b1; b++) { const p = m.get(b); if (p !== undefined && p < first) first = p; }
        } else {
          for (const [b, p] of m) if (b >= b0 && b < b1 && p < first) first = p;
        }
      }
    }
    if (plan.folded.has(e.doc.id)) out[i] = e.lod === 3 ? 0 : -1;
    else if (plan.opened.has(e.doc.id)) out[i] = e.lod === 3 ? tauExpand + 0.05 : 0;
    else if (plan.bared.has(e.doc.id)) out[i] = -1;
    else if (e.lod === 0) out[i] = first < Infinity ? 1 : e.held || plan.fill ? 0 : -1;
    else if (first < Infinity) out[i] = tauExpand + 0.05 + (0.9 - tauExpand) * (1 - first / n);
    else out[i] = 0;
  }
  return out;
}

/** The section prior's increments (PlanOptions.section), block by block in the order they are added. */
function sectionPrior(doc: TreeDocument, raw: Float32Array, q: QueryTerms, weight: number, out: RangeAdds[]): void {
  const sections = sectionRanges(doc);
  const n = sections.length >> 1;
  if (n < 2) return; // one section: the prior would lift every block alike
  const sec = scoreRanges(doc.postings, q, sections, doc.postings.totalLength() / n);
  let top = 0;
  for (const x of sec) top = Math.max(top, x);
  let best = 0;
  for (const x of raw) best = Math.max(best, x);
  if (top <= 0) return;
  const scale = (weight * best) / top;
  const add = new Float64Array(n);
  for (let s = 0; s < n; s++) add[s] = scale * sec[s];
  out.push({ ranges: sections, add });
}

/** Blocks of a typical scope, for the length normalisation of scope BM25 (a 128-token function). */
const SCOPE_LENGTH = 4;

/**
 * Each definition block gets `share` of the best value in its body, or `textShare` of its whole scope's
 * BM25 (`whole`, null when off), if that is more than its own.
 */
function liftScopes(v: Float32Array, scopes: Uint32Array, share: number, textShare: number, whole: Float32Array | null): void {
  const src = Float32Array.from(v);
  for (let k = 0; k < scopes.length; k += 2) {
    const b0 = scopes[k];
    let best = 0;
    for (let b = b0 + 1; b <= scopes[k + 1]; b++) best = Math.max(best, src[b]);
    const lifted = Math.max(share * best, whole ? textShare * whole[k >> 1] : 0);
    if (lifted > v[b0]) v[b0] = lifted;
  }
}

/** Terms of a typical definition line, for the length normalisation of its BM25. */
const DEF_LINE_LENGTH = 6;

/**
 * `weight` × each definition line's own BM25 (with its name's partial matches at `nameShare`), as
 * increments to the block holding the line's start.
 */
function definitionLineAdds(doc: TreeDocument, q: QueryTerms, weight: number, nameShare: number): { at: Int32Array; add: Float64Array } {
  const lines = definitionLines(doc);
  const { blocks, termIds, termStart, indexIds, indexLines, nameText, nameStarts } = lines;
  const nq = q.terms.length;
  if (blocks.length === 0 || nq === 0) return NO_ADDS;
  // Query terms by id: a line's terms are looked up once each, not compared with every query term. A
  // term whose first four letters no definition name holds matches no name here (nameHolds needs them
  // inside the name): its names are not searched.
  const index = new Map<number, number>();
  const ids = q.terms.map((t) => knownTermId(t));
  ids.forEach((id, i) => { if (id !== undefined && !index.has(id)) index.set(id, i); });
  // Each query term's count slot (-1: no text holds the term).
  const slot = ids.map((id) => (id === undefined ? -1 : index.get(id)!));
  const named = q.terms.map((w) => nameShare > 0 && w.length >= 4 && nameText.includes(w.slice(0, 4)));
  // Only lines that hold a query term, or whose name holds a named term's first four letters, can add
  // anything: found from the lines' term index instead of reading every definition line of the document.
  const look = new Uint8Array(blocks.length);
  let any = false;
  for (let i = 0; i < nq; i++) {
    const id = ids[i];
    if (id !== undefined) {
      for (let k = lowerBound(indexIds, id); k < indexIds.length && indexIds[k] === id; k++) { look[indexLines[k]] = 1; any = true; }
    }
    if (!named[i]) continue;
    const w4 = q.terms[i].slice(0, 4);
    for (let at = nameText.indexOf(w4); at >= 0; at = nameText.indexOf(w4, at + 1)) { look[lineOf(nameStarts, at) - 1] = 1; any = true; }
  }
  if (!any) return NO_ADDS;
  const at: number[] = [];
  const add: number[] = [];
  const tf = new Int32Array(nq);
  for (let k = 0; k < blocks.length; k++) {
    if (!look[k]) continue;
    const t0 = termStart[k];
    const length = termStart[k + 1] - t0;
    tf.fill(0);
    for (let j = t0; j < t0 + length; j++) {
      const i = index.get(termIds[j]);
      if (i !== undefined) tf[i]++;
    }
    let s = 0;
    let name: string | undefined;
    for (let i = 0; i < nq; i++) {
      const n = slot[i] < 0 ? 0 : tf[slot[i]];
      if (n > 0) s += bm25Term(q.idf[i], n, length, DEF_LINE_LENGTH);
      else if (named[i] && nameHolds((name ??= definitionName(lines, k)), q.terms[i])) s += nameShare * bm25Term(q.idf[i], 1, length, DEF_LINE_LENGTH);
    }
    if (s > 0) {
      at.push(blocks[k]);
      add.push(weight * s);
    }
  }
  return { at: Int32Array.from(at), add: Float64Array.from(add) };
}

/** The first index of ascending `a` whose value is ≥ x (a.length when none). */
function lowerBound(a: Uint32Array, x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Whether a definition's name holds query term `w` (4+ letters) inside it (getmembers: member), or a
 * 4+ letter prefix of it at either end of one of the name's parts (is_symlink: symbolic; extn would not).
 */
function nameHolds(name: string, w: string): boolean {
  if (w.length < 4 || name.length < 4) return false;
  if (name.includes(w)) return true;
  const w4 = w.slice(0, 4);
  if (!name.includes(w4)) return false;
  for (const p of nameParts(name)) {
    if (!p.includes(w4)) continue; // every prefix tried below starts with these four letters
    for (let k = Math.min(w.length - 1, p.length); k >= 4; k--) {
      const pre = w.slice(0, k);
      if (p.startsWith(pre) || p.endsWith(pre)) return true;
    }
  }
  return false;
}
