// The cost model of the allocator and the plan: what each entry, run and document line of a working
// context costs in prompt tokens, estimated without rendering (render.ts renders; the rendered prompt's
// exact count is checked afterwards). Costs that depend only on a document are kept beside it, in
// tables keyed by the document, across refocuses.
import type { Entry } from './entry';
import {
  BLOCK_STRIDE, BLOCK_WORDS, bareRunPart, cacheOf, CLOSE, countSegment, displayText, foldLine, GROUP_CHILDREN, groupGistText,
  headerLine, isBarePath, OPEN, PREAMBLE_TOKENS, rootLine, shownBlockGist, splitPath,
} from './render';
import { countPromptTokens } from './tokenizer';
import type { TreeDocument } from './tree';

/**
 * Costs that depend only on a document, kept beside it across refocuses and CostModels (a document
 * never changes: a new version or an append is a new TreeDocument, whose costs start afresh):
 *  - gist costs per gist size (CostModel.gistCost): one per block or group, -1 until costed;
 *  - the lines that name it (header, root line, bare path) by display path, and its run markers
 *    (runOverhead): with thousands of files the cold-start map costs every one of them each time.
 */
const gistCosts1 = new WeakMap<TreeDocument, Map<number, Int32Array>>();
const gistCosts2 = new WeakMap<TreeDocument, Map<number, Int32Array>>();
const lineCosts = new WeakMap<TreeDocument, (string | number)[]>();

/**
 * A line cost kept for `doc` under `key` and display path `path` ('' for run markers). Each document's
 * are a flat [key, path, cost, …] list, a few entries long: a Map each (its table, and a key string
 * joining key and path) was ~700 bytes of every file of a 100k-file focus.
 */
function keptCost(doc: TreeDocument, key: string, path: string): number | undefined {
  const kept = lineCosts.get(doc);
  if (kept === undefined) return undefined;
  for (let i = 0; i < kept.length; i += 3) if (kept[i] === key && kept[i + 1] === path) return kept[i + 2] as number;
  return undefined;
}

function keepCost(doc: TreeDocument, key: string, path: string, cost: number): void {
  const kept = lineCosts.get(doc);
  if (kept === undefined) lineCosts.set(doc, [key, path, cost]);
  else kept.push(key, path, cost);
}

/** The line costs kept for `doc` so far, as `key:path` (or `key` for run markers) to cost (tests and diagnostics). */
export function keptLineCosts(doc: TreeDocument): ReadonlyMap<string, number> {
  const kept = lineCosts.get(doc) ?? [];
  const out = new Map<string, number>();
  for (let i = 0; i < kept.length; i += 3) out.set(kept[i + 1] === '' ? String(kept[i]) : `${kept[i]}:${kept[i + 1]}`, kept[i + 2] as number);
  return out;
}

/**
 * Token counts of gist entries (` words |`), by their text: tens of thousands of blocks and groups show
 * a few thousand distinct texts (a word, a unit's `name L12`, an empty group's `…`), and counting one took
 * about as long as making it. Cleared when it holds GIST_COUNTS_KEPT texts; a count is the same either way.
 */
const gistCounts = new Map<string, number>();
const GIST_COUNTS_KEPT = 16384;

function countGist(text: string): number {
  let n = gistCounts.get(text);
  if (n === undefined) {
    if (gistCounts.size >= GIST_COUNTS_KEPT) gistCounts.clear();
    gistCounts.set(text, (n = countPromptTokens(text)));
  }
  return n;
}

/** Tokens of slack per exact run, for re-tokenization at its edges. */
const RUN_SLACK = 1;

/**
 * Tokens a run of same-LOD entries of `doc` adds besides its entries, with line numbers as long as the
 * document's last: exact text its `[[exact La-b]]` line, the line break before `[[/exact]]` and that
 * line (12 tokens up to 999 lines, 14 up to 9,999: the most measured over 3,000 random runs of dev
 * code and chat) and RUN_SLACK; a gist line its `~ La-b:` or `≈ La-b:` prefix (the line break takes the
 * last entry's ` |`). Kept beside the document (lineCosts).
 */
function runOverhead(doc: TreeDocument, lod: number): number {
  if (lod !== 0 && lod !== 1 && lod !== 2) return 0;
  const key = lod === 0 ? 'o0' : lod === 1 ? 'o1' : 'o2';
  let c = keptCost(doc, key, '');
  if (c === undefined) {
    const n = doc.lines.length;
    c = lod === 0 ? countPromptTokens(OPEN(n, n)) + 1 + countPromptTokens(CLOSE) + RUN_SLACK : countPromptTokens(`${lod === 1 ? '~' : '≈'} L${n}-${n}:`);
    keepCost(doc, key, '', c);
  }
  return c;
}

/** Cost model used while allocating; the rendered prompt's exact count is checked afterwards. */
export class CostModel {
  readonly preamble = PREAMBLE_TOKENS;

  /** The path as the prompt shows it (escaped: displayText). */
  readonly displayPath: (doc: TreeDocument) => string;

  constructor(
    displayPath: (doc: TreeDocument) => string,
    readonly blockWords = BLOCK_WORDS,
    readonly groupChildren = GROUP_CHILDREN,
    readonly blockStride = BLOCK_STRIDE,
    /** The units a root line names first for this focus's query (RenderOptions.rootUnits): priced per focus. */
    private readonly rootUnits?: (doc: TreeDocument) => readonly number[],
  ) {
    // Asked on every cost lookup of a line that names a document: computed once per document.
    const shown = new WeakMap<TreeDocument, string>();
    this.displayPath = (doc) => {
      let p = shown.get(doc);
      if (p === undefined) shown.set(doc, (p = displayText(displayPath(doc))));
      return p;
    };
  }

  /** A cost kept beside the document across refocuses, under `key` and its display path. */
  private onDocument(doc: TreeDocument, key: string, cost: (path: string) => number): number {
    const path = this.displayPath(doc);
    let c = keptCost(doc, key, path);
    if (c === undefined) keepCost(doc, key, path, (c = cost(path)));
    return c;
  }

  /**
   * A line naming `doc` (kind h = header, r = root line, b = bare path). A bare path is priced as the
   * last name of a folder line, ` | name` and its line break; bareRunExtra adds what its neighbours make
   * it cost besides (a line's prefix, or a line of its own).
   */
  private docLine(doc: TreeDocument, kind: 'h' | 'r' | 'b'): number {
    if (kind === 'r' && this.rootUnits) {
      const first = this.rootUnits(doc);
      if (first.length > 0) {
        let c = this.queryRoots.get(doc);
        if (c === undefined) this.queryRoots.set(doc, (c = countPromptTokens(rootLine(doc, this.displayPath(doc), false, first))));
        return c;
      }
    }
    return this.onDocument(doc, kind, (path) =>
      countPromptTokens(kind === 'b' ? bareRunPart(path, splitPath(path)[0], undefined) : kind === 'h' ? headerLine(doc, path) : rootLine(doc, path)));
  }

  /** Root lines that name query units, priced for this focus only. */
  private readonly queryRoots = new Map<TreeDocument, number>();

  /** Each document's display folder (this model's display path is fixed): asked for on every bare-path change. */
  private readonly folders = new WeakMap<TreeDocument, string>();

  /** The folder a document's bare path shares a line with, when `entries` show it as a bare path. */
  bareFolder(entries: Entry[] | undefined): string | undefined {
    if (!isBarePath(entries)) return undefined;
    const doc = entries![0].doc;
    let f = this.folders.get(doc);
    if (f === undefined) this.folders.set(doc, (f = splitPath(this.displayPath(doc))[0]));
    return f;
  }

  /**
   * What document i's bare path costs beyond its documentCost, given the documents beside it in the
   * rendering order: a folder line's first name carries the `· folder/:` prefix, a middle one no line
   * break, a lone one a line of its own (documentCost prices every bare path as the last name of a
   * folder line). 0 when not bare.
   */
  bareRunExtra(perDoc: Entry[][], i: number): number {
    const own = this.bareFolder(perDoc[i]);
    if (own === undefined) return 0;
    const doc = perDoc[i][0].doc;
    const joinsPrev = own !== '' && this.bareFolder(perDoc[i - 1]) === own;
    const joinsNext = own !== '' && this.bareFolder(perDoc[i + 1]) === own;
    if (joinsPrev && !joinsNext) return 0; // the last name of a folder line: as priced
    const key = joinsPrev ? 'bm' : joinsNext ? 'bf' : 'bl'; // middle, first, lone
    const part = this.onDocument(doc, key, (path) => countPromptTokens(bareRunPart(path, joinsPrev ? own : undefined, joinsNext ? own : undefined)));
    return part - this.docLine(doc, 'b');
  }

  /** Run markers of one run of exact text (its `[[exact]]`/`[[/exact]]` lines) and the gist line prefix it splits off. */
  exactRunMarkers(doc: TreeDocument): number {
    return runOverhead(doc, 0) + runOverhead(doc, 1);
  }

  /**
   * Token cost of one entry within its run: its tokens at LOD0, its share of a block-gist line at
   * LOD1, its gist line at LOD2, its root line at LOD3. Run markers are counted by documentCost.
   */
  entryCost(e: Entry): number {
    const doc = e.doc;
    if (e.lod === 0) return e.end - e.start;
    if (e.lod === 3 && e.fold) {
      const f = e.fold;
      return f.head ? countSegment(foldLine(f)) : 0;
    }
    if (e.lod === 3) return this.docLine(doc, e.bare ? 'b' : 'r');
    return this.gistCost(doc, e.lod, e.index);
  }

  /**
   * Cost of an LOD1 (block) or LOD2 (group) gist of `doc`: its share of its `~` or `≈` line, ` words |`
   * as it sits mid-line (the leading space joins the first word's token; counting `words | ` alone
   * over-estimated ~2 tokens per entry). Gist costs do not depend on the display path: they are kept
   * for the document across queries (gistCosts1/2), one typed array per level and gist size (the plan
   * asks for tens of thousands per refocus).
   */
  gistCost(doc: TreeDocument, lod: 1 | 2, index: number): number {
    const costs = this.gistCosts(doc, lod);
    let c = costs[index];
    if (c < 0) {
      const text = lod === 1 ? shownBlockGist(doc, index, this.blockWords, this.blockStride) : groupGistText(doc, index, this.groupChildren);
      // A block without words shows nothing (its line's range covers it); an empty group shows `…`.
      c = lod === 1 && !text ? 0 : countGist(' ' + (text || '…') + ' |');
      costs[index] = c;
    }
    return c;
  }

  /**
   * The kept gist costs of `doc` at `lod` for this model's gist sizes, by block or group: -1 where not
   * costed yet (gistCost costs it). A loop over many blocks reads it directly.
   */
  gistCosts(doc: TreeDocument, lod: 1 | 2): Int32Array {
    const settings = lod === 1 ? Math.min(this.blockWords, 7) * 8 + Math.min(this.blockStride, 7) : Math.min(this.groupChildren, 7);
    const byLevel = cacheOf(lod === 1 ? gistCosts1 : gistCosts2, doc);
    let costs = byLevel.get(settings);
    if (!costs) byLevel.set(settings, (costs = new Int32Array(lod === 1 ? doc.nBlocks : doc.nLod2).fill(-1)));
    return costs;
  }

  /**
   * Cost change of replacing entries[from, to) by `insert`, looking only at the splice and its two
   * neighbours (run markers depend on them), so an allocator step does not re-cost a whole document.
   */
  spliceDelta(entries: Entry[], from: number, to: number, insert: Entry[]): number {
    const whole = from === 0 && to === entries.length;
    if (whole || (insert.length === 1 && insert[0].lod === 3)) {
      const next = [...entries.slice(0, from), ...insert, ...entries.slice(to)];
      return this.documentCost(next) - this.documentCost(entries);
    }
    const doc = (entries[from] ?? entries[0] ?? insert[0]).doc;
    const prev = from > 0 ? entries[from - 1].lod : -1;
    const after = to < entries.length ? entries[to].lod : -1;
    const seq = (list: Entry[], a: number, b: number): number => {
      let c = 0;
      let run = prev;
      for (let i = a; i < b; i++) {
        const e = list[i];
        if (e.lod !== run) c += runOverhead(doc, e.lod);
        run = e.lod;
        c += this.entryCost(e);
      }
      if (after !== -1 && after !== run) c += runOverhead(doc, after);
      return c;
    };
    return seq(insert, 0, insert.length) - seq(entries, from, to);
  }

  /**
   * documentCost of a document's starting entries (its top level, or its root when empty), which depend
   * only on the document and the gist sizes: kept beside it across refocuses (thousands of files cost
   * thousands of gist lines).
   */
  startCost(entries: Entry[]): number {
    return this.onDocument(entries[0].doc, `t${this.blockWords},${this.groupChildren},${this.blockStride}`, () => this.documentCost(entries));
  }

  /** Estimated token cost of one document's rendering. */
  documentCost(entries: Entry[]): number {
    const doc = entries[0].doc;
    if (entries.length === 1 && entries[0].lod === 3) return this.entryCost(entries[0]);
    let cost = this.docLine(doc, 'h');
    let run = -1;
    for (const e of entries) {
      if (e.lod !== run) cost += runOverhead(doc, e.lod);
      run = e.lod;
      cost += this.entryCost(e);
    }
    return cost;
  }
}
