import { BLOCK_TOKENS } from './constants';
import type { Entry } from './entry';
import { buildFeatures, meanVector, QueryEvidence } from './features';
import { BudgetTooSmallError, DEFAULT_FOCUS, FocusAllocator, type FocusSettings, type FocusTelemetry, type Hold } from './focus';
import { checkWorkingContext, type Violation } from './invariants';
import { loadGrammars } from './units';
import { blockValues, DEFAULT_PLAN, isSupportFile, planFocus, planScores, type Plan, type PlanOptions } from './plan';
import { queryUnits, renderWorkingContext, type Rendered } from './render';
import { CostModel } from './cost';
import type { ModelRuntime } from './runtime';
import { tokenize } from './tokenizer';
import type { Tree, TreeDocument } from './tree';
import { learnedBlockValues } from './valueModel';

/**
 * lens: LensNet scores the entries. lens2: the lexical plan chooses by LensNet v2's block values
 * (valueModel.ts; the lexical plan when the models lack it). lexical: the budget-aware lexical plan (plan.ts). lexical-greedy: the
 * earlier lexical scorer (each entry's BM25 evidence relative to the best, less an opening cost), kept to
 * compare against.
 */
export type ScorerKind = 'lens' | 'lens2' | 'lexical' | 'lexical-greedy';

export interface FocusRequest {
  query: string;
  budget: number;
  holds?: Hold[];
  /** Ranges kept collapsed (at most LOD2) by the user. */
  caps?: Hold[];
  settings?: Partial<Omit<FocusSettings, 'budget'>>;
  scorer?: ScorerKind;
  /** Words per block gist on `~` lines (render.ts BLOCK_WORDS when absent). */
  blockWords?: number;
  /** Block gists per `≈` group line (render.ts GROUP_CHILDREN when absent). */
  groupChildren?: number;
  /** Every n-th block shows its words on `~` lines (render.ts BLOCK_STRIDE when absent). */
  blockStride?: number;
  /** Options of the lexical plan (scorer 'lexical', and the lexical-only runtime). */
  plan?: Partial<PlanOptions>;
  displayPath?: (doc: TreeDocument) => string;
  /** Called when a run-time invariant check fails and the context is rebuilt from a cold start. */
  onViolation?: (violations: Violation[]) => void;
}

export interface FocusTimings {
  tailMs: number;
  /** Building the starting map: every document's top level, costed, and the cold start when it does not fit. */
  mapMs: number;
  scoreMs: number;
  allocateMs: number;
  renderMs: number;
  totalMs: number;
}

export interface WorkingContext {
  query: string;
  budget: number;
  perDoc: Entry[][];
  rendered: Rendered;
  /** The scorer that ran: the one asked for, or the lexical plan when the runtime has no LensNet. */
  scorer: ScorerKind;
  /** planned: blocks the lexical plan chose (0 without a plan); plannedShown: how many of them are exact. */
  telemetry: FocusTelemetry & { trims: number; coldRebuilds: number; planned: number; plannedShown: number };
  timings: FocusTimings;
}

/** Actions per allocator iteration when the lexical plan scores: as many as the plan asks for. */
const PLAN_ACTIONS = 1_000_000;
/** LensNet's focus is filled by the lexical plan when it uses less than this share of the budget (issue: at least 90%). */
const FILL_BELOW = 0.9;

/** Max query blocks turned into tail gists (the most recent ones win). */
const TAIL_BLOCKS = 8;

/** Orders documents: files by path, then memory documents (chat, notes) so recent talk sits last. */
export function documentOrder(docs: Iterable<TreeDocument>): TreeDocument[] {
  return [...docs].sort((a, b) => Number(a.kind !== 'file') - Number(b.kind !== 'file') || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** Turns a tree plus a question into a focused, budgeted working context. */
export class FocusEngine {
  /** The tree's document count when its languages' grammars were last loaded (an ingest loads its own). */
  private grammarsFor = -1;

  constructor(readonly tree: Tree, readonly runtime: ModelRuntime) {}

  async tailGists(query: string): Promise<{ tail: Float32Array; count: number }> {
    const tokens = tokenize(query);
    const blocks = Math.max(1, Math.ceil(tokens.length / BLOCK_TOKENS));
    const first = Math.max(0, blocks - TAIL_BLOCKS);
    const count = blocks - first;
    const ids = new Int32Array(count * BLOCK_TOKENS);
    const mask = new Float32Array(count * BLOCK_TOKENS);
    for (let r = 0; r < count; r++) {
      const s = (first + r) * BLOCK_TOKENS;
      for (let k = 0; k < BLOCK_TOKENS && s + k < tokens.length; k++) {
        ids[r * BLOCK_TOKENS + k] = tokens[s + k];
        mask[r * BLOCK_TOKENS + k] = 1;
      }
      if (tokens.length === 0) mask[r * BLOCK_TOKENS] = 1;
    }
    const out = await this.runtime.gistBlocks(ids, mask, count);
    return { tail: out.gists, count };
  }

  /**
   * The scorer that runs for `asked`: the lexical plan is the default (it wins the answerable metrics of
   * the evaluation, README); a runtime without LensNet (the degraded mode) or without LensNet v2 can only
   * plan by lexical evidence.
   */
  private scorerFor(asked: ScorerKind | undefined, ctx: ScoringContext): ScorerStrategy {
    if (asked === 'lexical-greedy') return new GreedyScorer(ctx);
    if (asked === 'lens' && !this.runtime.lexicalOnly) return new LensScorer(this.runtime, ctx);
    if (asked === 'lens2' && this.runtime.scoreValues && !this.runtime.lexicalOnly) {
      const { docs, ev, req, tailMean, planOptions, support } = ctx;
      return new PlanScorer('lens2', ctx, () => learnedBlockValues(this.runtime, docs, ev, req.query, tailMean, planOptions, support));
    }
    return new PlanScorer('lexical', ctx, async () => lexicalValues(ctx));
  }

  async focus(req: FocusRequest): Promise<WorkingContext> {
    // The map names units: a tree restored from the store has not loaded its languages' grammars yet.
    if (this.grammarsFor !== this.tree.documents.size) {
      await loadGrammars([...this.tree.documents.values()].filter((d) => d.kind === 'file').map((d) => d.id));
      this.grammarsFor = this.tree.documents.size;
    }
    const t0 = performance.now();
    const settings: FocusSettings = { ...DEFAULT_FOCUS, ...req.settings, budget: req.budget };
    const displayPath = req.displayPath ?? ((d: TreeDocument) => d.id);
    const docs = documentOrder(this.tree.documents.values());
    const { tail, count } = await this.tailGists(req.query);
    const tailMean = meanVector(tail, count, this.runtime.dim);
    const tailMs = performance.now() - t0;
    const ev = new QueryEvidence(this.tree, req.query);
    // Asked by the cold start for every document, and again per iteration for bare paths (scoredEntries).
    const relevanceOf = new Map<TreeDocument, number>();
    const relevance = (doc: TreeDocument) => {
      let r = relevanceOf.get(doc);
      if (r !== undefined) return r;
      const g = doc.rootGist();
      let cos = 0;
      for (let d = 0; d < g.length; d++) cos += g[d] * tailMean[d];
      relevanceOf.set(doc, (r = ev.of(doc).docMax + cos));
      return r;
    };
    // Root lines of the ROOT_QUERY_DOCS most relevant documents name first the unit whose name holds the
    // most query weight (only documents with evidence can hold any); the others keep their kept line.
    let rootFloor: number | undefined;
    const rootUnitsOf = new Map<TreeDocument, readonly number[]>();
    const rootUnits = (doc: TreeDocument): readonly number[] => {
      let us = rootUnitsOf.get(doc);
      if (us !== undefined) return us;
      if (rootFloor === undefined) {
        const r = docs.filter((d) => ev.of(d).docMax > 0).map(relevance).sort((a, b) => b - a);
        rootFloor = r.length > ROOT_QUERY_DOCS ? r[ROOT_QUERY_DOCS - 1] : -Infinity;
      }
      rootUnitsOf.set(doc, (us = ev.of(doc).docMax > 0 && relevance(doc) >= rootFloor ? queryUnits(doc, ev.q, 1) : []));
      return us;
    };
    const costModel = new CostModel(displayPath, req.blockWords, req.groupChildren, req.blockStride, rootUnits);
    const renderOptions = { displayPath, blockWords: req.blockWords, groupChildren: req.groupChildren, blockStride: req.blockStride, rootUnits };
    const planOptions = { ...DEFAULT_PLAN, ...req.plan };
    const support = (d: TreeDocument) => d.kind === 'file' && isSupportFile(displayPath(d));
    const ctx: ScoringContext = { req, settings, docs, ev, tail, count, tailMean, relevance, costModel, planOptions, support };
    const strategy = this.scorerFor(req.scorer, ctx);
    const allocSettings = strategy.nDiff !== undefined ? { ...settings, nDiff: strategy.nDiff } : settings;
    const m0 = performance.now();
    const hasEvidence = (doc: TreeDocument) => ev.of(doc).docMax > 0;
    let allocator = new FocusAllocator(docs, allocSettings, costModel, req.holds, relevance, req.caps, hasEvidence);
    const mapMs = performance.now() - m0;
    const run = await allocator.run((entries) => strategy.score(entries, allocator));
    const telemetry = { ...run, trims: 0, coldRebuilds: 0, planned: strategy.plan ? plannedBlocks(strategy.plan) : 0, plannedShown: 0, filled: 0 };
    if (strategy.finish) telemetry.filled = await strategy.finish(allocator, telemetry);
    if (allocator.unfoldFolders() > 0) telemetry.foldedFolders = allocator.foldedCount;
    const plan = strategy.plan;
    if (plan) telemetry.plannedShown = shownBlocks(allocator.state, plan);
    let r0 = performance.now();
    let rendered = renderWorkingContext(allocator.state, renderOptions);
    // The allocator works from estimated costs; the rendered prompt's exact count decides.
    while (rendered.tokens > settings.budget) {
      if (!allocator.shrinkOnce()) throw new BudgetTooSmallError(rendered.tokens, settings.budget);
      telemetry.trims++;
      rendered = renderWorkingContext(allocator.state, renderOptions);
    }
    const violations = checkWorkingContext(allocator.state, rendered, settings.budget);
    if (violations.length > 0) {
      req.onViolation?.(violations);
      telemetry.coldRebuilds++;
      allocator = new FocusAllocator(docs, allocSettings, costModel, [], relevance, [], hasEvidence);
      rendered = renderWorkingContext(allocator.state, renderOptions);
      while (rendered.tokens > settings.budget && allocator.shrinkOnce()) rendered = renderWorkingContext(allocator.state, renderOptions);
    }
    const renderMs = performance.now() - r0;
    telemetry.budgetUtilisation = rendered.tokens / settings.budget;
    return {
      query: req.query,
      budget: settings.budget,
      perDoc: allocator.state,
      rendered,
      scorer: strategy.kind,
      telemetry,
      timings: { tailMs, mapMs, scoreMs: telemetry.scoreMs, allocateMs: telemetry.allocateMs, renderMs, totalMs: performance.now() - t0 },
    };
  }
}

/** What one focus request's scorer works from. */
interface ScoringContext {
  req: FocusRequest;
  settings: FocusSettings;
  docs: TreeDocument[];
  ev: QueryEvidence;
  tail: Float32Array;
  count: number;
  tailMean: Float32Array;
  relevance: (doc: TreeDocument) => number;
  costModel: CostModel;
  planOptions: PlanOptions;
  /** A test, doc or example file (the plan's supportShare). */
  support: (doc: TreeDocument) => boolean;
}

/** A scorer as the engine runs it: scores for the allocator, and what it planned, if it plans. */
interface ScorerStrategy {
  readonly kind: ScorerKind;
  /** Actions per allocator iteration when the scorer needs more than N_diff (a plan is a whole target). */
  readonly nDiff?: number;
  readonly plan?: Plan;
  score(entries: Entry[], allocator: FocusAllocator): Promise<Float32Array>;
  /** After the allocator ran (LensNet: the plan spends what it left); returns the blocks it added. */
  finish?(allocator: FocusAllocator, telemetry: FocusTelemetry): Promise<number>;
}

/** The plan's own block values (blockValues), for the lexical plan and for filling what LensNet leaves. */
function lexicalValues(ctx: ScoringContext): (d: TreeDocument) => Float32Array {
  return (d) => blockValues(d, ctx.ev.of(d).raw, ctx.planOptions, ctx.ev.q, ctx.support(d));
}

/**
 * The lexical plan (or, with `learned`, the plan choosing by LensNet v2's values): planned once, from the
 * allocator's starting state, with its cost model and budget, then realised by the allocator. The plan is
 * a whole target, not a step-by-step guess: the allocator realises it at its own pace only when N_diff
 * allows (a plan of 45 blocks in 8 groups needs 53 actions; 4 per iteration × 12 iterations left the last
 * picks and ~10% of the budget unused).
 */
class PlanScorer implements ScorerStrategy {
  readonly nDiff = PLAN_ACTIONS;
  plan?: Plan;
  constructor(readonly kind: 'lexical' | 'lens2', private readonly ctx: ScoringContext, private readonly values: () => Promise<(d: TreeDocument) => Float32Array>) {}

  async score(entries: Entry[], allocator: FocusAllocator): Promise<Float32Array> {
    const { settings, costModel, planOptions } = this.ctx;
    this.plan ??= planFocus(allocator.state, allocator.usedTokens, settings.budget, costModel, await this.values(), planOptions);
    return planScores(this.plan, entries, settings.tauExpand);
  }
}

/** The earlier lexical scorer, kept to compare against (lexicalScores). */
class GreedyScorer implements ScorerStrategy {
  readonly kind = 'lexical-greedy';
  constructor(private readonly ctx: ScoringContext) {}
  async score(entries: Entry[]): Promise<Float32Array> {
    return lexicalScores(entries, this.ctx.ev);
  }
}

/** LensNet scores the entries; the lexical plan then spends what it leaves of the budget. */
class LensScorer implements ScorerStrategy {
  readonly kind = 'lens';
  constructor(private readonly runtime: ModelRuntime, private readonly ctx: ScoringContext) {}

  async score(entries: Entry[]): Promise<Float32Array> {
    const { ev, tailMean, tail, count, relevance } = this.ctx;
    const keep = scoredEntries(entries, relevance);
    const some = keep.length === entries.length ? entries : keep.map((i) => entries[i]);
    const scored = await this.runtime.scoreEntries(buildFeatures(some, ev, tailMean), some.length, tail, count);
    if (some === entries) return scored;
    const out = new Float32Array(entries.length);
    keep.forEach((i, k) => (out[i] = scored[k]));
    return out;
  }

  /**
   * LensNet stops short of the budget (about half of it at 8k): the lexical plan spends the rest on top of
   * what LensNet chose, keeping it (PlanOptions.fill).
   */
  async finish(allocator: FocusAllocator, telemetry: FocusTelemetry): Promise<number> {
    const { settings, costModel, planOptions } = this.ctx;
    if (allocator.usedTokens >= FILL_BELOW * settings.budget) return 0;
    const fill = planFocus(allocator.state, allocator.usedTokens, settings.budget, costModel, lexicalValues(this.ctx), { ...planOptions, fill: true });
    const more = await allocator.run(async (entries) => planScores(fill, entries, settings.tauExpand), PLAN_ACTIONS);
    telemetry.scoreMs += more.scoreMs;
    telemetry.allocateMs += more.allocateMs;
    telemetry.iterations += more.iterations;
    return plannedBlocks(fill);
  }
}

/**
 * Root lines that name a query unit (queryUnits): the most relevant documents only. Each such line is
 * priced per focus; on every document with evidence (most of a 1M-token tree for a long query) that
 * cost ~14 ms a refocus on the bench.
 */
export const ROOT_QUERY_DOCS = 32;

/** At most this many bare paths, the most relevant, are scored by LensNet in one iteration. */
export const BARE_SCORED = 512;

/**
 * Indexes of the entries LensNet scores: every entry except bare paths beyond the BARE_SCORED most
 * relevant. Bare paths are the least relevant documents of the cold start, and a large tree has
 * thousands (a folder line makes each cheap enough to list); the others keep score 0 (neither expand
 * nor collapse), as folded documents do.
 */
export function scoredEntries(entries: Entry[], relevance: (doc: TreeDocument) => number): number[] {
  const bare: number[] = [];
  const keep: number[] = [];
  entries.forEach((e, i) => (e.lod === 3 && e.bare ? bare : keep).push(i));
  if (bare.length <= BARE_SCORED) return entries.map((_, i) => i);
  const r = new Map(bare.map((i) => [i, relevance(entries[i].doc)]));
  bare.sort((a, b) => r.get(b)! - r.get(a)! || a - b);
  return keep.concat(bare.slice(0, BARE_SCORED)).sort((a, b) => a - b);
}

/** Planned blocks that are at LOD0 in `state`. */
/** Blocks the plan brings to LOD0 (a pick is a block with the rest of its unit: several blocks). */
function plannedBlocks(plan: Plan): number {
  let n = 0;
  for (const m of plan.blocks.values()) n += m.size;
  return n;
}

function shownBlocks(state: Entry[][], plan: Plan): number {
  let n = 0;
  for (const es of state) {
    const m = es.length > 0 ? plan.blocks.get(es[0].doc.id) : undefined;
    if (m) for (const e of es) if (e.lod === 0 && m.has(e.index)) n++;
  }
  return n;
}

/**
 * Degraded-mode and baseline scorer: an entry with BM25 evidence in its full text scores that evidence
 * relative to the best entry, less what opening it costs; an entry without evidence scores -1.
 */
/** Opening a group costs a line per block: only strong evidence justifies it. */
const OPEN_COST = [0, 0, 0.35, 0.1];

export function lexicalScores(entries: Entry[], ev: QueryEvidence): Float32Array {
  const lex = entries.map((e) => ev.span(e).max);
  let top = 0;
  for (const x of lex) top = Math.max(top, x);
  return Float32Array.from(lex, (x, i) => (x > 0 && top > 0 ? x / top - OPEN_COST[entries[i].lod] : -1));
}

