import { readFileSync } from 'node:fs';
import { basename, dirname, relative, sep } from 'node:path';
import { discoverFiles } from '../core/discovery';
import { FocusEngine, type ScorerKind } from '../core/engine';
import type { FocusSettings } from '../core/focus';
import type { PlanOptions } from '../core/plan';
import type { ModelRuntime } from '../core/runtime';
import type { Rendered } from '../core/render';
import { lineOf, lineStarts } from '../core/tokenizer';
import { Tree } from '../core/tree';
import { bm25Rank, ChunkIndex, coveredShare, fileChunks, lineChunks, packByRank, recency, type Chunk } from './baselines';
import { mineCodeQueries } from './codeQueries';
import { definitionEnd, findDefinitions, languageOf } from './definitions';
import { loadConversations, type Conversation } from './locomo';

/** Gold evidence: a string range of one document that must be shown exactly, at least `need` of it. */
export interface Gold {
  doc: number;
  start: number;
  end: number;
  need: number;
}

/**
 * A query with its evidence graded two ways: `gold` the earlier, lenient criterion (kept for
 * continuity: most of a definition line, half of a turn) and `whole` what an agent needs (the whole
 * function, every turn whole).
 */
export interface Case {
  query: string;
  gold: Gold[];
  whole: Gold[];
  /** Code: the gold function's name and its definition line (1-based), for the map-name metric. */
  unit?: { doc: number; line: number; name: string };
}

export interface Haystack {
  name: string;
  docs: { id: string; text: string }[];
  cases: Case[];
}

/** A line of the rendered map that names a span (render.ts `mapLines`); lines are 1-based. */
export interface MapLine {
  docId: string;
  startLine: number;
  endLine: number;
  names: { name: string; line: number }[];
}

export interface MethodOutput {
  /** The string ranges shown exactly, per document. */
  exact: [number, number][][];
  /** The prompt's token count (0 for baselines, which pack to the budget by construction). */
  tokens: number;
  ms: number;
  /** The map lines a MegaContext prompt shows (none for baselines). */
  mapLines: MapLine[];
}

export interface Method {
  name: string;
  run(h: PreparedHaystack, query: string, budget: number): Promise<MethodOutput>;
}

/** How the BM25 baselines cut documents: ~250-token chunks of whole lines, single lines, whole files. */
export type Chunking = 'chunks250' | 'lines' | 'files';

export interface PreparedHaystack {
  h: Haystack;
  engine: FocusEngine;
  /** The BM25 index of one chunking, built on first use (a haystack rarely needs all of them). */
  index(kind: Chunking): ChunkIndex;
}

export function chunkDocuments(texts: string[], kind: Chunking): Chunk[] {
  return kind === 'files' ? fileChunks(texts) : lineChunks(texts, kind === 'lines' ? 1 : 250);
}

function baseline(name: string, pick: (p: PreparedHaystack, q: string, w: number) => Chunk[]): Method {
  return {
    name,
    async run(p, q, w) {
      const t0 = performance.now();
      const picked = pick(p, q, w);
      const exact: [number, number][][] = p.h.docs.map(() => []);
      for (const c of picked) exact[c.doc].push([c.start, c.end]);
      return { exact, tokens: 0, ms: performance.now() - t0, mapLines: [] };
    },
  };
}

/** BM25 over one chunking, chunks packed whole in rank order under a header each. */
function bm25(name: string, kind: Chunking): Method {
  return baseline(name, (p, q, w) => {
    const index = p.index(kind);
    return packByRank(index.chunks, bm25Rank(index, q), p.h.docs.map((d) => d.id), w).picked;
  });
}

export const BASELINES: Method[] = [
  baseline('recency', (p, _q, w) => recency(p.h.docs.map((d) => d.text), w)),
  bm25('bm25-chunks', 'chunks250'),
  bm25('bm25-lines', 'lines'),
];

/** The SWE-bench paper's sparse retrieval: whole files by BM25, packed until the budget is full. */
export const BM25_FILES = bm25('bm25-files', 'files');

/** Request options of a MegaContext method besides the allocator settings. */
export interface McOptions {
  plan?: Partial<PlanOptions>;
  blockWords?: number;
  groupChildren?: number;
  blockStride?: number;
}

/** Per MegaContext method, the exact runs it showed in this process and how many start at a line start and end at a line end. */
export const exactRunLines = new Map<string, { runs: number; lineTrue: number }>();

function countLineTrue(method: string, text: string, start: number, end: number): void {
  let c = exactRunLines.get(method);
  if (!c) exactRunLines.set(method, (c = { runs: 0, lineTrue: 0 }));
  c.runs++;
  if ((start === 0 || text[start - 1] === '\n') && (end === text.length || text[end - 1] === '\n')) c.lineTrue++;
}

export function megacontext(name: string, scorer: ScorerKind, settings: Partial<Omit<FocusSettings, 'budget'>> = {}, options: McOptions = {}): Method {
  return {
    name,
    async run(p, q, w) {
      const wc = await p.engine.focus({ query: q, budget: w, scorer, settings, ...options });
      const index = new Map(p.h.docs.map((d, i) => [d.id, i]));
      const exact: [number, number][][] = p.h.docs.map(() => []);
      for (const r of wc.rendered.exactRuns) {
        exact[index.get(r.doc.id)!].push([r.charStart, r.charEnd]);
        countLineTrue(name, r.doc.text, r.charStart, r.charEnd);
      }
      // Read as optional: an engine whose renderer does not report map lines shows none.
      const { mapLines } = wc.rendered as Rendered & { mapLines?: MapLine[] };
      return { exact, tokens: wc.rendered.tokens, ms: wc.timings.totalMs, mapLines: mapLines ?? [] };
    },
  };
}

export interface SuiteResult {
  suite: string;
  budget: number;
  n: number;
  /** Share of cases found by the earlier criterion (Case.gold), per method. */
  recall: Record<string, number>;
  /** Share of cases found whole (Case.whole), per method. */
  whole: Record<string, number>;
  ms: Record<string, number>;
  /**
   * Code only (cases with a Case.unit): of the cases where the function's definition line is not exact,
   * how many have its name on a map line with that line (`megacontext_expand` can go there), per method;
   * `notWhole` counts those cases. The choice of names on map lines (#19: GistNet's salience) is judged by it.
   */
  named?: Record<string, number>;
  notWhole?: Record<string, number>;
}

/** Whether a map line of `docId` names `unit` with its definition line (a qualified name's last part counts). */
export function mapNamesUnit(mapLines: readonly MapLine[], docId: string, unit: { line: number; name: string }): boolean {
  return mapLines.some((m) => m.docId === docId && m.names.some((n) => n.line === unit.line && n.name.split(/[.:]/).pop() === unit.name));
}

/** BM25 indexes of `texts`, each built when first asked for. */
export function lazyIndexes(texts: string[], build: (kind: Chunking) => ChunkIndex = (kind) => new ChunkIndex(chunkDocuments(texts, kind))): (kind: Chunking) => ChunkIndex {
  const built = new Map<Chunking, ChunkIndex>();
  return (kind) => {
    let index = built.get(kind);
    if (!index) built.set(kind, (index = build(kind)));
    return index;
  };
}

/** The haystack indexed into a tree of its own, with the baselines' chunk indexes. */
export async function prepareHaystack(h: Haystack, runtime: ModelRuntime): Promise<PreparedHaystack> {
  const tree = new Tree(runtime);
  await tree.ingest(h.docs.map((d) => ({ id: d.id, text: d.text, kind: 'file' as const })));
  return { h, engine: new FocusEngine(tree, runtime), index: lazyIndexes(h.docs.map((d) => d.text)) };
}

/** Whether a method's exact ranges (per document) show enough of one piece of gold evidence. */
export function shownEnough(g: Gold, exact: [number, number][][]): boolean {
  return coveredShare(g.start, g.end, exact[g.doc]) >= g.need;
}

export async function runSuite(
  suite: string,
  haystacks: Haystack[],
  runtime: ModelRuntime,
  methods: Method[],
  budgets: number[],
  log: (s: string) => void = () => {},
): Promise<SuiteResult[]> {
  const results: SuiteResult[] = budgets.map((budget) => ({ suite, budget, n: 0, recall: {}, whole: {}, ms: {} }));
  for (const h of haystacks) {
    const p = await prepareHaystack(h, runtime);
    for (const c of h.cases) {
      for (const r of results) {
        r.n++;
        for (const m of methods) {
          const out = await m.run(p, c.query, r.budget);
          const found = (gold: Gold[]) => (gold.every((g) => shownEnough(g, out.exact)) ? 1 : 0);
          const line = found(c.gold);
          r.recall[m.name] = (r.recall[m.name] ?? 0) + line;
          r.whole[m.name] = (r.whole[m.name] ?? 0) + found(c.whole);
          r.ms[m.name] = (r.ms[m.name] ?? 0) + out.ms;
          if (c.unit && !line) {
            (r.notWhole ??= {})[m.name] = (r.notWhole[m.name] ?? 0) + 1;
            const named = mapNamesUnit(out.mapLines, p.h.docs[c.unit.doc].id, c.unit) ? 1 : 0;
            (r.named ??= {})[m.name] = (r.named[m.name] ?? 0) + named;
          }
        }
      }
    }
    log(`  ${suite}: ${h.name} done (${h.cases.length} queries)`);
  }
  for (const r of results) {
    for (const k of Object.keys(r.recall)) {
      r.recall[k] = r.n > 0 ? r.recall[k] / r.n : 0;
      r.whole[k] = r.n > 0 ? r.whole[k] / r.n : 0;
      r.ms[k] = r.n > 0 ? r.ms[k] / r.n : 0;
    }
  }
  return results;
}

/** LoCoMo: one haystack per conversation; a turn counts when half its line is exact (`whole`: all of it). */
export function locomoHaystacks(dir: string, limit = Infinity, exclude: ReadonlySet<string> = new Set()): Haystack[] {
  return loadConversations(dir).filter((c) => !exclude.has(c.id)).map((c) => locomoHaystack(c, limit));
}

/** One conversation as a haystack: its first `limit` questions, in order, with their evidence turns as gold. */
export function locomoHaystack(c: Conversation, limit = Infinity): Haystack {
  return {
    name: `locomo/${c.id}`,
    docs: [{ id: `locomo/${c.id}`, text: c.text }],
    cases: c.questions.slice(0, limit).map((q) => ({
      query: q.question,
      gold: q.evidence.map((e) => {
        const [start, end] = c.lines.get(e)!;
        return { doc: 0, start, end, need: 0.5 };
      }),
      whole: q.evidence.map((e) => {
        const [start, end] = c.lines.get(e)!;
        return { doc: 0, start, end, need: 1 };
      }),
    })),
  };
}

/** A whole function is graded on its definition line and at most this many lines of its body. */
export const WHOLE_FUNCTION_LINES = 40;

/**
 * For a file's text, the string range of the whole function whose definition line starts at a given
 * offset: from there to the end of its body (found by src/eval/definitions.ts, not by the engine), at
 * most WHOLE_FUNCTION_LINES body lines, without the last line break.
 */
export function wholeFunctions(path: string, text: string): (defStart: number) => [number, number] {
  const lang = languageOf(path);
  const defs = lang ? findDefinitions(text, lang) : [];
  const starts = lineStarts(text);
  return (defStart) => {
    const head = lineOf(starts, defStart) - 1;
    const end = Math.min(lang ? definitionEnd(text, lang, head, defs) : head, head + WHOLE_FUNCTION_LINES);
    return [starts[head], end + 1 < starts.length ? starts[end + 1] - 1 : text.length];
  };
}

/**
 * Code: one haystack per folder, its files named relative to the folder's parent; a function counts
 * when 90% of its definition line is exact (`whole`: the whole function, see wholeFunctions).
 */
export async function codeHaystack(folder: string, limit = Infinity): Promise<Haystack> {
  const found = await discoverFiles([folder], {});
  const docs: { id: string; text: string }[] = [];
  const cases: Case[] = [];
  for (const f of found.files) {
    if (!/\.(py|[cm]?[jt]sx?)$/.test(f.path)) continue;
    const mined = mineCodeQueries(f.path, readFileSync(f.path, 'utf8'));
    const doc = docs.length;
    // Named as a workspace shows them: relative to the folder's parent (`email/utils.py`), for every method alike.
    docs.push({ id: relative(dirname(folder), f.path).split(sep).join('/'), text: mined.text });
    const whole = wholeFunctions(f.path, mined.text);
    const starts = lineStarts(mined.text);
    for (const q of mined.queries) {
      const line = mined.text.slice(q.defStart, q.defEnd).replace(/\s+$/, '');
      const [start, end] = whole(q.defStart);
      cases.push({
        query: q.query,
        gold: [{ doc, start: q.defStart, end: q.defStart + line.length, need: 0.9 }],
        whole: [{ doc, start, end, need: 1 }],
        unit: { doc, line: lineOf(starts, q.defStart), name: q.name },
      });
    }
  }
  // A deterministic spread of queries when limited.
  const step = Math.max(1, Math.floor(cases.length / Math.min(limit, cases.length || 1)));
  return { name: `code/${basename(folder)}`, docs, cases: cases.filter((_, i) => i % step === 0).slice(0, limit) };
}

export function formatTable(results: SuiteResult[]): string {
  const methods = [...new Set(results.flatMap((r) => Object.keys(r.recall)))];
  const head = `| suite | W | n | ${methods.join(' | ')} | refocus ms (${methods.filter((m) => m.startsWith('mc')).join(', ')}) |`;
  const sep = `|${' --- |'.repeat(methods.length + 4)}`;
  const pct = (x: number) => (100 * x).toFixed(1);
  const rows = results.map((r) => {
    const recall = methods.map((m) => (r.recall[m] === undefined ? '' : `${pct(r.recall[m])} / ${pct(r.whole[m])}`));
    const ms = methods.filter((m) => m.startsWith('mc')).map((m) => (r.ms[m] ?? 0).toFixed(1)).join(', ');
    return `| ${r.suite} | ${r.budget} | ${r.n} | ${recall.join(' | ')} | ${ms} |`;
  });
  const legend =
    `(% found, earlier criterion / whole: code = 90% of the definition line / the whole function, definition line ` +
    `and up to ${WHOLE_FUNCTION_LINES} body lines; locomo = half of each evidence turn's line / every evidence turn whole)`;
  return [head, sep, ...rows, legend].join('\n');
}

/**
 * The map-name metric of the code suites (SuiteResult.named): per method, of the functions whose
 * definition line is not exact, the share named with their line on a map line, and how many that was.
 * Empty without code suites.
 */
export function formatNamedTable(results: SuiteResult[]): string {
  const rows = results.filter((r) => r.notWhole !== undefined);
  if (rows.length === 0) return '';
  const methods = [...new Set(rows.flatMap((r) => Object.keys(r.recall)))].filter((m) => m.startsWith('mc'));
  const head = `| suite | W | ${methods.join(' | ')} |`;
  const sep = `|${' --- |'.repeat(methods.length + 2)}`;
  const body = rows.map((r) => {
    const cells = methods.map((m) => {
      const n = r.notWhole?.[m] ?? 0;
      return n > 0 ? `${(100 * (r.named?.[m] ?? 0) / n).toFixed(1)} of ${n}` : '– of 0';
    });
    return `| ${r.suite} | ${r.budget} | ${cells.join(' | ')} |`;
  });
  const legend = '(functions whose definition line is not exact: % named on a map line with that line, where an agent can expand it; BM25 baselines draw no map)';
  return ['Map names (code): the gold function named on the map when its definition line is not exact', head, sep, ...body, legend].join('\n');
}
