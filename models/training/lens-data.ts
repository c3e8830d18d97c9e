/**
 * Builds LensNet's training set with the engine itself, so features at training time are exactly
 * the features at run time: real GistNet gists (ONNX), the engine's lexical evidence, and working
 * contexts sampled by the real allocator. Targets are counterfactual utilities from gold spans.
 *
 *   node out/models/training/lens-data.js --models DIR --gist-data DIR --out DIR [--smoke]
 *
 * Corpus: the train split of the GistNet dataset (files listed in its header, which come from the
 * corpora of models/training/manifest.json). Queries: docstring first paragraphs (src/eval/codeQueries).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { BLOCK_TOKENS } from '../../src/core/constants';
import { buildFeatures, EXTRA_FEATURES, FEATURE_NAMES, meanVector, QueryEvidence } from '../../src/core/features';
import { DEFAULT_FOCUS, FocusAllocator } from '../../src/core/focus';
import { FocusEngine } from '../../src/core/engine';
import type { Entry } from '../../src/core/entry';
import { CostModel } from '../../src/core/cost';
import type { GistBatch, ModelRuntime, RuntimeInfo } from '../../src/core/runtime';
import { Tree, type TreeDocument } from '../../src/core/tree';
import { mineCodeQueries } from '../../src/eval/codeQueries';
import { renderConversation } from '../../src/eval/locomo';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

/** GistNet only (LensNet is what this script trains for). */
class GistOnly implements ModelRuntime {
  readonly modelId = 'training';
  readonly lensFeatures: number;
  constructor(private readonly lod1: ort.InferenceSession, private readonly lod2: ort.InferenceSession, readonly dim: number) {
    this.lensFeatures = dim + EXTRA_FEATURES;
  }
  static async load(dir: string): Promise<GistOnly> {
    const opts = { executionProviders: ['cpu'], intraOpNumThreads: 2 };
    const lod1 = await ort.InferenceSession.create(join(dir, 'gistnet-lod1.onnx'), opts);
    const lod2 = await ort.InferenceSession.create(join(dir, 'gistnet-lod2.onnx'), opts);
    const probe = await lod1.run({ tokens: new ort.Tensor('int64', new BigInt64Array(32), [1, 32]), mask: new ort.Tensor('float32', new Float32Array(32).fill(1), [1, 32]) });
    return new GistOnly(lod1, lod2, probe.gist.dims[1] as number);
  }
  async gistBlocks(tokens: Int32Array, mask: Float32Array, count: number): Promise<GistBatch> {
    const out = await this.lod1.run({ tokens: new ort.Tensor('int64', BigInt64Array.from(tokens, (t) => BigInt(t)), [count, 32]), mask: new ort.Tensor('float32', mask, [count, 32]) });
    return { gists: out.gist.data as Float32Array, salience: out.salience.data as Float32Array };
  }
  async gistGroups(children: Float32Array, mask: Float32Array, count: number): Promise<GistBatch> {
    const out = await this.lod2.run({ children: new ort.Tensor('float32', children, [count, 32, this.dim]), mask: new ort.Tensor('float32', mask, [count, 32]) });
    return { gists: out.gist.data as Float32Array, salience: out.salience.data as Float32Array };
  }
  async scoreEntries(): Promise<Float32Array> {
    throw new Error('LensNet is not available while its training data is built');
  }
  info(): RuntimeInfo {
    return { executionProvider: 'cpu', modelId: this.modelId, dim: this.dim, lensFeatures: this.lensFeatures };
  }
  async dispose(): Promise<void> {}
}

/** Deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Counterfactual utility of acting on an entry, in [-1, 1]. Expanding an entry that holds gold
 * evidence brings it closer to LOD0 (worth most where one step exposes it: LOD1); its neighbours
 * finish a turn or a function that spills over a block boundary; everything else is worth
 * collapsing. The target does not depend on LOD otherwise, so the scorer must find the evidence.
 */
export function utility(e: Entry, golds: { doc: TreeDocument; b0: number; b1: number }[]): number {
  let best = -0.5;
  for (const gold of golds) {
    if (e.doc !== gold.doc) continue;
    const s = gold.b0 * BLOCK_TOKENS;
    const t = gold.b1 * BLOCK_TOKENS;
    if (e.start < t && s < e.end) return e.lod === 0 ? 0.5 : 1;
    if (e.start < t + 2 * BLOCK_TOKENS && s - 2 * BLOCK_TOKENS < e.end) best = Math.max(best, e.lod === 0 ? 0.2 : 0.4);
  }
  return best;
}

/** Block range [b0, b1) of a document holding string range [start, end). */
function blockRange(doc: TreeDocument, start: number, end: number): { b0: number; b1: number } {
  let b0 = 0;
  while (b0 + 1 < doc.nBlocks && doc.blockChar[b0 + 1] <= start) b0++;
  let b1 = b0 + 1;
  while (b1 < doc.nBlocks && doc.blockChar[b1] < end) b1++;
  return { b0, b1 };
}

interface Sample {
  query: string;
  golds: { doc: TreeDocument; b0: number; b1: number }[];
}

async function main(): Promise<void> {
  const smoke = process.argv.includes('--smoke');
  const modelsDir = arg('--models', smoke ? 'models/training/.data/smoke-models' : 'models');
  const gistData = arg('--gist-data', smoke ? 'models/training/.data/gist-smoke' : 'models/training/.data/gist');
  const outDir = arg('--out', 'models/training/.data/lens');
  const maxExamples = Number(arg('--max-examples', smoke ? '60' : '6000'));
  const header = JSON.parse(readFileSync(join(gistData, 'header.json'), 'utf8')) as { files: { path: string; split: string }[] };
  const files = header.files.filter((f) => f.split === 'train').map((f) => f.path);
  const runtime = await GistOnly.load(modelsDir);
  const D = runtime.dim;
  const F = D + EXTRA_FEATURES;
  const rand = rng(20261128);
  const examples: { n: number; t: number }[] = [];
  const entryRows: Float32Array[] = [];
  const tailRows: Float32Array[] = [];
  const targets: number[] = [];
  const legal: number[] = [];
  const t0 = Date.now();
  const contextsPerQuery = smoke ? 1 : 2;
  /** Samples working contexts for each query over one tree and records features + targets. */
  const sample = async (tree: Tree, samples: Sample[]) => {
    const engine = new FocusEngine(tree, runtime);
    const docs = [...tree.documents.values()];
    for (const q of samples) {
      const { tail, count } = await engine.tailGists(q.query);
      const tailMean = meanVector(tail, count, D);
      const ev = new QueryEvidence(tree, q.query);
      for (let c = 0; c < contextsPerQuery && examples.length < maxExamples; c++) {
        // A working context from the real allocator, driven by noisy scores that lean towards the
        // lexical evidence, stopped after a random number of iterations.
        const budget = [1024, 2048, 4096, 8192][Math.floor(rand() * 4)];
        let alloc: FocusAllocator;
        try {
          alloc = new FocusAllocator(docs, { ...DEFAULT_FOCUS, budget, maxIterations: 1 + Math.floor(rand() * 16) }, new CostModel((d) => d.id), [], (d) => ev.of(d).docMax);
        } catch {
          continue;
        }
        const lean = rand();
        await alloc.run(async (entries) => Float32Array.from(entries, (e) => lean * (2 * Math.min(1, ev.span(e).max / 8) - 1) + (1 - lean) * (2 * rand() - 1)));
        const entries = alloc.state.flat();
        entryRows.push(buildFeatures(entries, ev, tailMean));
        tailRows.push(tail.slice(0, count * D));
        for (const e of entries) {
          targets.push(utility(e, q.golds));
          legal.push((e.lod > 0 ? 1 : 0) | (e.lod < 3 ? 2 : 0));
        }
        examples.push({ n: entries.length, t: count });
      }
    }
  };
  // Conversations: the LoCoMo dev conversations the manifest gives LensNet (never the evaluation ones).
  const manifest = JSON.parse(readFileSync(join('models', 'training', 'manifest.json'), 'utf8')) as { lensCorpora?: { id: string; root?: string; conversations?: string[] }[] };
  const loco = manifest.lensCorpora?.find((c) => c.conversations);
  const locomoDir = arg('--locomo', loco?.root ?? '../shared/data/locomo-dev');
  const convIds = smoke ? (loco?.conversations ?? []).slice(0, 1) : (loco?.conversations ?? []);
  for (const id of convIds) {
    const path = join(locomoDir, `${id}.json`);
    let conv;
    try {
      conv = renderConversation(id, JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>);
    } catch {
      throw new Error(`LoCoMo conversation ${path} is missing or malformed (the manifest names it for LensNet)`);
    }
    const tree = new Tree(runtime);
    await tree.ingest([{ id: `locomo/${id}`, text: conv.text, kind: 'chat' }]);
    const doc = tree.documents.get(`locomo/${id}`)!;
    const qs = conv.questions.slice(0, smoke ? 10 : undefined).map((q) => ({
      query: q.question,
      golds: q.evidence.map((e) => ({ doc, ...blockRange(doc, ...conv.lines.get(e)!) })),
    }));
    await sample(tree, qs);
    process.stderr.write(`lens-data: ${examples.length} examples after LoCoMo ${id} (${((Date.now() - t0) / 1000).toFixed(1)} s)\n`);
  }
  // Code: docstring queries over groups of training files.
  const GROUP = smoke ? 3 : 6;
  for (let i = 0; i < files.length && examples.length < maxExamples; i += GROUP) {
    const chunk = files.slice(i, i + GROUP);
    const tree = new Tree(runtime);
    const mined = chunk.map((p) => ({ path: p, ...mineCodeQueries(p, readFileSync(p, 'utf8')) }));
    await tree.ingest(mined.map((m) => ({ id: m.path, text: m.text })));
    const qs: Sample[] = [];
    for (const m of mined) {
      const doc = tree.documents.get(m.path)!;
      for (const q of m.queries) qs.push({ query: q.query, golds: [{ doc, ...blockRange(doc, q.defStart, q.defEnd) }] });
    }
    await sample(tree, qs);
    process.stderr.write(`lens-data: ${examples.length} examples from ${Math.min(files.length, i + GROUP)}/${files.length} files (${((Date.now() - t0) / 1000).toFixed(1)} s)\n`);
  }
  if (examples.length === 0) throw new Error('no LensNet examples could be built (no training files with docstring queries?)');
  mkdirSync(outDir, { recursive: true });
  const cat = (rows: Float32Array[]) => {
    const total = rows.reduce((n, r) => n + r.length, 0);
    const out = new Float32Array(total);
    let o = 0;
    for (const r of rows) {
      out.set(r, o);
      o += r.length;
    }
    return Buffer.from(out.buffer);
  };
  writeFileSync(join(outDir, 'entries.f32'), cat(entryRows));
  writeFileSync(join(outDir, 'tail.f32'), cat(tailRows));
  writeFileSync(join(outDir, 'targets.f32'), Buffer.from(Float32Array.from(targets).buffer));
  writeFileSync(join(outDir, 'legal.u8'), Uint8Array.from(legal));
  writeFileSync(join(outDir, 'header.json'), JSON.stringify({
    F, D, featureNames: [...Array.from({ length: D }, (_, d) => `gist_${d}`), ...FEATURE_NAMES],
    corpora: { gistData, files: files.length, split: 'train', locomo: convIds },
    examples,
  }));
  process.stderr.write(`lens-data: wrote ${examples.length} examples, ${targets.length} entries, F=${F}, in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
}

main().catch((e) => {
  process.stderr.write(`lens-data: error: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
