/**
 * The benchmark suite of issue 6 ("Performance and scale"): prints one table of measured figures
 * against the issue's targets. Not a test: nothing here asserts a timing.
 *
 *   npm run bench                       # 100k and 1M tokens
 *   npm run bench -- --sizes 100k,1m,10m --runs 5 --json
 *
 * Options: --sizes (default 100k,1m), --runs N (repeats of the cold index / warm start, default 3),
 * --queries N (refocus queries per size and budget, default 20), --edits N (edits per position,
 * default 20), --threads N (onnxruntime intra-op threads; default the engine's own choice, as the
 * engine host uses), --providers a,b (default the product order), --models DIR (default models/;
 * copied to a private snapshot for the run), --json (machine-readable output after the table),
 * --no-activation, --many-files N (tiny files for the peak-memory row, default 100000; 0 skips it).
 *
 * Machines are shared and noisy, so every figure is a median with its spread, and where a baseline
 * exists it is measured in the same run, interleaved with the measured operation: tokenization-only
 * for indexing, a plain read of the store file for warm start, LensNet beside the default scorer (the
 * lexical plan) for refocus, raw uint32 token ids (4 bytes/token) for memory and disk.
 */
import { execFileSync } from 'node:child_process';
import { promises as fsp, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { FocusEngine } from '../../src/core/engine';
import { BudgetTooSmallError } from '../../src/core/focus';
import { openTree, saveTree, storeHeader } from '../../src/core/indexer';
import { warmDocument } from '../../src/core/structure';
import { readStore, STORE_FILE } from '../../src/core/store';
import { tokenize } from '../../src/core/tokenizer';
import o200k from 'gpt-tokenizer/encoding/o200k_base';
import type { ModelRuntime } from '../../src/core/runtime';
import { Tree } from '../../src/core/tree';
import { loadModels, type OnnxModels } from '../../src/models/onnxRuntime';
import { buildCorpus, prefix, type BenchQuery, type Corpus, type CorpusDoc } from './corpus';
import { flags, fmtNum, fullGc, residentBytes, summarize, timed, type Summary } from './stats';
import { manyFiles } from './manyFiles';

const ROOT = path.resolve(__dirname, '..', '..', '..');

interface Options {
  sizes: number[];
  runs: number;
  queries: number;
  edits: number;
  threads?: number;
  providers?: string[];
  json: boolean;
  activation: boolean;
  models?: string;
  manyFiles: number;
}

function parseSize(s: string): number {
  const m = /^(\d+(?:\.\d+)?)([km]?)$/i.exec(s.trim());
  if (!m) throw new Error(`bad size ${s} (use e.g. 100k, 1m, 10m)`);
  return Math.round(Number(m[1]) * (m[2].toLowerCase() === 'm' ? 1e6 : m[2].toLowerCase() === 'k' ? 1e3 : 1));
}

function parseArgs(argv: string[]): Options {
  const o: Options = { sizes: [100_000, 1_000_000], runs: 3, queries: 20, edits: 20, json: false, activation: true, manyFiles: 100_000 };
  for (const [a, val] of flags(argv)) {
    if (a === '--sizes') o.sizes = val().split(',').map(parseSize).sort((x, y) => x - y);
    else if (a === '--runs') o.runs = Math.max(1, Number(val()));
    else if (a === '--queries') o.queries = Math.max(1, Number(val()));
    else if (a === '--edits') o.edits = Math.max(1, Number(val()));
    else if (a === '--threads') o.threads = Number(val());
    else if (a === '--providers') o.providers = val().split(',');
    else if (a === '--json') o.json = true;
    else if (a === '--models') o.models = path.resolve(val());
    else if (a === '--no-activation') o.activation = false;
    else if (a === '--many-files') o.manyFiles = Math.max(0, Math.floor(Number(val())));
    else if (a === '--help' || a === '-h') {
      console.log(readFileSync(__filename, 'utf8').split('*/')[0]);
      process.exit(0);
    } else throw new Error(`unknown option ${a}`);
  }
  return o;
}

function sizeLabel(n: number): string {
  return n >= 1e6 ? `${+(n / 1e6).toFixed(1)}M` : `${+(n / 1e3).toFixed(0)}k`;
}

// ---------------------------------------------------------------------------------------------
// result rows

interface Row {
  metric: string;
  size: string;
  unit: string;
  median: number;
  /** p95 for ≥ 10 samples, else the min–max range. */
  spread: string;
  n: number;
  baseline?: { name: string; median: number };
  /** measured / baseline (or as labelled in `ratioNote`). */
  ratio?: number;
  ratioNote?: string;
  target?: string;
  met?: boolean;
  note?: string;
  raw?: Summary;
}

const rows: Row[] = [];
const notes: string[] = [];
const log = (s: string): void => {
  process.stderr.write(s + '\n');
};

function spreadOf(s: Summary, digits: number): string {
  return s.n >= 10 ? `p95 ${fmtNum(s.p95, digits)}` : s.n > 1 ? `${fmtNum(s.min, digits)}–${fmtNum(s.max, digits)}` : '1 run';
}

function addRow(r: Omit<Row, 'spread' | 'median' | 'n'> & { samples: number[]; digits?: number }): Row {
  const s = summarize(r.samples);
  const row: Row = { ...r, median: s.median, spread: spreadOf(s, r.digits ?? 1), n: s.n, raw: s };
  delete (row as { samples?: unknown }).samples;
  rows.push(row);
  return row;
}

// ---------------------------------------------------------------------------------------------
// measurements

const gistMs = { lod1: 0, lod2: 0 };
/** The runtime with its GistNet calls timed (to split cold-index time by stage). */
function timedRuntime(m: ModelRuntime): ModelRuntime {
  return new Proxy(m, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver) as unknown;
      if (prop === 'gistBlocks' || prop === 'gistGroups') {
        const key = prop === 'gistBlocks' ? 'lod1' : 'lod2';
        return async (...args: unknown[]) => {
          const t0 = performance.now();
          try {
            return await (v as (...a: unknown[]) => Promise<unknown>).apply(target, args);
          } finally {
            gistMs[key] += performance.now() - t0;
          }
        };
      }
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

async function oneColdRun(models: OnnxModels, inputs: { id: string; text: string }[]): Promise<{ ms: number; cpuMs: number; tree?: Tree; residentBytes: number; reused: number; gisted: number; lod1Ms: number; lod2Ms: number }> {
  const before = residentBytes();
  const fresh = new Tree(timedRuntime(models)); // fresh tree, cold gist cache
  o200k.clearMergeCache();
  gistMs.lod1 = gistMs.lod2 = 0;
  const i = await timed(() => fresh.ingest(inputs));
  return {
    ms: i.ms, cpuMs: i.cpuMs, tree: fresh, residentBytes: residentBytes() - before, reused: fresh.counters.blocksReused,
    gisted: fresh.counters.blocksGisted, lod1Ms: gistMs.lod1, lod2Ms: gistMs.lod2,
  };
}

/**
 * Resident bytes of a tree restored from the store (the engine host's state after a warm start), and
 * again after refocusing on `queries` at W = 8k, which fills the caches that serve the prompt (decoded
 * texts, gist texts and costs, prompt counts).
 */
async function restoredResident(models: OnnxModels, dir: string, queries: BenchQuery[]): Promise<{ restored: number; focused: number }> {
  const before = residentBytes();
  const { tree } = await openTree(models, dir);
  const after = residentBytes();
  if (tree.documents.size === 0) throw new Error('restore failed');
  const engine = new FocusEngine(tree, models);
  for (const q of queries) await engine.focus({ query: q.query, budget: 8192 }).catch(() => undefined);
  return { restored: after - before, focused: residentBytes() - before };
}

async function coldIndex(models: OnnxModels, docs: CorpusDoc[], tokens: number, label: string, runs: number): Promise<{ tree: Tree; freshResidentPerToken: number }> {
  const idx: number[] = [];
  const idxCpu: number[] = [];
  const tok: number[] = [];
  const split = { lod1: [] as number[], lod2: [] as number[] };
  let tree: Tree | undefined;
  let freshResident = NaN;
  const inputs = docs.map((d) => ({ id: d.id, text: d.text }));
  for (let r = 0; r < runs; r++) {
    // Baseline first, then the measured operation, alternating, so both see the same machine load.
    // A cold start is a fresh process: empty the tokenizer's BPE merge cache before each run.
    o200k.clearMergeCache();
    const t = await timed(() => {
      let n = 0;
      for (const d of inputs) n += tokenize(d.text).length;
      return n;
    });
    tok.push((t.value / t.ms) * 1000);
    // Drop the previous run's tree before measuring (locals of an async function outlive their
    // loop iteration, so the run itself lives in a helper).
    tree = undefined;
    const run = await oneColdRun(models, inputs);
    idx.push((tokens / run.ms) * 1000);
    idxCpu.push((tokens / run.cpuMs) * 1000);
    if (run.reused > 0 && r === 0) {
      notes.push(`${label}: ${run.reused} of ${run.reused + run.gisted} blocks were served by the gist cache (duplicate blocks inside the corpus, e.g. licence headers).`);
    }
    freshResident = run.residentBytes / tokens;
    split.lod1.push(run.lod1Ms / run.ms);
    split.lod2.push(run.lod2Ms / run.ms);
    tree = run.tree;
    run.tree = undefined;
    log(`  cold index ${label} run ${r + 1}/${runs}: ${fmtNum(idx[idx.length - 1])} tok/s (tokenize-only ${fmtNum(tok[tok.length - 1])} tok/s), ${fmtNum(run.ms)} ms`);
  }
  const tokMed = summarize(tok).median;
  const idxMed = summarize(idx).median;
  addRow({ metric: 'Tokenize only (floor), tok/s', size: label, unit: 'tok/s', samples: tok, digits: 0 });
  addRow({
    metric: 'Cold index end to end, tok/s', size: label, unit: 'tok/s', samples: idx, digits: 0,
    baseline: { name: 'tokenize only', median: tokMed }, ratio: idxMed / tokMed, ratioNote: 'of floor',
    target: '≥ 60,000', met: idxMed >= 60_000,
    note: `CPU-time throughput ${fmtNum(summarize(idxCpu).median)} tok/s per CPU-second; wall time split (median): GistNet LOD1 ${fmtNum(100 * summarize(split.lod1).median)}%, GistNet LOD2 ${fmtNum(100 * summarize(split.lod2).median, 1)}%, rest (tokenize, hashing, block offsets, postings) ${fmtNum(100 * (1 - summarize(split.lod1).median - summarize(split.lod2).median))}%`,
  });
  return { tree: tree!, freshResidentPerToken: freshResident };
}

function pickQueries(corpus: Corpus, docIds: Set<string>, n: number): BenchQuery[] {
  const pool = corpus.queries.filter((q) => docIds.has(q.docId));
  if (pool.length === 0) return [];
  const out: BenchQuery[] = [];
  const step = pool.length / Math.min(n, pool.length);
  for (let i = 0; out.length < Math.min(n, pool.length); i++) out.push(pool[Math.floor(i * step)]);
  return out;
}

async function refocus(tree: Tree, models: OnnxModels, queries: BenchQuery[], label: string, budgets: number[]): Promise<Record<number, number>> {
  const engine = new FocusEngine(tree, models);
  const is1m = tree.totalTokens() >= 900_000 && tree.totalTokens() < 9_000_000;
  const is10m = tree.totalTokens() >= 9_000_000;
  // Warm-up (JIT, ONNX session first-run allocations, lazily rendered gist texts).
  for (const q of queries.slice(0, 2)) {
    for (const scorer of ['lexical', 'lens'] as const) {
      await engine.focus({ query: q.query, budget: budgets[budgets.length - 1], scorer }).catch((err: unknown) => {
        if (!(err instanceof BudgetTooSmallError)) throw err;
      });
    }
  }
  const p50: Record<number, number> = {};
  for (const W of budgets) {
    const plan: number[] = [];
    const lens: number[] = [];
    const stages = { tailMs: [] as number[], mapMs: [] as number[], scoreMs: [] as number[], allocateMs: [] as number[], renderMs: [] as number[] };
    let iters = 0;
    let tooSmall: BudgetTooSmallError | undefined;
    for (const q of queries) {
      try {
        // The default scorer (the lexical plan) and LensNet (the plan filling what it leaves), interleaved.
        const b = await timed(() => engine.focus({ query: q.query, budget: W }));
        plan.push(b.ms);
        for (const k of Object.keys(stages) as (keyof typeof stages)[]) stages[k].push(b.value.timings[k]);
        iters += b.value.telemetry.iterations;
        const m = await timed(() => engine.focus({ query: q.query, budget: W, scorer: 'lens' }));
        lens.push(m.ms);
      } catch (err) {
        if (!(err instanceof BudgetTooSmallError)) throw err;
        tooSmall = err;
        break;
      }
    }
    const metric = `Refocus W=${W / 1024}k (default scorer: lexical plan + allocator + render), ms`;
    const target = W === 8192 && is1m ? 'p95 ≤ 100' : is10m ? 'p95 ≤ 1,000' : undefined;
    if (tooSmall) {
      rows.push({
        metric, size: label, unit: 'ms', median: NaN, spread: '', n: 0, target, met: target ? false : undefined,
        note: `FAILS: ${tooSmall.message.split('\n')[0]} (${tree.documents.size} documents; the engine throws BudgetTooSmallError instead of serving a coarser map)`,
      });
      log(`  refocus ${label} W=${W}: ${tooSmall.message}`);
      p50[W] = NaN;
      continue;
    }
    const s = summarize(plan);
    const lensS = summarize(lens);
    p50[W] = s.median;
    const st = (k: keyof typeof stages): string => fmtNum(summarize(stages[k]).median, 1);
    addRow({
      metric, size: label, unit: 'ms', samples: plan,
      baseline: { name: 'LensNet scorer', median: lensS.median }, ratio: s.median / lensS.median, ratioNote: '× LensNet',
      target, met: target ? s.p95 <= (is10m ? 1000 : 100) : undefined,
      note: `p50 stages: tail ${st('tailMs')}, map ${st('mapMs')}, score (the plan) ${st('scoreMs')}, allocate ${st('allocateMs')}, render ${st('renderMs')} ms; ${fmtNum(iters / queries.length, 1)} iterations/query; ${tree.documents.size} documents; LensNet p95 ${fmtNum(lensS.p95, 1)} ms`,
    });
    log(`  refocus ${label} W=${W}: p50 ${fmtNum(s.median, 1)} ms, p95 ${fmtNum(s.p95, 1)} ms (LensNet p50 ${fmtNum(lensS.median, 1)}, p95 ${fmtNum(lensS.p95, 1)} ms)`);
  }
  return p50;
}

async function warmStart(models: OnnxModels, tree: Tree, label: string, runs: number, queries: BenchQuery[]): Promise<void> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'mgc-bench-store-'));
  try {
    const tokens = tree.totalTokens();
    const w = await timed(() => saveTree(tree, dir));
    addRow({
      metric: 'Store on disk, bytes/token (models excluded)', size: label, unit: 'B/token', samples: [w.value.bytes / tokens], digits: 2,
      baseline: { name: 'uint32 token ids', median: 4 }, ratio: w.value.bytes / tokens / 4, ratioNote: '× raw ids',
      target: '≤ 16', met: w.value.bytes / tokens <= 16, note: `${fmtNum(w.value.bytes / 1e6, 1)} MB, written in ${fmtNum(w.ms)} ms`,
    });
    const file = path.join(dir, STORE_FILE);
    const open: number[] = [];
    const read: number[] = [];
    const restore: number[] = [];
    const plainRead: number[] = [];
    const focusQueries = queries.slice(0, 20);
    const rr = await restoredResident(models, dir, focusQueries);
    const resident = rr.restored / tokens;
    const residentFocused = rr.focused / tokens;
    for (let r = 0; r < runs; r++) {
      const p = await timed(() => fsp.readFile(file));
      plainRead.push(p.ms);
      const o = await timed(() => openTree(models, dir));
      if (!o.value.store.startsWith('loaded')) throw new Error(`warm start did not load the store: ${o.value.store}`);
      open.push(o.ms);
      // Split: read+decode vs restore (detokenize, block offsets, postings) on the same run's data.
      const rd = await timed(() => readStore(dir, storeHeader(models)));
      read.push(rd.ms);
      const t2 = new Tree(models);
      const rs = await timed(() => {
        if (rd.value.status === 'ok') for (const d of rd.value.docs) t2.restore(d);
      });

      restore.push(rs.ms);
      log(`  warm start ${label} run ${r + 1}/${runs}: ${fmtNum(o.ms)} ms (read ${fmtNum(rd.ms)} + restore ${fmtNum(rs.ms)}; plain file read ${fmtNum(p.ms, 1)} ms)`);
    }
    const med = summarize(open).median;
    addRow({
      metric: 'Warm start: readStore + restore into a Tree, ms', size: label, unit: 'ms', samples: open,
      baseline: { name: 'plain read of the store file', median: summarize(plainRead).median },
      ratio: med / summarize(plainRead).median, ratioNote: '× file read',
      // The issue's target is for a 1M-token store; a 10M one is reported without it.
      ...(upTo1m(tree) ? { target: '≤ 1,000', met: med <= 1000 } : {}),
      note: `p50 split: readStore ${fmtNum(summarize(read).median)} ms, restore (detokenize + block offsets + postings) ${fmtNum(summarize(restore).median)} ms`,
    });
    addRow({
      metric: 'Resident bytes/token, restored tree (postings incl.; texts decoded on use)', size: label, unit: 'B/token', samples: [resident], digits: 1,
      baseline: { name: 'uint32 token ids', median: 4 }, ratio: resident / 4, ratioNote: '× raw ids', target: '≤ 16', met: resident <= 16,
      note: 'heapUsed + arrayBuffers delta after a forced GC',
    });
    addRow({
      metric: `Resident bytes/token, restored tree after ${focusQueries.length} refocuses at W=8k (prompt caches incl.)`, size: label, unit: 'B/token', samples: [residentFocused], digits: 1,
      baseline: { name: 'uint32 token ids', median: 4 }, ratio: residentFocused / 4, ratioNote: '× raw ids', target: '≤ 16', met: residentFocused <= 16,
      note: 'decoded-text LRU ≤ 2M characters, gist texts and costs on the documents, prompt-count LRU',
    });
    // Time to first answer-ready context, engine side: model load + warm start + first refocus.
    fullGc();
    const t0 = performance.now();
    const m2 = await loadModels(modelsDir, { providers: models.info().providersTried.map((p) => p.provider).slice(-1), threads: opts.threads });
    const t1 = performance.now();
    const { tree: t3 } = await openTree(m2, dir);
    const t2 = performance.now();
    let firstW = 8192;
    try {
      await new FocusEngine(t3, m2).focus({ query: queries[0]?.query ?? 'open a file', budget: firstW });
    } catch (err) {
      if (!(err instanceof BudgetTooSmallError)) throw err;
      firstW = 32768;
      await new FocusEngine(t3, m2).focus({ query: queries[0]?.query ?? 'open a file', budget: firstW });
    }
    const t4 = performance.now();
    // The engine host parses a restored tree's outlines while it waits for the first question
    // (Memory.prewarm): the same warm start again, those outlines parsed, then the first refocus.
    const { tree: t5 } = await openTree(m2, dir);
    const t6 = performance.now();
    for (const d of t5.documents.values()) warmDocument(d);
    const t7 = performance.now();
    await new FocusEngine(t5, m2).focus({ query: queries[0]?.query ?? 'open a file', budget: firstW });
    const t8 = performance.now();
    await m2.dispose();
    addRow({
      metric: 'First answer-ready context (engine side, warm store), ms', size: label, unit: 'ms', samples: [t4 - t0],
      note: `model load ${fmtNum(t1 - t0)} + warm start ${fmtNum(t2 - t1)} + first refocus W=${firstW / 1024}k ${fmtNum(t4 - t2)} ms${firstW !== 8192 ? ' (W=8k fails: budget too small)' : ''}; excludes engine-process spawn and VS Code (measured by the VS Code suite)`,
    });
    addRow({
      metric: 'First refocus after the engine host\'s prewarm (outlines, definition lines and sections of the restored tree computed while idle), ms', size: label, unit: 'ms', samples: [t8 - t7],
      baseline: { name: 'first refocus without it', median: t4 - t2 }, ratio: (t8 - t7) / (t4 - t2), ratioNote: '× without',
      note: `prewarm ${fmtNum(t7 - t6)} ms of idle time after the warm start (one document per event-loop turn in the engine host)`,
    });
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
}

/** Trees the 1M-token targets (warm start, one-line edit) apply to: up to ~1M tokens, not the 10M scale test. */
const upTo1m = (tree: Tree): boolean => tree.totalTokens() < 9_000_000;

async function incremental(tree: Tree, label: string, edits: number): Promise<void> {
  // The document closest to 10k tokens.
  let doc = [...tree.documents.values()][0];
  for (const d of tree.documents.values()) if (Math.abs(d.tokenCount - 10_000) < Math.abs(doc.tokenCount - 10_000)) doc = d;
  const id = doc.id;
  const fileTokens = doc.tokenCount;
  const cold = await timed(async () => {
    const t = new Tree(tree.runtime);
    await t.ingest([{ id, text: doc.text }]);
  });
  for (const where of ['top', 'middle'] as const) {
    const ms: number[] = [];
    let gisted = 0;
    for (let e = 0; e < edits; e++) {
      const cur = tree.documents.get(id)!.text;
      const lines = cur.split('\n');
      const at = where === 'top' ? Math.min(3, lines.length) : Math.floor(lines.length / 2);
      const line = `# bench edit ${where} ${e}: value_${e} = compute(${e}, "${label}")`;
      lines.splice(at, 0, line);
      const next = lines.join('\n');
      const c0 = tree.counters.blocksGisted;
      const t = await timed(() => tree.ingest([{ id, text: next }]));
      gisted += tree.counters.blocksGisted - c0;
      ms.push(t.ms);
    }
    const s = summarize(ms);
    addRow({
      metric: `Incremental one-line edit (${where}) in a ${fmtNum(fileTokens / 1000, 1)}k-token file, ms`, size: label, unit: 'ms', samples: ms,
      baseline: { name: 'cold index of that file alone', median: cold.ms }, ratio: s.median / cold.ms, ratioNote: '× cold file',
      // The issue's target is for an edit in a 1M-token tree.
      ...(upTo1m(tree) ? { target: 'p95 ≤ 50', met: s.p95 <= 50 } : {}),
      note: `${fmtNum(gisted / edits, 0)} blocks re-gisted per edit of ${Math.ceil(fileTokens / 32)}`,
    });
    log(`  edit ${where}: p50 ${fmtNum(s.median, 1)} ms, p95 ${fmtNum(s.p95, 1)} ms, ${fmtNum(gisted / edits)} blocks/edit`);
  }
}

/** Issue #18: the CLI's peak RSS on many tiny files (each phase a fresh process: manyFiles.ts). */
function manyFilesRows(n: number): void {
  const r = manyFiles(n, log);
  const label = n >= 1000 ? `${fmtNum(n / 1000)}k files` : `${n} files`;
  rows.push({
    metric: 'Peak RSS, `megacontext index` of tiny one-line files (lexical runtime, cold, store written), MB', size: label, unit: 'MB',
    median: r.index.peakMB, spread: '', n: 1, target: n === 100_000 ? '≤ 600' : undefined, met: n === 100_000 ? r.index.peakMB <= 600 : undefined,
    note: `${fmtNum(r.index.seconds, 1)} s; ${r.index.error ?? r.index.line}`,
  });
  rows.push({
    metric: 'Peak RSS, `megacontext focus` on them (warm start from the store, one focus), MB', size: label, unit: 'MB',
    median: r.focus.peakMB, spread: '', n: 1, note: `${fmtNum(r.focus.seconds, 1)} s${r.focus.error ? `; ${r.focus.error}` : ''}`,
  });
}

function activation(): void {
  const samples: number[] = [];
  const req: number[] = [];
  const act: number[] = [];
  for (let i = 0; i < 5; i++) {
    try {
      const out = execFileSync(process.execPath, [path.join(__dirname, 'activation.js'), ROOT], { encoding: 'utf8', timeout: 30_000 });
      const r = JSON.parse(out.trim().split('\n').pop()!) as { requireMs?: number; activateMs?: number; error?: string };
      if (r.error || r.requireMs === undefined || r.activateMs === undefined) throw new Error(r.error ?? 'no result');
      samples.push(r.requireMs + r.activateMs);
      req.push(r.requireMs);
      act.push(r.activateMs);
    } catch (err) {
      notes.push(`activation in plain Node failed: ${String(err).split('\n')[0]}`);
      break;
    }
  }
  if (samples.length === 0) {
    rows.push({ metric: 'Extension activation, ms', size: '—', unit: 'ms', median: NaN, spread: '', n: 0, target: '≤ 50', note: 'measured by the VS Code suite' });
    return;
  }
  const s = summarize(samples);
  addRow({
    metric: 'Extension activation (plain Node, stub vscode), ms', size: '—', unit: 'ms', samples, target: '≤ 50', met: s.median <= 50,
    note: `load dist/extension.js ${fmtNum(summarize(req).median, 1)} + activate() ${fmtNum(summarize(act).median, 1)} ms, fresh process each; a lower bound — the in-editor figure comes from the VS Code suite`,
  });
}

// ---------------------------------------------------------------------------------------------

function table(): string {
  const out = ['| metric | size | median | spread | baseline (median) | ratio | target | met? |', '|---|---|---:|---:|---|---:|---|:---:|'];
  for (const r of rows) {
    const digits = r.unit === 'tok/s' ? 0 : r.unit === 'B/token' ? 2 : 1;
    const base = r.baseline ? `${r.baseline.name} (${fmtNum(r.baseline.median, digits)})` : '';
    const ratio = r.ratio !== undefined ? `${fmtNum(r.ratio, 2)} ${r.ratioNote ?? ''}`.trim() : '';
    const met = r.met === undefined ? '' : r.met ? 'yes' : '**no**';
    out.push(`| ${r.metric} | ${r.size} | ${fmtNum(r.median, digits)} | ${r.spread} | ${base} | ${ratio} | ${r.target ?? ''} | ${met} |`);
  }
  return out.join('\n');
}

let opts: Options;
let modelsDir = path.join(ROOT, 'models');

/**
 * A private copy of models/ for the whole run, so a retraining that rewrites models/ meanwhile
 * cannot mix versions between phases. Retries while the copy is inconsistent (a write in progress).
 */
async function snapshotModels(): Promise<string> {
  const src = opts.models ?? path.join(ROOT, 'models');
  for (let attempt = 0; attempt < 40; attempt++) {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'mgc-bench-models-'));
    for (const f of await fsp.readdir(src)) {
      if (f.endsWith('.onnx') || f === 'models.json') await fsp.copyFile(path.join(src, f), path.join(dir, f));
    }
    try {
      const probe = await loadModels(dir, { providers: ['cpu'] });
      await probe.dispose();
      process.on('exit', () => {
        try {
          require('node:fs').rmSync(dir, { recursive: true, force: true });
        } catch {
          // best effort
        }
      });
      return dir;
    } catch (err) {
      await fsp.rm(dir, { recursive: true, force: true });
      log(`  models/ is inconsistent (${String(err).split('\n')[0]}); retrying in 3 s`);
      await new Promise((r) => setTimeout(r, 3000));
    }
  }
  throw new Error('models/ stayed inconsistent; is a training run writing it?');
}

async function main(): Promise<void> {
  opts = parseArgs(process.argv.slice(2));
  const started = performance.now();
  const load0 = os.loadavg()[0];
  const maxSize = opts.sizes[opts.sizes.length - 1];
  log(`MegaContext bench: sizes ${opts.sizes.map(sizeLabel).join(', ')}; runs ${opts.runs}; ${os.availableParallelism()} CPUs; load ${load0.toFixed(1)}`);

  modelsDir = await snapshotModels();
  const m = await timed(() => loadModels(modelsDir, { providers: opts.providers, threads: opts.threads }));
  const models = m.value;
  const info = models.info();
  log(`  models ${info.modelId} on ${info.executionProvider} (loaded in ${fmtNum(m.ms)} ms)`);

  const c = await timed(() => buildCorpus(ROOT, maxSize, log));
  const corpus = c.value;
  log(`  corpus: ${corpus.docs.length} files, ${fmtNum(corpus.cumulative[corpus.cumulative.length - 1])} tokens, ${corpus.queries.length} mined queries (${fmtNum(c.ms / 1000, 1)} s)`);
  if (corpus.repeated) notes.push('**The corpus ran out of distinct files and repeats content (ids differ): repeated blocks hit the gist cache, so cold-index figures at the largest size are flattered.**');

  // JIT warm-up on a small slice so the first measured run is not dominated by compilation.
  {
    const warm = new Tree(models);
    await warm.ingest(corpus.docs.slice(0, 8).map((d) => ({ id: `warmup:${d.id}`, text: d.text })));
    await new FocusEngine(warm, models).focus({ query: corpus.queries[0]?.query ?? 'warm up', budget: 8192 });
  }

  const firstIds = new Set(prefix(corpus, opts.sizes[0]).docs.map((d) => d.id));
  const queries = pickQueries(corpus, firstIds, opts.queries);
  if (queries.length < opts.queries) notes.push(`only ${queries.length} mined queries available in the smallest tree`);
  const refocusP50: Record<string, Record<number, number>> = {};
  const warmSize = opts.sizes.includes(1_000_000) ? 1_000_000 : opts.sizes.filter((s) => s <= 1_000_000).pop() ?? opts.sizes[0];

  for (const size of opts.sizes) {
    const { docs, tokens, repeated } = prefix(corpus, size);
    const label = sizeLabel(size);
    log(`size ${label}: ${docs.length} files, ${fmtNum(tokens)} tokens${repeated ? ' (repeated content)' : ''}`);
    // Cold indexing of 10M tokens takes minutes per run: one run there.
    const runs = size >= 5_000_000 ? 1 : opts.runs;
    const { tree, freshResidentPerToken } = await coldIndex(models, docs, tokens, label, runs);
    addRow({
      metric: 'Resident bytes/token, freshly indexed tree (incl. gist LRU; texts decoded on use)', size: label, unit: 'B/token',
      samples: [freshResidentPerToken], digits: 1, baseline: { name: 'uint32 token ids', median: 4 }, ratio: freshResidentPerToken / 4, ratioNote: '× raw ids',
      target: '≤ 16', met: freshResidentPerToken <= 16,
    });
    refocusP50[label] = await refocus(tree, models, queries, label, [8192, 32768]);
    if (size === warmSize) {
      await warmStart(models, tree, label, opts.runs + 2, queries);
      await incremental(tree, label, opts.edits);
    }
    fullGc();
  }

  // Growth of refocus time with tree size, per 10× tokens (1.0 = flat, 10 = linear).
  for (let i = 1; i < opts.sizes.length; i++) {
    const a = sizeLabel(opts.sizes[i - 1]);
    const b = sizeLabel(opts.sizes[i]);
    const decades = Math.log10(opts.sizes[i] / opts.sizes[i - 1]);
    for (const W of [8192, 32768]) {
      const g = Math.pow(refocusP50[b][W] / refocusP50[a][W], 1 / decades);
      if (!Number.isFinite(g)) continue;
      rows.push({
        metric: `Refocus growth W=${W / 1024}k, p50 ratio per 10× tokens`, size: `${a}→${b}`, unit: '×', median: g, spread: '', n: 1,
        target: '≤ 10 (linear)', met: g <= 10,
      });
    }
  }

  rows.push({
    metric: `Execution provider: ${info.executionProvider} (onnxruntime ${info.ortVersion}), intra-op threads: ${info.threads}${opts.threads ? '' : ` (default: the CPUs, at most 4; ${os.availableParallelism()} logical CPUs)`}`,
    size: '—', unit: '', median: NaN, spread: '', n: 0,
    note: info.providersTried.map((p) => `${p.provider}${p.error ? `: ${p.error}` : ' ✓'}`).join('; '),
  });
  if (opts.manyFiles > 0) manyFilesRows(opts.manyFiles);
  if (opts.activation) activation();
  else rows.push({ metric: 'Extension activation, ms', size: '—', unit: 'ms', median: NaN, spread: '', n: 0, target: '≤ 50', note: 'skipped (--no-activation); measured by the VS Code suite' });

  const elapsed = (performance.now() - started) / 1000;
  const load1 = os.loadavg()[0];
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const header = `MegaContext bench — ${new Date().toISOString().slice(0, 10)}, ${os.availableParallelism()} CPUs (${cpu}), ${os.platform()} ${os.arch()}, Node ${process.version}, models ${info.modelId}, provider ${info.executionProvider}; load average ${load0.toFixed(1)} → ${load1.toFixed(1)}; ${fmtNum(elapsed)} s`;
  const corpusLine = `Corpus: ${Object.entries(corpus.sources).map(([k, v]) => `${k} ${v.files} files / ${fmtNum(v.tokens)} tokens`).join('; ')}; distinct files (deduplicated), docstrings/JSDoc mined as queries and stripped.${corpus.repeated ? ' REPEATED content at the largest size.' : ''}`;
  const details = rows.filter((r) => r.note).map((r) => `- ${r.metric} (${r.size}): ${r.note}`);
  console.log(`${header}\n${corpusLine}\n\n${table()}\n\nDetails:\n${details.join('\n')}${notes.length ? `\n\nNotes:\n${notes.map((n) => `- ${n}`).join('\n')}` : ''}`);
  if (opts.json) {
    console.log(JSON.stringify({ date: new Date().toISOString(), cpus: os.availableParallelism(), cpu, node: process.version, provider: info, loadavg: [load0, load1], elapsedS: elapsed, rows, notes, corpus: corpus.sources, repeated: corpus.repeated }, null, 1));
  }
  await models.dispose();
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
