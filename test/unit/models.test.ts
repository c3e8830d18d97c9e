import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModels, ModelLoadError } from '../../src/models/onnxRuntime';
import { tokenize } from '../../src/core/tokenizer';
import { mineCodeQueries } from '../../src/eval/codeQueries';

/** The committed models (the ones the product ships); MEGACONTEXT_MODELS_DIR points elsewhere for smoke runs. */
const MODELS = process.env.MEGACONTEXT_MODELS_DIR ?? join(__dirname, '..', '..', '..', 'models');

interface Tensor { dims: number[]; type: string; data: number[] }
interface Case { inputs: Record<string, Tensor>; outputs: Record<string, Tensor>; tolerance?: number | Record<string, number> }

test('onnxruntime-node reproduces the PyTorch reference outputs of every model', async () => {
  const ref = JSON.parse(readFileSync(join(MODELS, 'reference.json'), 'utf8')) as Record<string, Case> & { tolerance: number };
  const rt = await loadModels(MODELS, { providers: ['cpu'] });
  // A model may carry its own tolerance, per output: the int8 LOD1 GistNet (models/training/make_reference.py).
  const tolOf = (c: Case, output: string): number => (typeof c.tolerance === 'number' ? c.tolerance : c.tolerance?.[output]) ?? ref.tolerance ?? 1e-4;
  const check = (name: string, got: Float32Array, want: Tensor, tol: number) => {
    assert.equal(got.length, want.data.length, `${name}: length`);
    let worst = 0;
    for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i] - want.data[i]));
    assert.ok(worst <= tol, `${name}: max |onnx - torch| = ${worst} > ${tol}`);
  };
  const l1 = ref['gistnet-lod1'];
  const b1 = l1.inputs.tokens.dims[0];
  const o1 = await rt.gistBlocks(Int32Array.from(l1.inputs.tokens.data), Float32Array.from(l1.inputs.mask.data), b1);
  check('lod1 gist', o1.gists, l1.outputs.gist, tolOf(l1, 'gist'));
  check('lod1 salience', o1.salience, l1.outputs.salience, tolOf(l1, 'salience'));
  const l2 = ref['gistnet-lod2'];
  const o2 = await rt.gistGroups(Float32Array.from(l2.inputs.children.data), Float32Array.from(l2.inputs.mask.data), l2.inputs.children.dims[0]);
  check('lod2 gist', o2.gists, l2.outputs.gist, tolOf(l2, 'gist'));
  check('lod2 salience', o2.salience, l2.outputs.salience, tolOf(l2, 'salience'));
  const ln = ref.lensnet;
  const masks = [ln.inputs.entry_mask.data, ln.inputs.tail_mask.data];
  // The runtime passes all-ones masks; compare only where the reference used them too.
  if (masks.every((m) => m.every((x) => x === 1))) {
    const s = await rt.scoreEntries(Float32Array.from(ln.inputs.entries.data), ln.inputs.entries.dims[1], Float32Array.from(ln.inputs.tail.data), ln.inputs.tail.dims[1]);
    check('lens scores', s, ln.outputs.scores, tolOf(ln, 'scores'));
  }
  await rt.dispose();
});

test('GistNet is trained, not random: on held-out code it ranks a docstring\'s own function above chance', async () => {
  const rt = await loadModels(MODELS, { providers: ['cpu'] });
  // Held-out packages (never named in models/training/manifest.json): docstring -> first block of its def.
  const pairs: { q: Uint32Array; b: Uint32Array }[] = [];
  for (const f of ['json/decoder.py', 'json/encoder.py', 'json/__init__.py', 'email/utils.py', 'logging/__init__.py']) {
    const path = join('/usr/lib/python3.11', f);
    const m = mineCodeQueries(path, readFileSync(path, 'utf8'));
    for (const q of m.queries) pairs.push({ q: tokenize(q.query).slice(0, 32), b: tokenize(m.text.slice(q.defStart)).slice(0, 32) });
  }
  assert.ok(pairs.length >= 50, `${pairs.length} pairs`);
  const encode = async (rows: Uint32Array[]) => {
    const ids = new Int32Array(rows.length * 32);
    const mask = new Float32Array(rows.length * 32);
    rows.forEach((r, i) => r.forEach((id, k) => { ids[i * 32 + k] = id; mask[i * 32 + k] = 1; }));
    return (await rt.gistBlocks(ids, mask, rows.length)).gists;
  };
  const Q = await encode(pairs.map((p) => p.q));
  const B = await encode(pairs.map((p) => p.b));
  const d = rt.dim;
  const n = pairs.length;
  let mrr = 0;
  for (let i = 0; i < n; i++) {
    const sims = Array.from({ length: n }, (_, j) => { let c = 0; for (let k = 0; k < d; k++) c += Q[i * d + k] * B[j * d + k]; return c; });
    mrr += 1 / (sims.filter((x) => x > sims[i]).length + 1);
  }
  mrr /= n;
  let chance = 0;
  for (let k = 1; k <= n; k++) chance += 1 / k;
  chance /= n;
  // A random network ranks at chance; the trained one must do clearly better (model card: held-out MRR).
  assert.ok(mrr > 1.25 * chance, `held-out MRR ${mrr.toFixed(3)} vs chance ${chance.toFixed(3)}`);
  await rt.dispose();
});

test('execution providers fall back in order and report why each was skipped', async () => {
  const rt = await loadModels(MODELS, { providers: ['cuda', 'dml', 'coreml', 'cpu'] });
  const info = rt.info();
  assert.equal(info.executionProvider, 'cpu');
  assert.deepEqual(info.providersTried.map((p) => p.provider), ['cuda', 'dml', 'coreml', 'cpu']);
  for (const p of info.providersTried.slice(0, 3)) assert.ok(p.error && p.error.length > 0, `${p.provider} has a reason`);
  assert.equal(info.providersTried[3].error, undefined);
  await rt.dispose();
  await assert.rejects(loadModels(MODELS, { providers: ['nope'] }), (e: unknown) => e instanceof ModelLoadError && /no execution provider could load the models: nope: /.test(e.message));
});

test('missing or corrupt model files are clear one-line errors', async () => {
  const empty = mkdtempSync(join(tmpdir(), 'mc-models-'));
  await assert.rejects(loadModels(empty), (e: unknown) => e instanceof ModelLoadError && /models not found: .*models\.json is missing/.test(e.message));
  const copy = mkdtempSync(join(tmpdir(), 'mc-models-'));
  for (const f of readdirSync(MODELS)) if (/\.(onnx|json)$/.test(f)) copyFileSync(join(MODELS, f), join(copy, f));
  const lens = readFileSync(join(copy, 'lensnet.onnx'));
  lens[lens.length >> 1] ^= 0x40;
  writeFileSync(join(copy, 'lensnet.onnx'), lens);
  await assert.rejects(loadModels(copy), (e: unknown) => e instanceof ModelLoadError && /do not match models\.json/.test(e.message) && !e.message.includes('\n'));
});
