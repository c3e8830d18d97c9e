import { GROUP_BLOCKS, type Lod } from './constants';
import { bareEntry, entryKey, makeEntry, type Entry } from './entry';
import type { CostModel } from './cost';
import type { TreeDocument } from './tree';

/** Allocator parameters (DESIGN.md "The focus allocator"); defaults from the reference design. */
export interface FocusSettings {
  budget: number;
  tauExpand: number;
  tauCollapse: number;
  /**
   * At most this many actions per iteration per 2,048 tokens of budget (never fewer than nDiff): the
   * entries that fit grow with the budget, so the actions per iteration do too and the iteration count
   * (one LensNet pass each) stays flat.
   */
  nDiff: number;
  /** Iterations during which a node's last action may not be undone. */
  cooldown: number;
  maxIterations: number;
  /** NTM interpolation gate g: s <- g*s_new + (1-g)*s_prev. 1 turns it off. */
  gate: number;
  /** NTM shift kernel over neighbouring entries (weights for -1, 0, +1); null turns it off. */
  shift: [number, number, number] | null;
  /** NTM sharpening: s <- sign(s)*|s|^gamma. 1 turns it off. */
  sharpen: number;
  /**
   * Hysteresis: a node this refocus expanded and then collapsed again stays collapsed until the next
   * refocus. Each node then changes at most twice per refocus, so the loop converges instead of
   * trading the same spans back and forth after every cooldown (measured: up to 925 reversals in 64
   * iterations at W = 8k on 1M tokens without it).
   */
  settle: boolean;
}

export const DEFAULT_FOCUS: Omit<FocusSettings, 'budget'> = {
  // 0.1 rather than the reference's 0.2: on the development conversations (LoCoMo 26, 30, 41) it raised
  // recall at W = 2048 from 64.0% to 66.1% and at 4096 from 69.5% to 73.6% (`npm run eval -- --conversations 26,30,41`).
  tauExpand: 0.1,
  tauCollapse: 0.2,
  nDiff: 4,
  cooldown: 2,
  // 12 rather than 64: past a dozen iterations the allocator only trades a few marginal documents back
  // and forth (one LensNet pass each). On the development conversations recall at W = 1024/2048/4096 went
  // 37.3/67.1/74.2 -> 37.1/67.1/74.2 (8: 36.8/67.4/73.9), on 60 docstring queries over the 1M-token
  // benchmark tree 32 -> 31 found, while the slowest quarter of refocuses at W = 8k (13-21 iterations)
  // lost up to 40% of their time.
  maxIterations: 12,
  gate: 1,
  shift: null,
  sharpen: 1,
  settle: true,
};

/** A token range of a document held at LOD0 (a pin, the active editor, the recent chat tail). */
export interface Hold {
  docId: string;
  start: number;
  end: number;
}

/** A token range of a document the user asked to keep collapsed: nothing inside it expands past LOD2. */
export type Cap = Hold;

export type Scorer = (entries: Entry[]) => Promise<Float32Array>;

/** Budget at which `nDiff` applies as given; it scales linearly above. */
export const NDIFF_BUDGET = 2048;

/** Actions one iteration may take: nDiff per 2,048 tokens of budget, at least nDiff. */
export function actionsPerIteration(s: Pick<FocusSettings, 'nDiff' | 'budget'>): number {
  return Math.max(s.nDiff, Math.round((s.nDiff * s.budget) / NDIFF_BUDGET));
}

export interface FocusAction {
  iteration: number;
  kind: 'expand' | 'collapse';
  docId: string;
  /** The node replaced (expand) or created (collapse). */
  lod: Lod;
  index: number;
}

export interface FocusTelemetry {
  iterations: number;
  expands: number;
  collapses: number;
  /** Actions over entries at the end: how much of the map changed. */
  swapRate: number;
  /** Nodes whose action reversed an earlier one of theirs. */
  oscillations: number;
  /** Mean, over iterations, of expanded nodes' survival to the end (0..1). */
  residency: number;
  budgetUtilisation: number;
  coldStartRoots: number;
  /** Folders the cold start folded into one line each (only when even bare paths did not fit). */
  foldedFolders: number;
  scoreMs: number;
  allocateMs: number;
}

export class BudgetTooSmallError extends Error {
  constructor(readonly needed: number, readonly budget: number, readonly heldDocuments = 0) {
    super(heldDocuments > 0
      ? `budget ${budget} is too small: the pinned spans (and the recent chat) with every other document as one line need ${needed} tokens`
      : `budget ${budget} is too small: listing every document as one line already needs ${needed} tokens`);
  }
}

/** Top-level entries of a document below its root: LOD2 nodes, then (while appending) LOD1 and LOD0 tail. */
export function topEntries(doc: TreeDocument): Entry[] {
  const out: Entry[] = [];
  for (let g = 0; g < doc.nLod2; g++) out.push(makeEntry(doc, 2, g));
  for (let b = doc.nLod2 * GROUP_BLOCKS; b < doc.nLod1; b++) out.push(makeEntry(doc, 1, b));
  for (let b = doc.nLod1; b < doc.nBlocks; b++) out.push({ ...makeEntry(doc, 0, b), held: doc.appending });
  return out;
}

/** Whether `entries` are exactly the document's top-level entries (see topEntries), none held; no allocation. */
function isTopLevel(entries: Entry[], doc: TreeDocument): boolean {
  const lod1From = doc.nLod2 * GROUP_BLOCKS;
  const n2 = doc.nLod2;
  const n1 = Math.max(0, doc.nLod1 - lod1From);
  if (entries.length !== n2 + n1 + (doc.nBlocks - doc.nLod1)) return false;
  for (let k = 0; k < entries.length; k++) {
    const e = entries[k];
    if (e.held) return false;
    if (k < n2) {
      if (e.lod !== 2 || e.index !== k) return false;
    } else if (k < n2 + n1) {
      if (e.lod !== 1 || e.index !== lod1From + k - n2) return false;
    } else if (e.lod !== 0 || e.index !== doc.nLod1 + k - n2 - n1) return false;
  }
  return true;
}

/** The entries an expansion of `e` puts in its place (root → top level, LOD2 → its blocks, LOD1 → its block). */
export function children(e: Entry): Entry[] {
  const doc = e.doc;
  if (e.lod === 3) return topEntries(doc);
  if (e.lod === 2) {
    const out: Entry[] = [];
    for (let b = e.index * GROUP_BLOCKS; b < Math.min(doc.nLod1, (e.index + 1) * GROUP_BLOCKS); b++) out.push(makeEntry(doc, 1, b));
    return out;
  }
  return [makeEntry(doc, 0, e.index)];
}

function canExpand(e: Entry): boolean {
  if (e.lod === 0) return false;
  if (e.lod === 3) return e.doc.tokenCount > 0 && !e.fold;
  return true;
}

interface CollapseGroup {
  docIdx: number;
  /** The members, in order; stale once any of them has been replaced. */
  members: Entry[];
  parent: Entry;
  score: number;
}

/** Share of the budget the cold-start map may take when it must collapse documents, leaving room to focus. */
const COLD_START_SHARE = 0.8;
/** Folder levels the cold start may fold up through (see foldFolders). */
const MAX_FOLD_LEVELS = 32;


/**
 * The folders a document can fold into: every folder above its display path, nearest first (at most
 * MAX_FOLD_LEVELS); a top-level file's is '.'.
 */
function foldersAbove(path: string): string[] {
  const out: string[] = [];
  let folder = path;
  for (let up = 1; up <= MAX_FOLD_LEVELS; up++) {
    const cut = folder.lastIndexOf('/');
    if (cut <= 0) {
      if (up === 1) out.push('.');
      break;
    }
    folder = folder.slice(0, cut);
    out.push(folder);
  }
  return out;
}

/** Share of the budget in use above which low scores collapse without an expansion asking for room. */
const COLLAPSE_PRESSURE = 0.9;

function byCollapseOrder(a: CollapseGroup, b: CollapseGroup): number {
  return a.score - b.score || a.docIdx - b.docIdx || a.members[0].start - b.members[0].start || b.parent.lod - a.parent.lod;
}

/** Allocates the focus: which entries of each document are shown at which LOD, under the budget. */
export class FocusAllocator {
  readonly state: Entry[][];
  private costs: number[] = [];
  /** bareRunExtra of the documents shown as bare paths that have one (by document index). */
  private readonly runExtra = new Map<number, number>();
  private used = 0;
  private readonly lastAction = new Map<string, { iteration: number; kind: 'expand' | 'collapse' }>();
  /** Nodes expanded during this run, and those of them collapsed again (see `settle`). */
  private readonly expandedThisRun = new Set<string>();
  private readonly settled = new Set<string>();
  private readonly prevScores = new Map<string, number>();
  readonly actions: FocusAction[] = [];
  private coldRoots = 0;
  private foldedFolders = 0;
  /** Documents folded into a folder line by the cold start. */
  private folded = 0;
  /** The cold start's document relevance when it folded folders (unfoldFolders lists the most relevant first). */
  private foldRelevance?: Float64Array;

  constructor(
    readonly docs: TreeDocument[],
    private readonly settings: FocusSettings,
    private readonly costModel: CostModel,
    holds: Hold[] = [],
    relevance?: (doc: TreeDocument) => number,
    private readonly caps: Cap[] = [],
    /** Documents holding the query's words: the cold start folds their folders only when nothing else fits. */
    private readonly evidence: (doc: TreeDocument) => boolean = () => false,
  ) {
    this.state = docs.map((d) => (d.tokenCount === 0 ? [makeEntry(d, 3, 0)] : topEntries(d)));
    const heldDocs = new Set<number>();
    for (const h of holds) this.hold(h, heldDocs);
    if (this.startsBare(heldDocs)) {
      this.coldCollapse(relevance ?? (() => 0));
      return;
    }
    this.costs = this.state.map((entries, i) => (heldDocs.has(i) ? costModel.documentCost(entries) : costModel.startCost(entries)));
    this.used = costModel.preamble + this.costs.reduce((a, b) => a + b, 0);
    if (this.used > settings.budget) this.coldCollapse(relevance ?? (() => 0));
  }

  /**
   * With thousands of files, when every document not held as its bare path (folder lines) is already
   * over the cold start's share of the budget, the cold start ends with all of them bare whatever their
   * maps cost (each map costs more than its root line, and a root line more than its bare path): they
   * start bare, and the maps of a hundred thousand files are never costed (every one needed its gist
   * texts and its parse). False, changing nothing, otherwise.
   */
  private startsBare(heldDocs: Set<number>): boolean {
    const target = COLD_START_SHARE * this.settings.budget;
    // Every bare path costs at least a token: below this many documents the check cannot succeed.
    if (this.docs.length - heldDocs.size <= target - this.costModel.preamble) return false;
    const state = this.state.map((es, i) => (heldDocs.has(i) ? es : [bareEntry(this.docs[i])]));
    const costs = state.map((es) => this.costModel.documentCost(es));
    let used = this.costModel.preamble + costs.reduce((a, b) => a + b, 0);
    const extras = new Map<number, number>();
    for (let i = 0; i < state.length; i++) {
      const extra = this.costModel.bareRunExtra(state, i);
      if (extra !== 0) extras.set(i, extra);
      used += extra;
    }
    if (used <= target) return false;
    state.forEach((es, i) => (this.state[i] = es));
    this.costs = costs;
    this.used = used;
    for (const [i, x] of extras) this.runExtra.set(i, x);
    this.coldRoots = this.docs.filter((d, i) => !heldDocs.has(i) && d.tokenCount > 0).length;
    return true;
  }

  /** Folder lines shown (see foldFolders, unfoldFolders). */
  get foldedCount(): number {
    return this.foldedFolders;
  }

  get usedTokens(): number {
    return this.used;
  }

  private hold(h: Hold, heldDocs: Set<number>): void {
    const di = this.docs.findIndex((d) => d.id === h.docId);
    if (di < 0) return;
    heldDocs.add(di);
    const doc = this.docs[di];
    if (doc.nBlocks === 0) return;
    const b0 = doc.blockAtToken(Math.max(0, h.start));
    const end = Math.min(doc.tokenCount, h.end);
    // The blocks that hold any of [start, end): up to the one holding end - 1.
    const b1 = end > h.start ? doc.blockAtToken(end - 1) + 1 : b0 + 1;
    for (let b = b0; b < b1; b++) {
      const t = doc.blockTok[b];
      for (;;) {
        const entries = this.state[di];
        const i = entries.findIndex((e) => e.start <= t && t < Math.max(e.end, e.start + 1));
        if (i < 0) break;
        const e = entries[i];
        if (e.lod === 0) {
          e.held = true;
          break;
        }
        entries.splice(i, 1, ...children(e));
      }
    }
  }

  /**
   * Cold start when LOD2 of everything does not fit: whole documents to their root line, least relevant
   * first. A document holding a pin (or the chat tail) keeps it: holds are never traded for room, and
   * when they cannot fit, focus fails with a clear error rather than dropping them silently.
   */
  private coldCollapse(relevance: (doc: TreeDocument) => number): void {
    const order = this.docs
      .map((d, i) => ({ i, r: relevance(d), held: this.state[i].some((e) => e.held) }))
      .filter((d) => !d.held)
      .sort((a, b) => a.r - b.r || a.i - b.i);
    // Leave room to focus: the map alone should not take the whole budget.
    const target = COLD_START_SHARE * this.settings.budget;
    for (const { i } of order) {
      if (this.used <= target) break;
      if (this.state[i].length === 1 && this.state[i][0].lod === 3) continue;
      this.replaceDocument(i, [makeEntry(this.docs[i], 3, 0)]);
      this.coldRoots++;
    }
    // Still too much: the least relevant roots drop their names and keep only their path.
    for (const { i } of order) {
      if (this.used <= target) break;
      this.bare(i);
    }
    // Still too much (thousands of files): the least relevant folders fold into one line each.
    if (this.used > target) {
      const r = new Float64Array(this.docs.length);
      for (const o of order) r[o.i] = o.r;
      this.foldRelevance = r;
      // Documents with evidence stay listed (so a focus can open them) while their folders fold around
      // them; only when that does not fit do they fold too.
      this.foldFolders(order.filter((o) => !this.evidence(this.docs[o.i])), r, target);
      if (this.used > target) this.foldFolders(order, r, target);
    }
    if (this.used > this.settings.budget) {
      throw new BudgetTooSmallError(this.used, this.settings.budget, this.docs.length - order.length);
    }
  }

  /**
   * Folds whole folders into one line each until the map fits `target`. Candidates are the folders at
   * every level above the documents at their root line; the least relevant (by their most relevant
   * document) fold first and, among equals, the larger ones, so irrelevant packages fold whole while the
   * folder holding the evidence stays listed longest. A folder of one does not fold.
   */
  private foldFolders(order: { i: number }[], relevance: Float64Array, target: number): void {
    const groups = new Map<string, { folder: string; members: number[] }>();
    const join = (folder: string, i: number): void => {
      let g = groups.get(folder);
      if (!g) groups.set(folder, (g = { folder, members: [] }));
      g.members.push(i);
    };
    for (const { i } of order) {
      const es = this.state[i];
      if (es.length !== 1 || es[0].lod !== 3) continue;
      for (const folder of foldersAbove(this.costModel.displayPath(this.docs[i]))) join(folder, i);
    }
    const ranked = [...groups.values()]
      .filter((g) => g.members.length > 1)
      .map((g) => ({ ...g, members: g.members.sort((a, b) => a - b), r: g.members.reduce((m, i) => Math.max(m, relevance[i]), -Infinity) }))
      .sort((a, b) => (a.r !== b.r ? (a.r < b.r ? -1 : 1) : b.members.length - a.members.length || (a.folder < b.folder ? -1 : 1)));
    const within = (folder: string, outer: string) => outer === folder || outer === '.' || folder.startsWith(outer + '/');
    for (const { folder, members } of ranked) {
      if (this.used <= target) break;
      // Already folded here or into a larger folder (which then holds all of this one): nothing to do.
      if (members.every((i) => { const f = this.state[i][0].fold; return f !== undefined && within(folder, f.folder); })) continue;
      const tokens = members.reduce((n, i) => n + this.docs[i].tokenCount, 0);
      members.forEach((i, k) => {
        const fold = { folder, head: k === 0, files: members.length, tokens };
        this.replaceDocument(i, [bareEntry(this.docs[i], fold)]);
      });
    }
    this.foldedFolders = new Set(this.state.flatMap((es) => (es[0]?.fold?.head ? [es[0].fold.folder] : []))).size;
    this.folded = this.state.reduce((n, es) => n + (es[0]?.fold ? 1 : 0), 0);
  }

  /**
   * After the focus, the budget it left lists folded folders again, most relevant first: a folded
   * folder splits into its subfolders' lines and its own files' bare paths while that fits. Without
   * this, a workspace of thousands of files kept the cold start's folder lines however much of the
   * budget the focus left (227 of 2,048 tokens for 2,401 files in 24 folders). Returns how many folder
   * lines were split.
   */
  unfoldFolders(): number {
    if (this.folded === 0) return 0;
    const budget = this.settings.budget;
    // A folder's relevance: its most relevant document, folded or not (the one with the evidence stays
    // listed, and its folder is where an agent looks next).
    const folderRelevance = new Map<string, number>();
    this.docs.forEach((d, i) => {
      const r = this.foldRelevance?.[i] ?? 0;
      for (const folder of foldersAbove(this.costModel.displayPath(d))) {
        if (!((folderRelevance.get(folder) ?? -Infinity) >= r)) folderRelevance.set(folder, r);
      }
    });
    const folds = new Map<string, number[]>();
    this.state.forEach((es, i) => {
      const f = es[0]?.fold;
      if (!f) return;
      let m = folds.get(f.folder);
      if (!m) folds.set(f.folder, (m = []));
      m.push(i);
    });
    let split = 0;
    for (;;) {
      const ranked = [...folds]
        .map(([folder, members]) => ({ folder, members, r: folderRelevance.get(folder) ?? 0 }))
        .sort((a, b) => b.r - a.r || a.members.length - b.members.length || (a.folder < b.folder ? -1 : 1));
      let done = false;
      for (const { folder, members } of ranked) {
        const parts = this.splitFold(folder, members);
        // Every bare path costs at least a token and a folder line two: what cannot fit is not tried.
        if (parts.bare.length + 2 * parts.folds.length > budget - this.used) {
          folds.delete(folder);
          continue;
        }
        const before = members.map((i) => this.state[i]);
        for (const i of parts.bare) this.replaceDocument(i, [bareEntry(this.docs[i])]);
        for (const f of parts.folds) {
          const tokens = f.members.reduce((n, i) => n + this.docs[i].tokenCount, 0);
          f.members.forEach((i, k) => this.replaceDocument(i, [bareEntry(this.docs[i], { folder: f.folder, head: k === 0, files: f.members.length, tokens })]));
        }
        folds.delete(folder);
        if (this.used > budget) {
          members.forEach((i, k) => this.replaceDocument(i, before[k]));
          continue;
        }
        for (const f of parts.folds) folds.set(f.folder, f.members);
        split++;
        done = true;
        break;
      }
      if (!done) break;
    }
    this.foldedFolders = new Set(this.state.flatMap((es) => (es[0]?.fold?.head ? [es[0].fold.folder] : []))).size;
    this.folded = this.state.reduce((n, es) => n + (es[0]?.fold ? 1 : 0), 0);
    return split;
  }

  /**
   * A folded folder's members one level down: files directly in it (and alone in a subfolder) as bare
   * paths, each subfolder of several as its own folder line; a level holding one subfolder only is
   * passed through to the next.
   */
  private splitFold(folder: string, members: number[]): { bare: number[]; folds: { folder: string; members: number[] }[] } {
    let at = folder;
    for (let depth = 0; depth < MAX_FOLD_LEVELS; depth++) {
      const sub = new Map<string, number[]>();
      const bare: number[] = [];
      for (const i of members) {
        const path = this.costModel.displayPath(this.docs[i]);
        const rest = at === '.' ? path : path.slice(at.length + 1);
        const cut = rest.indexOf('/');
        if (at === '.' || cut < 0) {
          bare.push(i);
          continue;
        }
        const key = `${at}/${rest.slice(0, cut)}`;
        let m = sub.get(key);
        if (!m) sub.set(key, (m = []));
        m.push(i);
      }
      if (bare.length === 0 && sub.size === 1) {
        at = [...sub.keys()][0];
        continue;
      }
      const folds: { folder: string; members: number[] }[] = [];
      for (const [f, m] of sub) {
        if (m.length > 1) folds.push({ folder: f, members: m.sort((a, b) => a - b) });
        else bare.push(m[0]);
      }
      return { bare, folds };
    }
    return { bare: members, folds: [] };
  }

  /** Shows document i's root as its bare path; false when it is not a full root line. */
  private bare(i: number): boolean {
    const e = this.state[i][0];
    if (this.state[i].length !== 1 || e.lod !== 3 || e.bare) return false;
    this.replaceDocument(i, [{ ...e, bare: true }]);
    return true;
  }

  /** Bares the lowest-scoring full root line scoring below `below`; false when there is none. */
  private bareLowest(below: number): boolean {
    let pick = -1;
    this.state.forEach((es, i) => {
      const e = es[0];
      if (es.length === 1 && e.lod === 3 && !e.bare && e.score < below && (pick < 0 || e.score < this.state[pick][0].score)) pick = i;
    });
    return pick >= 0 && this.bare(pick);
  }

  private replaceDocument(di: number, entries: Entry[]): void {
    // Neighbours' shares change only when the document becomes, stops being or stays a bare path.
    const runs = this.costModel.bareFolder(this.state[di]) !== undefined || this.costModel.bareFolder(entries) !== undefined;
    this.state[di] = entries;
    const c = this.costModel.documentCost(entries);
    this.used += c - this.costs[di];
    this.costs[di] = c;
    if (runs) this.refreshBareRuns(di);
  }

  /**
   * Bare paths of one folder share a line, so what one costs depends on the documents beside it: after
   * document di changed, its own and its neighbours' share is counted again, keeping `used` equal to
   * the rendered count there (an under-estimate would cost a trim of real evidence after rendering).
   */
  private refreshBareRuns(di: number): void {
    for (let i = Math.max(0, di - 1); i <= Math.min(this.state.length - 1, di + 1); i++) {
      const extra = this.costModel.bareRunExtra(this.state, i);
      const had = this.runExtra.get(i) ?? 0;
      if (extra === had) continue;
      this.used += extra - had;
      if (extra === 0) this.runExtra.delete(i);
      else this.runExtra.set(i, extra);
    }
  }

  private expandDelta(di: number, e: Entry, kids: Entry[]): number {
    const entries = this.state[di];
    const i = entries.indexOf(e);
    return this.costModel.spliceDelta(entries, i, i + 1, kids);
  }

  /** Applies a collapse unless one of its members was replaced earlier in this iteration. */
  private collapse(iteration: number, c: CollapseGroup): boolean {
    const entries = this.state[c.docIdx];
    const from = entries.indexOf(c.members[0]);
    if (from < 0 || c.members.some((m, k) => entries[from + k] !== m)) return false;
    this.record(iteration, 'collapse', c.parent, [c.parent]);
    this.splice(c.docIdx, from, from + c.members.length, [c.parent]);
    return true;
  }

  private splice(di: number, from: number, to: number, insert: Entry[]): void {
    const wasBare = this.costModel.bareFolder(this.state[di]) !== undefined;
    const delta = this.costModel.spliceDelta(this.state[di], from, to, insert);
    this.state[di].splice(from, to - from, ...insert);
    this.costs[di] += delta;
    this.used += delta;
    if (wasBare) this.refreshBareRuns(di);
  }

  /** A user cap keeps an LOD2 node (and what lies inside it) from expanding; a pin inside it wins. */
  private capped(e: Entry): boolean {
    return e.lod === 2 && this.caps.some((c) => c.docId === e.doc.id && c.start < e.end && e.start < c.end);
  }

  private cooling(key: string, undo: 'expand' | 'collapse', iteration: number): boolean {
    const last = this.lastAction.get(key);
    return !!last && last.kind !== undo && iteration - last.iteration < this.settings.cooldown;
  }

  /** Sibling groups whose parent could replace them, with the mean score of the members. */
  private collapseGroups(): CollapseGroup[] {
    const out: CollapseGroup[] = [];
    this.state.forEach((entries, di) => {
      const doc = this.docs[di];
      // LOD0 -> LOD1 (one block).
      entries.forEach((e) => {
        if (e.lod === 0 && !e.held && e.index < doc.nLod1) {
          out.push({ docIdx: di, members: [e], parent: makeEntry(doc, 1, e.index), score: e.score });
        }
      });
      // LOD1 x 32 -> LOD2.
      for (let i = 0; i < entries.length; i++) {
        const e = entries[i];
        if (e.lod !== 1 || e.index % GROUP_BLOCKS !== 0) continue;
        const g = e.index / GROUP_BLOCKS;
        if (g >= doc.nLod2) continue;
        const n = Math.min(doc.nLod1, (g + 1) * GROUP_BLOCKS) - e.index;
        let ok = i + n <= entries.length;
        let sum = 0;
        for (let k = 0; ok && k < n; k++) {
          const c = entries[i + k];
          ok = c.lod === 1 && c.index === e.index + k;
          sum += c.score;
        }
        if (ok) out.push({ docIdx: di, members: entries.slice(i, i + n), parent: makeEntry(doc, 2, g), score: sum / n });
      }
      // Top level -> root.
      if (entries.length > 0 && entries[0].lod !== 3 && isTopLevel(entries, doc)) {
        const sum = entries.reduce((a, e) => a + e.score, 0);
        out.push({ docIdx: di, members: entries.slice(), parent: makeEntry(doc, 3, 0), score: sum / entries.length });
      }
    });
    return out;
  }

  private transform(flat: Entry[], raw: Float32Array): Float32Array {
    const { gate, shift, sharpen } = this.settings;
    const s = Float32Array.from(raw);
    if (gate < 1) {
      for (let i = 0; i < flat.length; i++) {
        const prev = this.prevScores.get(entryKey(flat[i]));
        if (prev !== undefined) s[i] = gate * s[i] + (1 - gate) * prev;
      }
    }
    if (shift) {
      const src = Float32Array.from(s);
      for (let i = 0; i < flat.length; i++) {
        let acc = shift[1] * src[i];
        let w = shift[1];
        if (i > 0 && flat[i - 1].doc === flat[i].doc) { acc += shift[0] * src[i - 1]; w += shift[0]; }
        if (i + 1 < flat.length && flat[i + 1].doc === flat[i].doc) { acc += shift[2] * src[i + 1]; w += shift[2]; }
        s[i] = w > 0 ? acc / w : src[i];
      }
    }
    if (sharpen !== 1) for (let i = 0; i < s.length; i++) s[i] = Math.sign(s[i]) * Math.abs(s[i]) ** sharpen;
    // Only the interpolation gate reads earlier scores.
    if (gate < 1) for (let i = 0; i < flat.length; i++) this.prevScores.set(entryKey(flat[i]), s[i]);
    return s;
  }

  private record(iteration: number, kind: 'expand' | 'collapse', e: Entry, created: Entry[]): void {
    this.actions.push({ iteration, kind, docId: e.doc.id, lod: e.lod, index: e.index });
    const key = entryKey(e);
    if (kind === 'expand') this.expandedThisRun.add(key);
    else if (this.settings.settle && this.expandedThisRun.has(key)) this.settled.add(key);
    for (const c of created) this.lastAction.set(entryKey(c), { iteration, kind });
  }

  /** Iterates score -> act until no legal action remains or the iteration cap is hit. */
  async run(score: Scorer, actions?: number): Promise<FocusTelemetry> {
    const { budget, tauExpand, tauCollapse, maxIterations } = this.settings;
    const nDiff = actions ?? actionsPerIteration(this.settings);
    let scoreMs = 0;
    let allocateMs = 0;
    let iterations = 0;
    for (let it = 0; it < maxIterations; it++) {
      iterations = it + 1;
      // A folded document can neither expand nor collapse, and renders at most its folder's line: it
      // is not scored (with thousands of files, most of the entries).
      const flat = this.folded > 0 ? this.state.flat().filter((e) => !e.fold) : this.state.flat();
      let t0 = performance.now();
      const raw = await score(flat);
      scoreMs += performance.now() - t0;
      t0 = performance.now();
      const s = this.transform(flat, raw);
      flat.forEach((e, i) => (e.score = s[i]));
      const expands = flat
        .map((e, order) => ({ e, order }))
        .filter(({ e }) => canExpand(e) && !this.capped(e) && e.score > tauExpand && !this.cooling(entryKey(e), 'expand', it) && !this.settled.has(entryKey(e)))
        .sort((a, b) => b.e.score - a.e.score || a.order - b.order);
      const groups = this.collapseGroups()
        .filter((g) => !g.members.some((m) => this.cooling(entryKey(m), 'collapse', it)))
        .sort(byCollapseOrder);
      let taken = 0;
      let gi = 0;
      // Full root lines by score, lowest first, taken in order: scores hold for the whole iteration, so
      // one sort replaces a scan of every document per expansion (quadratic with thousands of files).
      const roots: number[] = [];
      this.state.forEach((es, i) => { if (es.length === 1 && es[0].lod === 3 && !es[0].bare) roots.push(i); });
      roots.sort((a, b) => this.state[a][0].score - this.state[b][0].score || a - b);
      let ri = 0;
      const bareNext = (below: number): boolean => {
        for (; ri < roots.length; ri++) {
          const es = this.state[roots[ri]];
          if (es.length !== 1 || es[0].lod !== 3 || es[0].bare) continue; // expanded or bared since
          if (!(es[0].score < below)) return false;
          return this.bare(roots[ri++]);
        }
        return false;
      };
      for (const { e } of expands) {
        if (taken >= nDiff) break;
        const di = this.docs.indexOf(e.doc);
        if (this.state[di].indexOf(e) < 0) continue;
        const kids = children(e);
        // Under budget pressure, swap: collapse what scores lowest (by a margin) to make room.
        while (this.used + this.expandDelta(di, e, kids) > budget && taken < nDiff - 1 && gi < groups.length) {
          const g = groups[gi];
          if (g.score >= e.score - tauCollapse) break;
          gi++;
          if (!g.members.includes(e) && this.collapse(it, g)) taken++;
        }
        // Then full root lines of documents that matter less give up their names.
        while (this.used + this.expandDelta(di, e, kids) > budget && bareNext(e.score - tauCollapse)) {}
        if (this.used + this.expandDelta(di, e, kids) > budget) continue;
        const idx = this.state[di].indexOf(e);
        this.record(it, 'expand', e, kids);
        this.splice(di, idx, idx + 1, kids);
        taken++;
      }
      // The min-queue: what scores below -tau collapses to free budget — once the budget is nearly
      // spent. With room to spare, collapsing would only hide context at no gain.
      for (const g of groups) {
        if (taken >= nDiff || g.score >= -tauCollapse || this.used <= COLLAPSE_PRESSURE * budget) break;
        if (this.collapse(it, g)) taken++;
      }
      allocateMs += performance.now() - t0;
      if (taken === 0) break;
    }
    return this.telemetry(iterations, scoreMs, allocateMs);
  }

  /** Collapses the lowest-scoring collapsible group; false when nothing can collapse. */
  shrinkOnce(): boolean {
    const groups = this.collapseGroups().sort(byCollapseOrder);
    if (groups.length > 0) return this.collapse(-1, groups[0]);
    // Nothing left to collapse: the lowest-scoring full root line drops its names.
    return this.bareLowest(Infinity);
  }

  private telemetry(iterations: number, scoreMs: number, allocateMs: number): FocusTelemetry {
    const expands = this.actions.filter((a) => a.kind === 'expand').length;
    const collapses = this.actions.length - expands;
    const seen = new Map<string, string>();
    let oscillations = 0;
    for (const a of this.actions) {
      const k = `${a.docId}:${a.lod}:${a.index}`;
      const prev = seen.get(k);
      if (prev && prev !== a.kind) oscillations++;
      seen.set(k, a.kind);
    }
    const expanded = this.actions.filter((a) => a.kind === 'expand');
    let resident = 0;
    for (const a of expanded) {
      const di = this.docs.findIndex((d) => d.id === a.docId);
      const node = makeEntry(this.docs[di], a.lod, a.index);
      if (this.state[di].some((f) => f.lod < node.lod && f.start >= node.start && f.end <= node.end)) resident++;
    }
    const entries = this.state.reduce((n, s) => n + s.length, 0);
    return {
      iterations,
      expands,
      collapses,
      swapRate: entries > 0 ? this.actions.length / entries : 0,
      oscillations,
      residency: expanded.length > 0 ? resident / expanded.length : 1,
      budgetUtilisation: this.used / this.settings.budget,
      coldStartRoots: this.coldRoots,
      foldedFolders: this.foldedFolders,
      scoreMs,
      allocateMs,
    };
  }
}
