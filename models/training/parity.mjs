// Parity check: onnxruntime-node (CPU) vs the PyTorch reference outputs in reference.json (max abs
// diff <= its tolerance: 1e-4, or the model's own, e.g. the int8 LOD1 GistNet's per output), plus
// dynamic-shape runs (B = 1 and 7; N = 1 and 300; T = 1 and 5).
//   node models/training/parity.mjs [modelsDir] [valueReference]   exit 1 on any mismatch (> tolerance) or bad shape
// valueReference: LensNet v2's fixed inputs and PyTorch outputs (train_value.py), checked when models.json lists it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const ort = require('onnxruntime-node');
const dir = process.argv[2] ?? 'models';
const ref = JSON.parse(readFileSync(join(dir, 'reference.json'), 'utf8'));
const meta = JSON.parse(readFileSync(join(dir, 'models.json'), 'utf8'));
const tol = ref.tolerance ?? 1e-4;
const failures = [];

function toTensor(t) {
  if (t.type === 'int64') return new ort.Tensor('int64', BigInt64Array.from(t.data.map((x) => BigInt(x))), t.dims);
  return new ort.Tensor('float32', Float32Array.from(t.data), t.dims);
}
const f32 = (n, fn) => Float32Array.from({ length: n }, (_, i) => fn(i));

for (const name of ['gistnet-lod1', 'gistnet-lod2', 'lensnet']) {
  const key = { 'gistnet-lod1': 'lod1', 'gistnet-lod2': 'lod2', lensnet: 'lens' }[name];
  // As the product loads it (src/models/onnxRuntime.ts): the level models.json asks for, else 'all'.
  const graphOptimizationLevel = meta.files?.[key]?.graphOptimizationLevel ?? 'all';
  const sess = await ort.InferenceSession.create(join(dir, `${name}.onnx`), { executionProviders: ['cpu'], graphOptimizationLevel });
  const feeds = {};
  for (const [k, v] of Object.entries(ref[name].inputs)) feeds[k] = toTensor(v);
  const out = await sess.run(feeds);
  for (const [k, v] of Object.entries(ref[name].outputs)) {
    const got = out[k];
    if (!got || got.dims.join(',') !== v.dims.join(',')) { failures.push(`${name}.${k}: dims ${got?.dims} != ${v.dims}`); continue; }
    let max = 0;
    for (let i = 0; i < v.data.length; i++) max = Math.max(max, Math.abs(got.data[i] - v.data[i]));
    // A model may carry its own tolerance (a number, or one per output): the int8 LOD1 GistNet does.
    const own = ref[name].tolerance;
    const limit = typeof own === 'number' ? own : own?.[k] ?? tol;
    const ok = max <= limit;
    if (!ok) failures.push(`${name}.${k}: max abs diff ${max.toExponential(2)} > ${limit}`);
    console.log(`parity ${name}.${k}: max abs diff ${max.toExponential(2)} (tolerance ${limit}) ${ok ? 'ok' : 'FAIL'}`);
  }
  // Dynamic shapes.
  if (name === 'gistnet-lod1' || name === 'gistnet-lod2') {
    for (const B of [1, 7]) {
      const mask = new ort.Tensor('float32', f32(B * 32, (i) => ((i % 32) < 32 - (Math.floor(i / 32) * 4) % 31 ? 1 : 0)), [B, 32]);
      const x = name === 'gistnet-lod1'
        ? new ort.Tensor('int64', BigInt64Array.from({ length: B * 32 }, (_, i) => BigInt((i * 7919) % 200000)), [B, 32])
        : new ort.Tensor('float32', f32(B * 32 * 128, (i) => Math.sin(i) * 0.1), [B, 32, 128]);
      const o = await sess.run(name === 'gistnet-lod1' ? { tokens: x, mask } : { children: x, mask });
      const g = o.gist, s = o.salience;
      let bad = g.dims.join(',') !== `${B},128` || s.dims.join(',') !== `${B},32`;
      for (let b = 0; b < B && !bad; b++) {
        let n2 = 0, sum = 0;
        for (let j = 0; j < 128; j++) n2 += g.data[b * 128 + j] ** 2;
        for (let j = 0; j < 32; j++) { sum += s.data[b * 32 + j]; if (mask.data[b * 32 + j] === 0 && s.data[b * 32 + j] !== 0) bad = true; }
        if (Math.abs(Math.sqrt(n2) - 1) > 1e-4 || Math.abs(sum - 1) > 1e-4) bad = true;
      }
      if (bad) failures.push(`${name}: dynamic batch ${B} gave bad shapes/norms/salience`);
      console.log(`shape ${name} B=${B}: ${bad ? 'FAIL' : 'ok'}`);
    }
  } else {
    const F = meta.lensFeatures;
    for (const [N, T] of [[1, 1], [300, 5]]) {
      const o = await sess.run({
        entries: new ort.Tensor('float32', f32(N * F, (i) => Math.cos(i) * 0.1), [1, N, F]),
        entry_mask: new ort.Tensor('float32', f32(N, () => 1), [1, N]),
        tail: new ort.Tensor('float32', f32(T * 128, (i) => Math.sin(i) * 0.1), [1, T, 128]),
        tail_mask: new ort.Tensor('float32', f32(T, () => 1), [1, T]),
      });
      const bad = o.scores.dims.join(',') !== `1,${N}` || [...o.scores.data].some((v) => !Number.isFinite(v) || Math.abs(v) > 1);
      if (bad) failures.push(`lensnet: N=${N} T=${T} gave bad scores`);
      console.log(`shape lensnet N=${N} T=${T}: ${bad ? 'FAIL' : 'ok'}`);
    }
  }
}
// LensNet v2 (the plan's value model), when the set carries it.
if (meta.files?.value) {
  const vref = JSON.parse(readFileSync(process.argv[3] ?? join(dir, 'training', 'value-reference.json'), 'utf8'));
  const sess = await ort.InferenceSession.create(join(dir, meta.files.value.path), { executionProviders: ['cpu'] });
  const out = await sess.run({ rows: toTensor(vref.inputs.rows) });
  let max = 0;
  for (let i = 0; i < vref.outputs.delta.data.length; i++) max = Math.max(max, Math.abs(out.delta.data[i] - vref.outputs.delta.data[i]));
  const ok = max <= vref.tolerance && out.delta.dims.join(',') === vref.outputs.delta.dims.join(',');
  if (!ok) failures.push(`lensnet-v2.delta: max abs diff ${max.toExponential(2)} > ${vref.tolerance}`);
  console.log(`parity lensnet-v2.delta: max abs diff ${max.toExponential(2)} (tolerance ${vref.tolerance}) ${ok ? 'ok' : 'FAIL'}`);
}
if (failures.length) {
  console.error('parity FAILED: ' + failures.join('; '));
  process.exit(1);
}
console.log(`parity ok (modelId ${meta.modelId})`);
