/**
 * GistNet inference alone, on real blocks, several model variants interleaved in one process (not a
 * test; prints numbers). The machine is shared and noisy, so the variants alternate round by round and
 * every figure is a median with its spread.
 *
 *   npm run build && node out/test/bench/gistnet.bench.js [options] A.onnx [B.onnx ...]
 *
 * Each file is an LOD1 GistNet (`tokens`, `mask` → `gist`, `salience`), or an LOD2 one with --lod2.
 * Sessions are created as src/models/onnxRuntime.ts creates them (CPU provider, graph optimisation
 * 'all', onnxruntime's own thread count unless --threads). Inputs are the first --blocks 32-token
 * blocks of --file (default /usr/lib/python3.11/argparse.py), cut into batches of --batch (256, the
 * engine's GIST_BATCH in src/core/tree.ts), exactly as Tree.ingest fills them; with --lod2 the
 * children are the first variant's LOD1 gists of those blocks (--lod1 FILE), grouped by 32.
 * Options: --blocks N (325: a one-line edit at the top of a 10.6k-token file), --batch N, --rounds N
 * (30), --threads N, --opt LEVEL (disabled|basic|extended|all), --profile DIR (onnxruntime's
 * per-op profile of each variant, JSON files written there), --lod2, --lod1 FILE, --session JSON (more
 * session options, e.g. '{"enableMemPattern":false}'; FILE@JSON gives them to one variant only).
 * Every variant's outputs are compared with the first one's: max/mean abs diff of gists and
 * salience, and the minimum cosine between gists; for LOD1 also with its own outputs for the same
 * blocks run one at a time (a model that quantizes activations per batch is batch-dependent).
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import * as ort from 'onnxruntime-node';
import { BLOCK_TOKENS, GROUP_BLOCKS } from '../../src/core/constants';
import { tokenize } from '../../src/core/tokenizer';
import { flags, fmtNum, summarize } from './stats';

interface Opts {
  files: string[];
  file: string;
  blocks: number;
  batch: number;
  rounds: number;
  threads?: number;
  opt: 'disabled' | 'basic' | 'extended' | 'all';
  profile?: string;
  lod2: boolean;
  lod1?: string;
  extra: Record<string, unknown>;
}

function parse(argv: string[]): Opts {
  const o: Opts = { files: [], file: '/usr/lib/python3.11/argparse.py', blocks: 325, batch: 256, rounds: 30, opt: 'all', lod2: false, extra: {} };
  for (const [a, val] of flags(argv)) {
    if (a === '--file') o.file = val();
    else if (a === '--blocks') o.blocks = Number(val());
    else if (a === '--batch') o.batch = Number(val());
    else if (a === '--rounds') o.rounds = Number(val());
    else if (a === '--threads') o.threads = Number(val());
    else if (a === '--opt') o.opt = val() as Opts['opt'];
    else if (a === '--profile') o.profile = val();
    else if (a === '--lod2') o.lod2 = true;
    else if (a === '--lod1') o.lod1 = val();
    else if (a === '--session') o.extra = JSON.parse(val()) as Record<string, unknown>;
    else if (a.startsWith('--')) throw new Error(`unknown option ${a}`);
    else o.files.push(a);
  }
  if (o.files.length === 0) throw new Error('usage: gistnet.bench.js [options] A.onnx [B.onnx ...]');
  return o;
}

function sessionOptions(o: Opts, profileTo?: string): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: ['cpu'],
    graphOptimizationLevel: o.opt,
    logSeverityLevel: 2,
    ...(o.threads ? { intraOpNumThreads: o.threads, interOpNumThreads: 1 } : {}),
    ...(profileTo ? { enableProfiling: true, profileFilePrefix: profileTo } : {}),
    ...o.extra,
  };
}

interface Batch {
  feeds: Record<string, ort.Tensor>;
  count: number;
}

/** LOD1 batches as Tree.ingest + OnnxModels.gistBlocks build them. */
function lod1Batches(tokens: Uint32Array, blocks: number, batch: number): Batch[] {
  const out: Batch[] = [];
  for (let s = 0; s < blocks; s += batch) {
    const count = Math.min(batch, blocks - s);
    const ids = new Int32Array(count * BLOCK_TOKENS);
    const mask = new Float32Array(count * BLOCK_TOKENS);
    for (let r = 0; r < count; r++) {
      const b0 = (s + r) * BLOCK_TOKENS;
      const e = Math.min(tokens.length, b0 + BLOCK_TOKENS);
      for (let k = b0; k < e; k++) {
        ids[r * BLOCK_TOKENS + k - b0] = tokens[k];
        mask[r * BLOCK_TOKENS + k - b0] = 1;
      }
    }
    const big = BigInt64Array.from(ids, (t) => BigInt(t));
    out.push({
      count,
      feeds: { tokens: new ort.Tensor('int64', big, [count, BLOCK_TOKENS]), mask: new ort.Tensor('float32', mask, [count, BLOCK_TOKENS]) },
    });
  }
  return out;
}

function lod2Batches(gists: Float32Array, blocks: number, dim: number, batch: number): Batch[] {
  const groups = Math.ceil(blocks / GROUP_BLOCKS);
  const out: Batch[] = [];
  for (let s = 0; s < groups; s += batch) {
    const count = Math.min(batch, groups - s);
    const children = new Float32Array(count * GROUP_BLOCKS * dim);
    const mask = new Float32Array(count * GROUP_BLOCKS);
    for (let r = 0; r < count; r++) {
      const g = s + r;
      const n = Math.min(GROUP_BLOCKS, blocks - g * GROUP_BLOCKS);
      children.set(gists.subarray(g * GROUP_BLOCKS * dim, (g * GROUP_BLOCKS + n) * dim), r * GROUP_BLOCKS * dim);
      mask.fill(1, r * GROUP_BLOCKS, r * GROUP_BLOCKS + n);
    }
    out.push({
      count,
      feeds: { children: new ort.Tensor('float32', children, [count, GROUP_BLOCKS, dim]), mask: new ort.Tensor('float32', mask, [count, GROUP_BLOCKS]) },
    });
  }
  return out;
}

async function runAll(s: ort.InferenceSession, batches: Batch[]): Promise<{ gist: Float32Array; salience: Float32Array }> {
  const gs: Float32Array[] = [];
  const ss: Float32Array[] = [];
  for (const b of batches) {
    const r = await s.run(b.feeds);
    gs.push(r.gist.data as Float32Array);
    ss.push(r.salience.data as Float32Array);
  }
  const cat = (a: Float32Array[]): Float32Array => {
    const o = new Float32Array(a.reduce((n, x) => n + x.length, 0));
    let at = 0;
    for (const x of a) {
      o.set(x, at);
      at += x.length;
    }
    return o;
  };
  return { gist: cat(gs), salience: cat(ss) };
}

function compare(ref: { gist: Float32Array; salience: Float32Array }, got: { gist: Float32Array; salience: Float32Array }, dim: number): string {
  const diff = (a: Float32Array, b: Float32Array): { max: number; mean: number } => {
    let max = 0;
    let sum = 0;
    for (let i = 0; i < a.length; i++) {
      const d = Math.abs(a[i] - b[i]);
      if (d > max) max = d;
      sum += d;
    }
    return { max, mean: sum / a.length };
  };
  const g = diff(ref.gist, got.gist);
  const s = diff(ref.salience, got.salience);
  let minCos = 1;
  let sumCos = 0;
  const rows = ref.gist.length / dim;
  for (let r = 0; r < rows; r++) {
    let ab = 0;
    let aa = 0;
    let bb = 0;
    for (let k = r * dim; k < (r + 1) * dim; k++) {
      ab += ref.gist[k] * got.gist[k];
      aa += ref.gist[k] * ref.gist[k];
      bb += got.gist[k] * got.gist[k];
    }
    const c = ab / Math.sqrt(aa * bb);
    minCos = Math.min(minCos, c);
    sumCos += c;
  }
  const e = (x: number): string => x.toExponential(2);
  return `gist max ${e(g.max)} mean ${e(g.mean)}, salience max ${e(s.max)} mean ${e(s.mean)}, cosine min ${minCos.toFixed(5)} mean ${(sumCos / rows).toFixed(6)}`;
}

async function main(): Promise<void> {
  const o = parse(process.argv.slice(2));
  const tokens = tokenize(readFileSync(o.file, 'utf8'));
  const blocks = Math.min(o.blocks, Math.ceil(tokens.length / BLOCK_TOKENS));
  let batches = lod1Batches(tokens, blocks, o.batch);
  let unit = 'blocks';
  if (o.lod2) {
    const s1 = await ort.InferenceSession.create(o.lod1 ?? 'models/gistnet-lod1.onnx', sessionOptions(o));
    const g = (await runAll(s1, batches)).gist;
    await s1.release();
    batches = lod2Batches(g, blocks, g.length / blocks, o.batch);
    unit = 'groups';
  }
  const units = batches.reduce((n, b) => n + b.count, 0);
  console.log(`${path.basename(o.file)}: ${tokens.length} tokens; ${units} ${unit} in batches of ${batches.map((b) => b.count).join('+')}; ` +
    `ort ${ort.env.versions.common}, threads ${o.threads ?? 'default'}, opt ${o.opt}, ${o.rounds} rounds`);
  const sessions: ort.InferenceSession[] = [];
  for (const spec of o.files) {
    // FILE@JSON: more session options for this variant only.
    const at = spec.indexOf('@');
    const f = at < 0 ? spec : spec.slice(0, at);
    const own = at < 0 ? {} : (JSON.parse(spec.slice(at + 1)) as Record<string, unknown>);
    const prefix = o.profile ? path.join(o.profile, path.basename(f, '.onnx')) : undefined;
    const t0 = performance.now();
    sessions.push(await ort.InferenceSession.create(f, { ...sessionOptions(o, prefix), ...own }));
    console.log(`  loaded ${f} in ${fmtNum(performance.now() - t0, 1)} ms`);
  }
  const outs = [];
  for (const s of sessions) outs.push(await runAll(s, batches)); // warm-up, and the outputs compared
  // The same inputs one per run: a dynamically quantized model's outputs depend on the rest of the batch.
  const alone = [];
  if (!o.lod2) for (const s of sessions) alone.push(await runAll(s, lod1Batches(tokens, blocks, 1)));
  const ms: number[][] = o.files.map(() => []);
  const cpu: number[][] = o.files.map(() => []);
  const faults: number[][] = o.files.map(() => []);
  for (let r = 0; r < o.rounds; r++) {
    // Rotate the order each round so no variant always runs right after another.
    for (let k = 0; k < sessions.length; k++) {
      const i = (k + r) % sessions.length;
      const f0 = process.resourceUsage().minorPageFault;
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      await runAll(sessions[i], batches);
      faults[i].push(process.resourceUsage().minorPageFault - f0);
      ms[i].push(performance.now() - t0);
      const c = process.cpuUsage(c0);
      cpu[i].push((c.user + c.system) / 1000);
    }
  }
  const base = summarize(ms[0]);
  const baseCpu = summarize(cpu[0]);
  for (let i = 0; i < o.files.length; i++) {
    const s = summarize(ms[i]);
    const c = summarize(cpu[i]);
    const speed = i === 0 ? '' : `; ${fmtNum(base.median / s.median, 2)}× the first (wall p50), ${fmtNum(base.min / s.min, 2)}× (wall min), ${fmtNum(baseCpu.median / c.median, 2)}× (CPU p50)`;
    console.log(`${o.files[i]}: wall p50 ${fmtNum(s.median, 1)} ms, p95 ${fmtNum(s.p95, 1)}, min ${fmtNum(s.min, 1)}, max ${fmtNum(s.max, 1)}; ` +
      `CPU p50 ${fmtNum(c.median, 1)} ms, min ${fmtNum(c.min, 1)}; minor page faults p50 ${summarize(faults[i]).median}${speed}`);
    if (i > 0) console.log(`  vs first: ${compare(outs[0], outs[i], outs[0].gist.length / units)}`);
    if (!o.lod2) console.log(`  batch dependence (vs itself one block per run): ${compare(outs[i], alone[i], outs[0].gist.length / units)}`);
  }
  if (o.profile) {
    for (const s of sessions) s.endProfiling();
    console.log(`profiles (onnxruntime JSON traces) in ${o.profile}`);
  }
  for (const s of sessions) await s.release();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
