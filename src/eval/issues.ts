import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { discoverFiles, redactSecrets } from '../core/discovery';
import { FocusEngine } from '../core/engine';
import type { ModelRuntime } from '../core/runtime';
import { lineStarts } from '../core/tokenizer';
import { Tree } from '../core/tree';
import { chunkTokens, ChunkIndex, lineChunks, termCounts, type Chunk } from './baselines';
import { findDefinitions, innermostDefinition, languageOf, type Definition } from './definitions';
import { lazyIndexes, type MapLine, type Method, type PreparedHaystack } from './harness';

/**
 * Issue localization (`megacontext eval --issues DIR`): a change's description as the query, the whole
 * base tree of its repository as the workspace, and the lines the change modified as the gold. The data
 * set and its selection rules: ../shared/data/issue-loc-dev/README.md.
 */

export interface IssueGold {
  path: string;
  /** 1-based, inclusive line ranges (hunks) of the base version. */
  lines: [number, number][];
}

export interface IssueInstance {
  id: string;
  repo: string;
  bundle: string;
  base: string;
  /** The change: `base` is its first parent. */
  fix: string;
  query: string;
  gold: IssueGold[];
}

export type IssueSplit = 'dev' | 'test';

/** dev: what we tune on; test: our own held-back split, reported untouched. */
export const ISSUE_SPLITS: Record<IssueSplit, readonly string[]> = {
  dev: ['pallets/click', 'encode/httpx', 'python-attrs/attrs'],
  test: ['sindresorhus/ky', 'expressjs/express'],
};

export const ISSUE_BUDGETS = [8192, 16384, 32768];

export const ISSUES_HELP =
  'Issue-localization data not found. It lives in ../shared/data/issue-loc-dev/ beside the checkout ' +
  '(instances.jsonl and one git bundle per repository); pass another folder with --issues DIR, or --issues none.';

export function loadIssueInstances(dir: string): IssueInstance[] {
  let text: string;
  try {
    text = readFileSync(join(dir, 'instances.jsonl'), 'utf8');
  } catch {
    throw new Error(`${ISSUES_HELP} (looked in ${dir})`);
  }
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l, i) => {
      try {
        return JSON.parse(l) as IssueInstance;
      } catch {
        throw new Error(`${join(dir, 'instances.jsonl')}:${i + 1}: not valid JSON`);
      }
    });
}

/** The instances of a split's repositories, the first `limit` of each in file order (oldest first). */
export function selectInstances(all: IssueInstance[], split: IssueSplit, limit = Infinity): IssueInstance[] {
  const taken = new Map<string, number>();
  return all.filter((inst) => {
    if (!ISSUE_SPLITS[split].includes(inst.repo)) return false;
    const n = taken.get(inst.repo) ?? 0;
    taken.set(inst.repo, n + 1);
    return n < limit;
  });
}

/** A repository's bare clone under `cache` (made from its bundle once, then reused): its git directory. */
export function bareRepository(dataDir: string, cache: string, bundle: string): string {
  const gitDir = join(cache, 'git', `${bundle.replace(/\.bundle$/, '')}.git`);
  if (!existsSync(gitDir)) {
    const tmp = `${gitDir}.tmp-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(join(cache, 'git'), { recursive: true });
    execFileSync('git', ['clone', '--bare', '--quiet', join(dataDir, bundle), tmp], { stdio: ['ignore', 'ignore', 'pipe'] });
    renameSync(tmp, gitDir);
  }
  return gitDir;
}

/**
 * The instance's base tree under `cache` (reused when present): the bundle cloned bare once per
 * repository, then `git archive <base> | tar -x`. Each tree gets an empty `.git` folder, as a checkout
 * has: discovery then reads no .gitignore above it (the project's own ignores `.cache/`, which would
 * hide every file).
 */
export function materializeBase(dataDir: string, cache: string, inst: IssueInstance): string {
  const name = inst.bundle.replace(/\.bundle$/, '');
  const gitDir = bareRepository(dataDir, cache, inst.bundle);
  const tree = join(cache, 'trees', name, inst.base);
  if (!existsSync(tree)) {
    // Extracted beside and renamed: an interrupted run never leaves a half tree to be reused.
    const tmp = `${tree}.tmp-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(join(tmp, '.git'), { recursive: true });
    const archive = execFileSync('git', ['--git-dir', gitDir, 'archive', inst.base], { maxBuffer: 1 << 30, stdio: ['ignore', 'pipe', 'pipe'] });
    execFileSync('tar', ['-x', '-C', tmp], { input: archive, stdio: ['pipe', 'ignore', 'pipe'] });
    renameSync(tmp, tree);
  }
  return tree;
}

/** What the baselines need of one version of a file, kept by content hash across a repository's bases. */
interface FileFacts {
  tokens: number;
  tf: Map<string, number>;
  chunks: { start: number; end: number; tokens: number; tf: Map<string, number> }[];
}

/**
 * One repository's trees, base after base: a single engine tree updated to each base (unchanged files
 * are kept, changed ones re-gist only their new blocks, vanished ones are removed), and the baselines'
 * term statistics kept per file version. Bases of one repository share most of their files.
 */
export class RepoHaystacks {
  readonly tree: Tree;
  readonly engine: FocusEngine;
  private readonly facts = new Map<string, FileFacts>();

  constructor(runtime: ModelRuntime) {
    // A large block cache: a renamed or moved file (click's move to src/) keeps its gists.
    this.tree = new Tree(runtime, 1 << 16);
    this.engine = new FocusEngine(this.tree, runtime);
  }

  /** The workspace the product would see at `root`: discovered, read and redacted as the indexer does. */
  async checkout(name: string, root: string): Promise<PreparedHaystack> {
    const found = await discoverFiles([root], {});
    const docs = found.files.map((f) => ({
      id: relative(root, f.path).split(sep).join('/'),
      text: redactSecrets(readFileSync(f.path, 'utf8')).text,
    }));
    const keep = new Set(docs.map((d) => d.id));
    for (const id of [...this.tree.documents.keys()]) if (!keep.has(id)) this.tree.remove(id);
    await this.tree.ingest(docs.map((d) => ({ ...d, kind: 'file' as const })));
    const facts = docs.map((d) => this.factsOf(d.text, this.tree.documents.get(d.id)!.contentHash));
    const texts = docs.map((d) => d.text);
    const index = lazyIndexes(texts, (kind) => {
      if (kind === 'files') {
        return new ChunkIndex(docs.map((d, i): Chunk => ({ doc: i, start: 0, end: d.text.length, text: d.text, tokens: facts[i].tokens })), facts.map((f) => f.tf));
      }
      if (kind === 'chunks250') {
        const chunks: Chunk[] = [];
        const tf: Map<string, number>[] = [];
        facts.forEach((f, i) => {
          for (const c of f.chunks) {
            chunks.push({ doc: i, start: c.start, end: c.end, text: texts[i].slice(c.start, c.end), tokens: c.tokens });
            tf.push(c.tf);
          }
        });
        return new ChunkIndex(chunks, tf);
      }
      return new ChunkIndex(lineChunks(texts, 1));
    });
    return { h: { name, docs, cases: [] }, engine: this.engine, index };
  }

  private factsOf(text: string, hash: string): FileFacts {
    let f = this.facts.get(hash);
    if (f) return f;
    const chunks = lineChunks([text], 250).map((c) => ({ start: c.start, end: c.end, tokens: chunkTokens(c.text), tf: termCounts(c.text) }));
    const tf = new Map<string, number>();
    for (const c of chunks) for (const [t, k] of c.tf) tf.set(t, (tf.get(t) ?? 0) + k);
    this.facts.set(hash, (f = { tokens: chunkTokens(text), tf, chunks }));
    return f;
  }
}

// ---------------------------------------------------------------------------------------------------
// Metrics

export interface IssueMetrics {
  /** Every gold line is exact. */
  lines: boolean;
  /** `lines`, and the head line of each hunk's innermost enclosing definition is exact. */
  def: boolean;
  /** Every gold file has at least one exact line. */
  files: boolean;
  /** Every hunk is exact, or the map points at it (its definition named with its line, or a short line range). */
  pointer: boolean;
}

export const ISSUE_METRICS: (keyof IssueMetrics)[] = ['lines', 'def', 'files', 'pointer'];

/** A map line with no definition to name points at a hunk when its range holds it and spans at most this many lines. */
export const POINTER_SPAN = 50;

/**
 * Which lines of a document the exact ranges show, 0-based: a line whose every character is in an exact
 * range; an empty line when a range holds it or touches it (exact runs end after a line break, so a blank
 * line between two runs, or at a run's edge, is as good as shown).
 */
export function exactLines(text: string, ranges: readonly [number, number][]): { exact(line: number): boolean; any(): boolean } {
  const merged: [number, number][] = [];
  for (const [s, e] of [...ranges].filter(([s, e]) => e > s).sort((a, b) => a[0] - b[0])) {
    const last = merged[merged.length - 1];
    if (last && s <= last[1]) last[1] = Math.max(last[1], e);
    else merged.push([s, e]);
  }
  const starts = lineStarts(text);
  const exact = (line: number): boolean => {
    if (line < 0 || line >= starts.length) return false;
    const s = starts[line];
    const e = line + 1 < starts.length ? starts[line + 1] - 1 : text.length;
    // The last range starting at or before the line's end (or just after an empty line's break).
    let lo = 0;
    let hi = merged.length - 1;
    let at = -1;
    const limit = e > s ? s : s + 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (merged[mid][0] <= limit) {
        at = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (at < 0) return false;
    return e > s ? merged[at][1] >= e : merged[at][1] >= s;
  };
  return {
    exact,
    any: () => {
      for (let l = 0; l < starts.length; l++) if (exact(l)) return true;
      return false;
    },
  };
}

/** Whether the map names definition `d` of `path` with its head line (1-based on the map). */
function mapNames(mapLines: readonly MapLine[], path: string, d: Definition, headText: string): boolean {
  const words = new Set(headText.match(/[#\w$]+/g) ?? []);
  // The engine may qualify a name (`Context.invoke`): its last part must be a word of the head line.
  return mapLines.some((m) => m.docId === path && m.names.some((n) => n.line === d.head + 1 && words.has(n.name.split(/[.:]/).pop()!)));
}

/**
 * The four metrics of one instance for one method's output: `texts` the haystack's documents by path,
 * `exact` their exact string ranges. A gold file missing from the haystack fails every metric.
 */
export function scoreIssue(
  gold: readonly IssueGold[],
  texts: ReadonlyMap<string, string>,
  exact: ReadonlyMap<string, readonly [number, number][]>,
  mapLines: readonly MapLine[],
  definitions: ReadonlyMap<string, Definition[]> = goldDefinitions(gold, texts),
): IssueMetrics {
  const out: IssueMetrics = { lines: true, def: true, files: true, pointer: true };
  for (const g of gold) {
    const text = texts.get(g.path);
    if (text === undefined) return { lines: false, def: false, files: false, pointer: false };
    const shown = exactLines(text, exact.get(g.path) ?? []);
    if (!shown.any()) out.files = false;
    const defs = definitions.get(g.path) ?? [];
    for (const [a, b] of g.lines) {
      let hunk = true;
      for (let l = a - 1; l <= b - 1; l++) if (!shown.exact(l)) hunk = false;
      if (!hunk) out.lines = false;
      const d = innermostDefinition(defs, a - 1, b - 1);
      if (d && !shown.exact(d.head)) out.def = false;
      const pointed =
        hunk ||
        (d
          ? mapNames(mapLines, g.path, d, lineText(text, d.head))
          : mapLines.some((m) => m.docId === g.path && m.startLine <= a && m.endLine >= b && m.endLine - m.startLine + 1 <= POINTER_SPAN));
      if (!pointed) out.pointer = false;
    }
  }
  out.def &&= out.lines;
  return out;
}

function lineText(text: string, line: number): string {
  return text.split('\n', line + 1)[line] ?? '';
}

/** The definitions in each gold file of the haystack (none for a language the finder does not know). */
export function goldDefinitions(gold: readonly IssueGold[], texts: ReadonlyMap<string, string>): Map<string, Definition[]> {
  const out = new Map<string, Definition[]>();
  for (const g of gold) {
    const text = texts.get(g.path);
    const lang = languageOf(g.path);
    if (text !== undefined && lang) out.set(g.path, findDefinitions(text, lang));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// The suite

export interface IssueRow {
  suite: `issues/${IssueSplit}`;
  budget: number;
  n: number;
  /** Per method, the share of instances meeting each metric. */
  metrics: Record<string, Record<keyof IssueMetrics, number>>;
  /** Per method, mean milliseconds per query. */
  ms: Record<string, number>;
}

export interface IssueTiming {
  materializeMs: number;
  /** Discovery, reading, and ingesting each base into its repository's tree. */
  indexMs: number;
  queryMs: number;
  totalMs: number;
  blocksGisted: number;
  blocksReused: number;
  /** Instances with a gold file the product does not index (skipped by discovery). */
  goldMissing: string[];
}

export interface IssueSuiteOptions {
  dataDir: string;
  cacheDir: string;
  runtime: ModelRuntime;
  methods: Method[];
  budgets: number[];
  splits: IssueSplit[];
  limit?: number;
  log?: (s: string) => void;
}

export async function runIssueSuite(o: IssueSuiteOptions): Promise<{ rows: IssueRow[]; timing: IssueTiming }> {
  const t0 = performance.now();
  const log = o.log ?? (() => {});
  const all = loadIssueInstances(o.dataDir);
  const timing: IssueTiming = { materializeMs: 0, indexMs: 0, queryMs: 0, totalMs: 0, blocksGisted: 0, blocksReused: 0, goldMissing: [] };
  const rows: IssueRow[] = [];
  for (const split of o.splits) {
    const splitRows: IssueRow[] = o.budgets.map((budget) => ({ suite: `issues/${split}`, budget, n: 0, metrics: {}, ms: {} }));
    const instances = selectInstances(all, split, o.limit);
    for (const repo of ISSUE_SPLITS[split]) {
      const mine = instances.filter((i) => i.repo === repo);
      if (mine.length === 0) continue;
      const haystacks = new RepoHaystacks(o.runtime);
      const r0 = performance.now();
      for (const inst of mine) {
        const m0 = performance.now();
        const root = materializeBase(o.dataDir, o.cacheDir, inst);
        const i0 = performance.now();
        timing.materializeMs += i0 - m0;
        const p = await haystacks.checkout(inst.id, root);
        const q0 = performance.now();
        timing.indexMs += q0 - i0;
        const texts = new Map(p.h.docs.map((d) => [d.id, d.text]));
        if (inst.gold.some((g) => !texts.has(g.path))) timing.goldMissing.push(inst.id);
        const defs = goldDefinitions(inst.gold, texts);
        for (const row of splitRows) {
          row.n++;
          for (const m of o.methods) {
            const out = await m.run(p, inst.query, row.budget);
            const exact = new Map(p.h.docs.map((d, i) => [d.id, out.exact[i]]));
            const s = scoreIssue(inst.gold, texts, exact, out.mapLines, defs);
            const acc = (row.metrics[m.name] ??= { lines: 0, def: 0, files: 0, pointer: 0 });
            for (const k of ISSUE_METRICS) acc[k] += s[k] ? 1 : 0;
            row.ms[m.name] = (row.ms[m.name] ?? 0) + out.ms;
          }
        }
        timing.queryMs += performance.now() - q0;
      }
      const c = haystacks.tree.counters;
      timing.blocksGisted += c.blocksGisted;
      timing.blocksReused += c.blocksReused;
      log(`  issues/${split}: ${repo} done (${mine.length} instances, ${((performance.now() - r0) / 1000).toFixed(1)} s; blocks gisted ${c.blocksGisted}, reused ${c.blocksReused})`);
    }
    for (const row of splitRows) {
      for (const m of Object.keys(row.metrics)) {
        for (const k of ISSUE_METRICS) row.metrics[m][k] = row.n > 0 ? row.metrics[m][k] / row.n : 0;
        row.ms[m] = row.n > 0 ? row.ms[m] / row.n : 0;
      }
    }
    rows.push(...splitRows);
  }
  timing.totalMs = performance.now() - t0;
  return { rows, timing };
}

export function formatIssueTable(rows: IssueRow[], timing: IssueTiming): string {
  const methods = [...new Set(rows.flatMap((r) => Object.keys(r.metrics)))];
  const mc = methods.filter((m) => m.startsWith('mc'));
  const pct = (x: number) => (100 * x).toFixed(1);
  const s = (ms: number) => (ms / 1000).toFixed(1);
  return [
    `Issue localization (issue-loc-dev): % of instances, lines / def / files / pointer`,
    `| split | W | n | ${methods.join(' | ')} | refocus ms (${mc.join(', ')}) |`,
    `|${' --- |'.repeat(methods.length + 4)}`,
    ...rows.map((r) => {
      const cells = methods.map((m) => (r.metrics[m] ? ISSUE_METRICS.map((k) => pct(r.metrics[m][k])).join(' / ') : ''));
      return `| ${r.suite.slice('issues/'.length)} | ${r.budget} | ${r.n} | ${cells.join(' | ')} | ${mc.map((m) => (r.ms[m] ?? 0).toFixed(1)).join(', ')} |`;
    }),
    `(lines: every gold line exact; def: and each hunk's enclosing definition's head line; files: an exact line in every gold file; ` +
      `pointer: each hunk exact or its definition named on the map with its line, or covered by a map line of at most ${POINTER_SPAN} lines)`,
    `(wall ${s(timing.totalMs)} s: materialize ${s(timing.materializeMs)} s, index ${s(timing.indexMs)} s (blocks gisted ${timing.blocksGisted}, reused ${timing.blocksReused}), ` +
      `queries ${s(timing.queryMs)} s${timing.goldMissing.length ? `; a gold file not indexed in ${timing.goldMissing.length}: ${timing.goldMissing.join(', ')}` : ''})`,
  ].join('\n');
}
