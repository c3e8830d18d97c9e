import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FocusEngine } from '../../src/core/engine';
import { Tree } from '../../src/core/tree';
import { MAX_ROWS, VALUE_FEATURE_NAMES, VALUE_FEATURES, VALUE_FLOOR, valueInputs, isQuestion } from '../../src/core/valueModel';
import { QueryEvidence, meanVector } from '../../src/core/features';
import { ALL_LIFTS, combineValues, DEFAULT_PLAN, liftsOffAt, valueParts } from '../../src/core/plan';
import { loadModels } from '../../src/models/onnxRuntime';
import { FakeRuntime } from './support/fakeRuntime';

const ROOT = join(__dirname, '..', '..', '..');
/**
 * The committed models and their reference (models/training/value-reference.json); MEGACONTEXT_MODELS_DIR points
 * elsewhere for smoke runs, whose reference `npm run train -- --smoke` writes to the models' `.state/` folder.
 */
const MODELS = process.env.MEGACONTEXT_MODELS_DIR ?? join(ROOT, 'models');
const REFERENCE = process.env.MEGACONTEXT_VALUE_REFERENCE ?? (process.env.MEGACONTEXT_MODELS_DIR ? join(MODELS, '.state', 'value-reference.json') : join(ROOT, 'models', 'training', 'value-reference.json'));

interface Tensor { dims: number[]; data: number[] }

test('LensNet v2 in onnxruntime-node reproduces the PyTorch reference outputs', async () => {
  const manifest = JSON.parse(readFileSync(join(MODELS, 'models.json'), 'utf8')) as { files: Record<string, unknown>; valueFeatures?: number; valueFeatureNames?: string[] };
  assert.ok(manifest.files.value, 'models.json lists lensnet-v2 (files.value)');
  assert.deepEqual(manifest.valueFeatureNames, [...VALUE_FEATURE_NAMES], 'the model was trained on the features valueModel.ts computes, in order');
  assert.ok(existsSync(REFERENCE), `reference outputs at ${REFERENCE}`);
  const ref = JSON.parse(readFileSync(REFERENCE, 'utf8')) as { inputs: { rows: Tensor }; outputs: { delta: Tensor }; tolerance: number };
  const rt = await loadModels(MODELS, { providers: ['cpu'] });
  try {
    assert.ok(rt.scoreValues, 'the runtime loaded LensNet v2');
    assert.equal(rt.valueFeatures, VALUE_FEATURES);
    const n = ref.inputs.rows.dims[0];
    const got = await rt.scoreValues(Float32Array.from(ref.inputs.rows.data), n);
    assert.equal(got.length, n);
    let worst = 0;
    for (let i = 0; i < n; i++) worst = Math.max(worst, Math.abs(got[i] - ref.outputs.delta.data[i]));
    assert.ok(worst <= ref.tolerance, `max |onnx - torch| = ${worst} > ${ref.tolerance}`);
    // Bounded corrections, any batch size.
    const big = await rt.scoreValues(Float32Array.from({ length: 300 * VALUE_FEATURES }, (_, i) => Math.sin(i) * 3), 300);
    assert.ok([...big].every((x) => Number.isFinite(x) && Math.abs(x) <= 4));
  } finally {
    await rt.dispose();
  }
});

const DOCS = [
  { id: 'src/pricing.py', text: 'def total(items):\n    """Sum the prices."""\n    return sum(i.price for i in items)\n\n\ndef discount(total, code):\n    """Apply a discount code to a total, never below zero."""\n    if code == "HALF":\n        return max(0, total / 2)\n    return total\n' },
  { id: 'tests/test_pricing.py', text: 'from pricing import discount\n\n\ndef test_discount():\n    assert discount(10, "HALF") == 5\n' },
  { id: 'README.md', text: '# Shop\n\nPrices and discounts.\n' },
];

test('the value inputs hold the plan\'s value, the unit kind and the support flag', async () => {
  const rt = new FakeRuntime();
  const tree = new Tree(rt);
  await tree.ingest(DOCS.map((d) => ({ ...d, kind: 'file' as const })));
  const engine = new FocusEngine(tree, rt);
  const docs = [...tree.documents.values()];
  const { tail, count } = await engine.tailGists('apply a discount code');
  const ev = new QueryEvidence(tree, 'apply a discount code');
  const inputs = valueInputs(docs, ev, 'apply a discount code', meanVector(tail, count, rt.dim), DEFAULT_PLAN, (d) => d.id.startsWith('tests/'));
  assert.ok(inputs.n > 0);
  assert.equal(inputs.rows.length, inputs.n * VALUE_FEATURES);
  for (let r = 0; r < inputs.n; r++) {
    const d = docs[inputs.docOf[r]];
    const row = inputs.rows.subarray(r * VALUE_FEATURES, (r + 1) * VALUE_FEATURES);
    assert.ok(Math.abs(row[2] - Math.log(inputs.base[inputs.docOf[r]][inputs.blockOf[r]])) < 1e-5, 'log_value is the plan\'s value');
    assert.equal(row[16], d.id.startsWith('tests/') ? 1 : 0);
    assert.ok(row.every((x) => Number.isFinite(x)));
  }
  assert.ok(isQuestion('When did Caroline go to the LGBTQ support group?'));
  assert.ok(!isQuestion('Fix handling of empty headers'));
});

test('scorer lens2 is the lexical plan when the model is neutral, and the lexical plan without LensNet v2', async () => {
  const rt = new FakeRuntime();
  const tree = new Tree(rt);
  await tree.ingest(DOCS.map((d) => ({ ...d, kind: 'file' as const })));
  const engine = new FocusEngine(tree, rt);
  const req = { query: 'apply a discount code', budget: 256 };
  const lexical = await engine.focus({ ...req, scorer: 'lexical' });
  const without = await engine.focus({ ...req, scorer: 'lens2' });
  assert.equal(without.scorer, 'lexical', 'no scoreValues: the lexical plan runs');
  const neutral = Object.assign(new FakeRuntime(), { scoreValues: async (_rows: Float32Array, n: number) => new Float32Array(n), valueFeatures: VALUE_FEATURES });
  const tree2 = new Tree(neutral);
  await tree2.ingest(DOCS.map((d) => ({ ...d, kind: 'file' as const })));
  const lens2 = await new FocusEngine(tree2, neutral).focus({ ...req, scorer: 'lens2' });
  assert.equal(lens2.scorer, 'lens2');
  assert.equal(lens2.rendered.prompt, lexical.rendered.prompt, 'delta 0 is the plan exactly');
});

test('the value inputs take the MAX_ROWS best blocks (ties in document and block order) and each lift as what it adds', async () => {
  const rt = new FakeRuntime();
  const tree = new Tree(rt);
  // Far more matching blocks than MAX_ROWS, most of them tied: the cut falls inside a run of equal values.
  const many = Array.from({ length: 700 }, (_, i) => `def apply_${i}(total):\n    return discount(total, ${i % 7})\n\n`).join('');
  await tree.ingest([
    { id: 'src/a.py', text: many, kind: 'file' as const },
    { id: 'tests/test_b.py', text: many, kind: 'file' as const },
    ...DOCS.map((d) => ({ ...d, kind: 'file' as const })),
  ]);
  const engine = new FocusEngine(tree, rt);
  const docs = [...tree.documents.values()];
  const query = 'apply a discount to the total';
  const { tail, count } = await engine.tailGists(query);
  const ev = new QueryEvidence(tree, query);
  const support = (d: { id: string }) => d.id.startsWith('tests/');
  const inputs = valueInputs(docs, ev, query, meanVector(tail, count, rt.dim), DEFAULT_PLAN, support);
  assert.equal(inputs.n, MAX_ROWS);
  // Every block above the floor, in document and block order; the chosen ones are the best, and at the cut the first.
  let top = 0;
  for (const v of inputs.base) for (const x of v) top = Math.max(top, x);
  const all: { d: number; b: number; x: number }[] = [];
  inputs.base.forEach((v, d) => v.forEach((x, b) => { if (x > 0 && x >= VALUE_FLOOR * top) all.push({ d, b, x }); }));
  assert.ok(all.length > MAX_ROWS + 100, `${all.length} candidates`);
  const chosen = new Set(Array.from({ length: inputs.n }, (_, r) => `${inputs.docOf[r]}:${inputs.blockOf[r]}`));
  const cut = [...all].sort((p, q) => q.x - p.x)[MAX_ROWS - 1].x;
  let seenUnchosenAtCut = false;
  for (const c of all) {
    const isChosen = chosen.has(`${c.d}:${c.b}`);
    if (c.x > cut) assert.ok(isChosen, 'every block above the cut is scored');
    if (c.x < cut) assert.ok(!isChosen, 'no block below the cut is scored');
    if (c.x === cut) {
      if (!isChosen) seenUnchosenAtCut = true;
      else assert.ok(!seenUnchosenAtCut, 'ties at the cut go to the earlier blocks');
    }
  }
  // Rows in document and block order.
  for (let r = 1; r < inputs.n; r++) assert.ok(inputs.docOf[r] > inputs.docOf[r - 1] || (inputs.docOf[r] === inputs.docOf[r - 1] && inputs.blockOf[r] > inputs.blockOf[r - 1]));
  // Each lift feature is log1p of what the lift adds (value minus the value without it), support files scaled back.
  for (let r = 0; r < inputs.n; r += 37) {
    const d = docs[inputs.docOf[r]];
    const b = inputs.blockOf[r];
    const parts = valueParts(d, ev.of(d).raw, DEFAULT_PLAN, ev.q);
    const v = inputs.base[inputs.docOf[r]][b];
    const scale = support(d) ? 1 / DEFAULT_PLAN.supportShare : 1;
    const lifts = [{ section: false }, { scope: false }, { def: false }];
    lifts.forEach((off, k) => {
      const without = combineValues(d, parts, DEFAULT_PLAN, { ...ALL_LIFTS, ...off }, support(d))[b];
      assert.equal(inputs.rows[r * VALUE_FEATURES + 5 + k], Math.fround(Math.log1p(Math.max(0, v - without) * scale)), `${VALUE_FEATURE_NAMES[5 + k]} of row ${r}`);
    });
  }
});

test('liftsOffAt gives combineValues with each lift off, the same floats, at any blocks', async () => {
  const rt = new FakeRuntime();
  const tree = new Tree(rt);
  const long = Array.from({ length: 90 }, (_, i) => `discount${i % 5}`).join(' ');
  const code =
    `class Pricing:\n    """Prices and the discount code."""\n\n` +
    Array.from({ length: 12 }, (_, i) => `    def apply_${i}(self, total):\n        # ${i % 3 === 0 ? long : 'apply the discount to the total'}\n        return discount(total, ${i})\n\n`).join('') +
    `def total(items):\n    return sum(i.price for i in items)  # ${long}\n`;
  const chat =
    '# Conversation between Anna and Ben\n' +
    Array.from({ length: 6 }, (_, s) => `## Session ${s + 1} (${s % 2 ? 'June' : 'July'} ${s + 3}, 2023)\n` +
      Array.from({ length: 8 }, (_, t) => `D${s + 1}:${t + 1} ${t % 2 ? 'Ben' : 'Anna'}: ${t % 3 ? 'we talked about the discount on the total' : long}\n`).join('')).join('');
  await tree.ingest([
    { id: 'src/pricing.py', text: code, kind: 'file' as const },
    { id: 'tests/test_pricing.py', text: code, kind: 'file' as const },
    { id: 'notes/chat.txt', text: chat, kind: 'file' as const },
  ]);
  const support = (d: { id: string }) => d.id.startsWith('tests/');
  let checked = 0;
  for (const query of ['apply the discount to the total', 'What did Anna say about the discount in June?']) {
    const ev = new QueryEvidence(tree, query);
    for (const d of tree.documents.values()) {
      const parts = valueParts(d, ev.of(d).raw, DEFAULT_PLAN, ev.q);
      const all = combineValues(d, parts, DEFAULT_PLAN, ALL_LIFTS, support(d));
      const at = Int32Array.from({ length: d.nBlocks }, (_, b) => b);
      const off = liftsOffAt(d, parts, DEFAULT_PLAN, support(d), at, all);
      const every = { noSection: { section: false }, noScope: { scope: false }, noDef: { def: false } } as const;
      for (const [key, lifts] of Object.entries(every) as [keyof typeof every, (typeof every)[keyof typeof every]][]) {
        const want = combineValues(d, parts, DEFAULT_PLAN, { ...ALL_LIFTS, ...lifts }, support(d));
        assert.deepEqual([...off[key]], [...want], `${key} of ${d.id} for "${query}"`);
        // A few blocks alone, out of a sparse ascending set.
        const some = at.filter((b) => b % 3 === 1);
        assert.deepEqual([...liftsOffAt(d, parts, DEFAULT_PLAN, support(d), some, all)[key]], [...some].map((b) => want[b]));
      }
      checked++;
    }
    // The documents exercise every step: section and session adds, scopes, definition lines, an unnamed speaker, lines over 32 tokens.
    const chatDoc = [...tree.documents.values()].find((d) => d.id === 'notes/chat.txt')!;
    const cp = valueParts(chatDoc, ev.of(chatDoc).raw, DEFAULT_PLAN, ev.q);
    if (query.startsWith('What')) assert.ok(cp.others && cp.sections.length > 1, 'speaker share and session headings apply');
  }
  const codeDoc = [...tree.documents.values()].find((d) => d.id === 'src/pricing.py')!;
  const cp = valueParts(codeDoc, new QueryEvidence(tree, 'apply the discount').of(codeDoc).raw, DEFAULT_PLAN, new QueryEvidence(tree, 'apply the discount').q);
  assert.ok(cp.scopes && cp.scopes.length > 2 && cp.defAt.length > 0 && cp.sections.length > 0, 'scopes, definition lines and sections apply');
  const lineStarts = new Set(codeDoc.lines);
  assert.ok(Array.from({ length: codeDoc.nBlocks }, (_, b) => codeDoc.blockChar[b]).some((c) => !lineStarts.has(c)), 'some blocks start inside a line over 32 tokens');
  assert.equal(checked, 6);
});
