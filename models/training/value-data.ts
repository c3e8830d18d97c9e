/**
 * Builds LensNet v2's training set (src/core/valueModel.ts) with the engine itself: for each query of the
 * DEVELOPMENT suites, the value model's feature rows exactly as FocusEngine computes them at run time
 * (the committed GistNet's gists, the plan's evidence) and a label per row: 1 when the block overlaps the
 * query's answerable target (Case.whole of the eval harness: every evidence turn whole, the whole
 * function; for issue localization the lines the change touched).
 *
 *   node out/models/training/value-data.js --models models --out DIR [--smoke]
 *
 * Corpora (models/training/manifest.json `valueCorpora`): LoCoMo 26, 30, 41; docstring queries of
 * /usr/lib/python3.11/{urllib,http,wsgiref,xmlrpc}; issue localization, dev split (click, httpx, attrs).
 * Never LoCoMo 42/43, json/email/logging, or ky/express (the test split).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { documentOrder, FocusEngine } from '../../src/core/engine';
import { meanVector, QueryEvidence } from '../../src/core/features';
import { DEFAULT_PLAN, isSupportFile } from '../../src/core/plan';
import type { ModelRuntime } from '../../src/core/runtime';
import { lineStarts } from '../../src/core/tokenizer';
import type { TreeDocument } from '../../src/core/tree';
import { VALUE_FEATURE_NAMES, VALUE_FEATURES, valueInputs } from '../../src/core/valueModel';
import { codeHaystack, locomoHaystacks, prepareHaystack, type Haystack } from '../../src/eval/harness';
import { ISSUE_SPLITS, loadIssueInstances, materializeBase, RepoHaystacks, selectInstances } from '../../src/eval/issues';
import { loadModels } from '../../src/models/onnxRuntime';
import { historyInstances } from './issue-history';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

interface QueryMeta { suite: string; group: string; query: string; n: number; gold: number; goldTotal: number }

const rowsOut: Float32Array[] = [];
const labelsOut: Uint8Array[] = [];
const meta: QueryMeta[] = [];

/** Gold char ranges per document id. */
type GoldRanges = Map<string, [number, number][]>;

async function addQuery(engine: FocusEngine, runtime: ModelRuntime, suite: string, group: string, query: string, gold: GoldRanges): Promise<void> {
  const docs: TreeDocument[] = documentOrder(engine.tree.documents.values());
  const { tail, count } = await engine.tailGists(query);
  const tailMean = meanVector(tail, count, runtime.dim);
  const ev = new QueryEvidence(engine.tree, query);
  const inputs = valueInputs(docs, ev, query, tailMean, DEFAULT_PLAN, (d) => d.kind === 'file' && isSupportFile(d.id));
  // Gold blocks: every block overlapping a gold range.
  let goldTotal = 0;
  const goldBlocks = new Map<number, Set<number>>();
  docs.forEach((d, i) => {
    const ranges = gold.get(d.id);
    if (!ranges) return;
    const set = new Set<number>();
    for (const [s, e] of ranges) {
      const b0 = d.blockAtChar(s);
      const b1 = d.blockAtChar(Math.max(s, e - 1));
      for (let b = b0; b <= b1; b++) set.add(b);
    }
    goldTotal += set.size;
    goldBlocks.set(i, set);
  });
  // valueInputs scores at most MAX_ROWS blocks, the best by the plan's value, as the engine does.
  const order = Array.from({ length: inputs.n }, (_, r) => r);
  const rows = new Float32Array(order.length * VALUE_FEATURES);
  const labels = new Uint8Array(order.length);
  let g = 0;
  order.forEach((r, k) => {
    rows.set(inputs.rows.subarray(r * VALUE_FEATURES, (r + 1) * VALUE_FEATURES), k * VALUE_FEATURES);
    if (goldBlocks.get(inputs.docOf[r])?.has(inputs.blockOf[r])) { labels[k] = 1; g++; }
  });
  rowsOut.push(rows);
  labelsOut.push(labels);
  meta.push({ suite, group, query, n: order.length, gold: g, goldTotal });
}

async function haystackQueries(runtime: ModelRuntime, suite: string, h: Haystack, limit: number): Promise<void> {
  const p = await prepareHaystack(h, runtime);
  for (const c of h.cases.slice(0, limit)) {
    const gold: GoldRanges = new Map();
    for (const w of c.whole) {
      const id = h.docs[w.doc].id;
      if (!gold.has(id)) gold.set(id, []);
      gold.get(id)!.push([w.start, w.end]);
    }
    await addQuery(p.engine, runtime, suite, h.name, c.query, gold);
  }
  console.log(`value-data: ${h.name}: ${Math.min(limit, h.cases.length)} queries`);
}

async function main(): Promise<void> {
  const smoke = process.argv.includes('--smoke');
  const out = arg('--out', 'models/training/.data/value');
  const runtime = await loadModels(resolve(arg('--models', 'models')), { providers: ['cpu'], threads: 2 });
  const limit = smoke ? 4 : Infinity;
  const locomo = resolve(arg('--locomo', '../shared/data/locomo-dev'));
  const train = new Set(['26', '30', '41']);
  for (const h of locomoHaystacks(locomo, limit).filter((x) => train.has(x.name.split('/')[1]))) await haystackQueries(runtime, 'locomo', h, limit);
  const folders = smoke ? ['wsgiref'] : ['urllib', 'http', 'wsgiref', 'xmlrpc'];
  for (const f of folders) await haystackQueries(runtime, 'code', await codeHaystack(`/usr/lib/python3.11/${f}`), limit);
  if (!smoke) {
    const dataDir = resolve(arg('--issues', '../shared/data/issue-loc-dev'));
    const perRepo = Number(arg('--issues-limit', '40'));
    const instances = selectInstances(loadIssueInstances(dataDir), 'dev', perRepo);
    // --issue-history: also the development repositories' other eligible commits (issue-history.ts), never
    // an evaluation commit and never a test-split repository.
    if (process.argv.includes('--issue-history')) {
      const extra = historyInstances(dataDir, resolve('.cache', 'issue-loc'));
      console.log(`value-data: issue history: ${extra.length} more development instances`);
      instances.push(...extra);
    }
    for (const repo of ISSUE_SPLITS.dev) {
      const haystacks = new RepoHaystacks(runtime);
      const mine = instances.filter((i) => i.repo === repo);
      for (const inst of mine) {
        const root = materializeBase(dataDir, resolve('.cache', 'issue-loc'), inst);
        const p = await haystacks.checkout(inst.id, root);
        const gold: GoldRanges = new Map();
        for (const g of inst.gold) {
          const text = p.h.docs.find((d) => d.id === g.path)?.text;
          if (text === undefined) continue;
          const starts = lineStarts(text);
          const lineEnd = (l: number) => (l + 1 < starts.length ? starts[l + 1] : text.length);
          gold.set(g.path, g.lines.map(([a, b]) => [starts[a - 1] ?? text.length, lineEnd(b - 1)] as [number, number]));
        }
        await addQuery(haystacks.engine, runtime, 'issues', repo, inst.query, gold);
      }
      console.log(`value-data: issues ${repo}: ${mine.length} instances`);
    }
  }
  mkdirSync(out, { recursive: true });
  const total = rowsOut.reduce((a, r) => a + r.length, 0);
  const all = new Float32Array(total);
  let o = 0;
  for (const r of rowsOut) { all.set(r, o); o += r.length; }
  const labels = new Uint8Array(labelsOut.reduce((a, l) => a + l.length, 0));
  o = 0;
  for (const l of labelsOut) { labels.set(l, o); o += l.length; }
  writeFileSync(join(out, 'rows.f32'), Buffer.from(all.buffer));
  writeFileSync(join(out, 'labels.u8'), Buffer.from(labels.buffer));
  writeFileSync(join(out, 'meta.json'), JSON.stringify({ features: VALUE_FEATURE_NAMES, plan: DEFAULT_PLAN, queries: meta }));
  console.log(`value-data: ${meta.length} queries, ${labels.length} rows (${labels.reduce((a, x) => a + x, 0)} gold) -> ${out}`);
  await runtime.dispose();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
