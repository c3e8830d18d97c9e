import { readFileSync } from 'node:fs';
import { basename, dirname, relative, sep } from 'node:path';
import { discoverFiles } from '../core/discovery';
import { FocusEngine, type ScorerKind } from '../core/engine';
import type { FocusSettings } from '../core/focus';
import type { PlanOptions } from '../core/plan';
import type { ModelRuntime } from '../core/runtime';
import { Tree } from '../core/tree';
import { bm25Rank, ChunkIndex, coveredShare, lineChunks, packByRank, recency, type Chunk } from './baselines';
import { mineCodeQueries } from './codeQueries';
import { loadConversations, type Conversation } from './locomo';

/** Gold evidence: a string range of one document that must be shown exactly, at least `need` of it. */
export interface Gold {
  doc: number;
  start: number;
  end: number;
  need: number;
}

export interface Haystack {
  name: string;
  docs: { id: string; text: string }[];
  cases: { query: string; gold: Gold[] }[];
}

export interface Method {
  name: string;
  /** The string ranges shown exactly, per document, and the prompt's token count. */
  run(h: PreparedHaystack, query: string, budget: number): Promise<{ exact: [number, number][][]; tokens: number; ms: number }>;
}

export interface PreparedHaystack {
  h: Haystack;
  engine: FocusEngine;
  chunks250: ChunkIndex;
  lines: ChunkIndex;
}

function baseline(name: string, pick: (p: PreparedHaystack, q: string, w: number) => Chunk[]): Method {
  return {
    name,
    async run(p, q, w) {
      const t0 = performance.now();
      const picked = pick(p, q, w);
      const exact: [number, number][][] = p.h.docs.map(() => []);
      for (const c of picked) exact[c.doc].push([c.start, c.end]);
      return { exact, tokens: 0, ms: performance.now() - t0 };
    },
  };
}

export const BASELINES: Method[] = [
  baseline('recency', (p, _q, w) => recency(p.h.docs.map((d) => d.text), w)),
  baseline('bm25-chunks', (p, q, w) => packByRank(p.chunks250.chunks, bm25Rank(p.chunks250, q), p.h.docs.map((d) => d.id), w).picked),
  baseline('bm25-lines', (p, q, w) => packByRank(p.lines.chunks, bm25Rank(p.lines, q), p.h.docs.map((d) => d.id), w).picked),
];

/** Request options of a MegaContext method besides the allocator settings. */
export interface McOptions {
  plan?: Partial<PlanOptions>;
  blockWords?: number;
  groupChildren?: number;
  blockStride?: number;
}

export function megacontext(name: string, scorer: ScorerKind, settings: Partial<Omit<FocusSettings, 'budget'>> = {}, options: McOptions = {}): Method {
  return {
    name,
    async run(p, q, w) {
      const wc = await p.engine.focus({ query: q, budget: w, scorer, settings, ...options });
      const index = new Map(p.h.docs.map((d, i) => [d.id, i]));
      const exact: [number, number][][] = p.h.docs.map(() => []);
      for (const r of wc.rendered.exactRuns) exact[index.get(r.doc.id)!].push([r.charStart, r.charEnd]);
      return { exact, tokens: wc.rendered.tokens, ms: wc.timings.totalMs };
    },
  };
}

export interface SuiteResult {
  suite: string;
  budget: number;
  n: number;
  recall: Record<string, number>;
  ms: Record<string, number>;
}

/** The haystack indexed into a tree of its own, with the baselines' chunk indexes. */
export async function prepareHaystack(h: Haystack, runtime: ModelRuntime): Promise<PreparedHaystack> {
  const tree = new Tree(runtime);
  await tree.ingest(h.docs.map((d) => ({ id: d.id, text: d.text, kind: 'file' as const })));
  const texts = h.docs.map((d) => d.text);
  return {
    h,
    engine: new FocusEngine(tree, runtime),
    chunks250: new ChunkIndex(lineChunks(texts, 250)),
    lines: new ChunkIndex(lineChunks(texts, 1)),
  };
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
  const results = budgets.map((budget) => ({ suite, budget, n: 0, recall: {} as Record<string, number>, ms: {} as Record<string, number> }));
  for (const h of haystacks) {
    const p = await prepareHaystack(h, runtime);
    for (const c of h.cases) {
      for (const r of results) {
        r.n++;
        for (const m of methods) {
          const out = await m.run(p, c.query, r.budget);
          const hit = c.gold.every((g) => shownEnough(g, out.exact));
          r.recall[m.name] = (r.recall[m.name] ?? 0) + (hit ? 1 : 0);
          r.ms[m.name] = (r.ms[m.name] ?? 0) + out.ms;
        }
      }
    }
    log(`  ${suite}: ${h.name} done (${h.cases.length} queries)`);
  }
  for (const r of results) {
    for (const k of Object.keys(r.recall)) {
      r.recall[k] = r.n > 0 ? r.recall[k] / r.n : 0;
      r.ms[k] = r.n > 0 ? r.ms[k] / r.n : 0;
    }
  }
  return results;
}

/** LoCoMo: one haystack per conversation; a turn counts when half its line is exact. */
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
    })),
  };
}

/** Code: one haystack per folder, its files named relative to the folder's parent; a function counts when 90% of its definition line is exact. */
export async function codeHaystack(folder: string, limit = Infinity): Promise<Haystack> {
  const found = await discoverFiles([folder], {});
  const docs: { id: string; text: string }[] = [];
  const cases: Haystack['cases'] = [];
  for (const f of found.files) {
    if (!/\.(py|[cm]?[jt]sx?)$/.test(f.path)) continue;
    const mined = mineCodeQueries(f.path, readFileSync(f.path, 'utf8'));
    const doc = docs.length;
    // Named as a workspace shows them: relative to the folder's parent (`email/utils.py`), for every method alike.
    docs.push({ id: relative(dirname(folder), f.path).split(sep).join('/'), text: mined.text });
    for (const q of mined.queries) {
      const line = mined.text.slice(q.defStart, q.defEnd).replace(/\s+$/, '');
      cases.push({ query: q.query, gold: [{ doc, start: q.defStart, end: q.defStart + line.length, need: 0.9 }] });
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
  const rows = results.map((r) => {
    const recall = methods.map((m) => (r.recall[m] === undefined ? '' : (100 * r.recall[m]).toFixed(1)));
    const ms = methods.filter((m) => m.startsWith('mc')).map((m) => (r.ms[m] ?? 0).toFixed(1)).join(', ');
    return `| ${r.suite} | ${r.budget} | ${r.n} | ${recall.join(' | ')} | ${ms} |`;
  });
  return [head, sep, ...rows].join('\n');
}
