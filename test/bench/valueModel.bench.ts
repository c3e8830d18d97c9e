/**
 * LensNet v2's cost per refocus on a large tree (issue #19: scoring a refocus on a 1M-token tree ≤ 20 ms
 * on 2 cores), against the lexical plan's own value stage in the same run.
 *
 *   node out/test/bench/valueModel.bench.js [--tokens 1000000] [--queries 20] [--threads 2] [--cold] [--passes 2] [--digest]
 *
 * Per query: `plan values` = blockValues over every document (what the lexical plan computes);
 * `lens2 values` = the same plus LensNet v2's features, one onnxruntime call and the corrections
 * (learnedBlockValues, what the lens2 scorer adds before planning); and the whole refocus at W = 8192
 * with each scorer (FocusEngine timings.scoreMs and totalMs). Medians and p95 over the queries.
 * The documents' outlines, definition lines and sections are first computed as the engine host's idle
 * prewarm does (Memory.prewarm; timed and reported), so the queries measure scoring, not a first parse of
 * whichever documents a query touches first; `--cold` skips it (the first queries then pay for those parses).
 * The queries run `--passes` times (default 2) and each pass is reported: the first pays for V8 compiling the
 * scoring code (a long-lived engine host has done that after its first few refocuses), the last is steady state.
 * `--digest` prints a SHA-256 of every query's value-model inputs (the plan's values, the feature rows and
 * the blocks they score) and exits: a rewrite of valueInputs that must not change a bit is checked by
 * comparing the digest before and after it.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { documentOrder, FocusEngine } from '../../src/core/engine';
import { meanVector, QueryEvidence } from '../../src/core/features';
import { blockValues, DEFAULT_PLAN, isSupportFile } from '../../src/core/plan';
import { warmDocument } from '../../src/core/structure';
import { Tree } from '../../src/core/tree';
import { learnedBlockValues, valueInputs } from '../../src/core/valueModel';
import { loadModels } from '../../src/models/onnxRuntime';
import { buildCorpus, prefix } from './corpus';

const ROOT = join(__dirname, '..', '..', '..');
const opt = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};

const quantile = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};

async function main(): Promise<void> {
  const tokens = opt('--tokens', 1_000_000);
  const nq = opt('--queries', 20);
  const threads = opt('--threads', 2);
  const models = await loadModels(join(ROOT, 'models'), { providers: ['cpu'], threads });
  if (!models.scoreValues) throw new Error('models/ carries no LensNet v2 (files.value in models.json)');
  const corpus = buildCorpus(ROOT, tokens);
  const { docs, tokens: got } = prefix(corpus, tokens);
  const tree = new Tree(models);
  const t0 = performance.now();
  await tree.ingest(docs.map((d) => ({ id: d.id, text: d.text })));
  console.log(`tree: ${docs.length} files, ${got} tokens, indexed in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const ids = new Set(docs.map((d) => d.id));
  const pool = corpus.queries.filter((q) => ids.has(q.docId));
  const queries = Array.from({ length: Math.min(nq, pool.length) }, (_, i) => pool[Math.floor((i * pool.length) / Math.min(nq, pool.length))].query);
  const engine = new FocusEngine(tree, models);
  if (!process.argv.includes('--cold')) {
    const w0 = performance.now();
    for (const d of tree.documents.values()) warmDocument(d);
    console.log(`prewarm (outlines, definition lines, sections of every document, as Memory.prewarm does when idle): ${(performance.now() - w0).toFixed(0)} ms`);
  }
  const ordered = documentOrder(tree.documents.values());
  const support = (d: { kind: string; id: string }) => d.kind === 'file' && isSupportFile(d.id);
  const passes = Math.max(1, opt('--passes', 2));
  if (process.argv.includes('--digest')) {
    const hash = createHash('sha256');
    const bytes = (a: ArrayBufferView) => hash.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
    for (const q of queries) {
      const { tail, count } = await engine.tailGists(q);
      const inputs = valueInputs(ordered, new QueryEvidence(tree, q), q, meanVector(tail, count, models.dim), DEFAULT_PLAN, support);
      for (const v of inputs.base) bytes(v);
      bytes(inputs.rows);
      bytes(inputs.docOf);
      bytes(inputs.blockOf);
    }
    console.log(`value inputs digest over ${queries.length} queries: ${hash.digest('hex')}`);
    await models.dispose();
    return;
  }
  const line = (name: string, xs: number[], unit = 'ms') => console.log(`${name.padEnd(44)} p50 ${quantile(xs, 0.5).toFixed(1)} ${unit}, p95 ${quantile(xs, 0.95).toFixed(1)} ${unit}`);
  // Warm-up.
  await engine.focus({ query: queries[0], budget: 8192, scorer: 'lens2' });
  for (let pass = 1; pass <= passes; pass++) {
    const t = { plan: [] as number[], lens2: [] as number[], rows: [] as number[], features: [] as number[], onnx: [] as number[], scoreLex: [] as number[], scoreLens2: [] as number[], totalLex: [] as number[], totalLens2: [] as number[] };
    for (const q of queries) {
      const { tail, count } = await engine.tailGists(q);
      const tailMean = meanVector(tail, count, models.dim);
      let ev = new QueryEvidence(tree, q);
      for (const d of ordered) ev.of(d); // BM25 per block: shared by both, not timed
      let s = performance.now();
      for (const d of ordered) if (d.tokenCount > 0) blockValues(d, ev.of(d).raw, DEFAULT_PLAN, ev.q, support(d));
      t.plan.push(performance.now() - s);
      ev = new QueryEvidence(tree, q);
      for (const d of ordered) ev.of(d);
      s = performance.now();
      await learnedBlockValues(models, ordered, ev, q, tailMean, DEFAULT_PLAN, support);
      t.lens2.push(performance.now() - s);
      s = performance.now();
      const inputs = valueInputs(ordered, ev, q, tailMean, DEFAULT_PLAN, support);
      t.features.push(performance.now() - s);
      s = performance.now();
      await models.scoreValues!(inputs.rows, inputs.n);
      t.onnx.push(performance.now() - s);
      t.rows.push(inputs.n);
      const lex = await engine.focus({ query: q, budget: 8192, scorer: 'lexical' });
      const l2 = await engine.focus({ query: q, budget: 8192, scorer: 'lens2' });
      t.scoreLex.push(lex.timings.scoreMs);
      t.scoreLens2.push(l2.timings.scoreMs);
      t.totalLex.push(lex.timings.totalMs);
      t.totalLens2.push(l2.timings.totalMs);
    }
    console.log(`pass ${pass} of ${passes}: ${queries.length} queries, W = 8192, ${threads} threads`);
    line('plan block values (blockValues, all docs)', t.plan);
    line('lens2 block values (features + ONNX + apply)', t.lens2);
    line('  of which features (valueInputs)', t.features);
    line('  of which the ONNX call', t.onnx);
    line('lens2 rows scored per refocus', t.rows, 'rows');
    line('refocus scoreMs, lexical plan', t.scoreLex);
    line('refocus scoreMs, lens2', t.scoreLens2);
    line('refocus totalMs, lexical plan', t.totalLex);
    line('refocus totalMs, lens2', t.totalLens2);
  }
  await models.dispose();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
