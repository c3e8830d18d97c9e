import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BARE_SCORED, FocusEngine, scoredEntries } from '../../src/core/engine';
import { checkWorkingContext } from '../../src/core/invariants';
import { actionsPerIteration, BudgetTooSmallError, DEFAULT_FOCUS, FocusAllocator, topEntries } from '../../src/core/focus';
import { renderWorkingContext } from '../../src/core/render';
import { CostModel, keptLineCosts } from '../../src/core/cost';
import { makeEntry, type Entry } from '../../src/core/entry';
import { countPromptTokens } from '../../src/core/tokenizer';
import { syntheticSource, treeOf } from './support/corpus';

const QUERY = 'focus budget render';
const r_includes = (a: string, b: string) => a.includes(b);

test('the focused context satisfies every invariant and shows the best evidence exactly', async () => {
  const docs = [
    { id: '/w/a.py', text: syntheticSource(1, 500) },
    { id: '/w/b.py', text: syntheticSource(2, 300) + 'def needle_function(haystack):\n    return unique_marker_zebra\n' + syntheticSource(3, 300) },
    { id: '/w/c.md', text: '# Notes\n\nshort file\n' },
  ];
  const tree = await treeOf(docs);
  const engine = new FocusEngine(tree, tree.runtime);
  const wc = await engine.focus({ query: 'needle_function unique_marker_zebra', budget: 2048 });
  assert.deepEqual(checkWorkingContext(wc.perDoc, wc.rendered, 2048), []);
  assert.ok(wc.rendered.tokens <= 2048);
  const run = wc.rendered.exactRuns.find((r) => r.doc.id === '/w/b.py');
  assert.ok(run && r_includes(run.doc.text.slice(run.charStart, run.charEnd), 'return unique_marker_zebra'), 'the evidence is at LOD0');
  // Every document is listed.
  for (const d of docs) assert.ok(wc.rendered.prompt.includes(d.id), d.id);
  const lods = new Set(wc.perDoc.flat().map((e) => e.lod));
  assert.ok(lods.has(0) && (lods.has(1) || lods.has(2)));
});

test('invariants hold for random documents, queries, budgets, allocator options and edits (property)', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.record({ seed: fc.integer({ min: 0, max: 50 }), lines: fc.integer({ min: 0, max: 400 }), appending: fc.boolean() }), { minLength: 1, maxLength: 4 }),
      fc.constantFrom('alpha beta', 'render_7 focus', 'gist tree lens', 'nothing matches qqq', ''),
      fc.integer({ min: 300, max: 6000 }),
      fc.record({
        nDiff: fc.integer({ min: 1, max: 8 }),
        cooldown: fc.integer({ min: 0, max: 3 }),
        gate: fc.constantFrom(1, 0.5),
        shift: fc.constantFrom(null, [0.3, 1, 0.3] as [number, number, number]),
        sharpen: fc.constantFrom(1, 2),
      }),
      fc.integer({ min: 0, max: 200 }),
      async (specs, query, budget, options, editAt) => {
        const docs = specs.map((s, i) => ({ id: `/p/d${i}.py`, text: syntheticSource(s.seed, s.lines), appending: s.appending }));
        const tree = await treeOf(docs);
        // An edit in the middle of one document, re-ingested incrementally.
        const t = docs[0].text;
        const at = Math.min(t.length, editAt * 7);
        await tree.ingest([{ id: docs[0].id, text: t.slice(0, at) + 'edited = 1\n' + t.slice(at), kind: docs[0].appending ? 'chat' : 'file', appending: docs[0].appending }]);
        const engine = new FocusEngine(tree, tree.runtime);
        try {
          const wc = await engine.focus({ query, budget, settings: options });
          const v = checkWorkingContext(wc.perDoc, wc.rendered, budget);
          assert.deepEqual(v, []);
          assert.equal(wc.telemetry.coldRebuilds, 0);
          // The count summed per document is the whole prompt's count.
          assert.equal(wc.rendered.tokens, countPromptTokens(wc.rendered.prompt));
        } catch (err) {
          if (!(err instanceof BudgetTooSmallError)) throw err;
        }
      },
    ),
    { numRuns: 40 },
  );
});

test('the same tree, query and settings give the same working context', async () => {
  const tree = await treeOf([{ id: '/a.py', text: syntheticSource(9, 800) }, { id: '/b.py', text: syntheticSource(10, 300) }]);
  const engine = new FocusEngine(tree, tree.runtime);
  const a = await engine.focus({ query: QUERY, budget: 3000 });
  const b = await engine.focus({ query: QUERY, budget: 3000 });
  assert.equal(a.rendered.prompt, b.rendered.prompt);
});

test('when LOD2 of everything does not fit, the least relevant documents collapse to their root line', async () => {
  // 60 documents: with one block gist per group line (render.ts GROUP_CHILDREN) 30 of them fit at LOD2.
  const docs = Array.from({ length: 60 }, (_, i) => ({ id: `/m/f${String(i).padStart(2, '0')}.py`, text: syntheticSource(i, 300) }));
  docs[17].text += 'def zebra_quagga():\n    pass\n';
  const tree = await treeOf(docs);
  const engine = new FocusEngine(tree, tree.runtime);
  const wc = await engine.focus({ query: 'zebra_quagga', budget: 2000 });
  assert.deepEqual(checkWorkingContext(wc.perDoc, wc.rendered, 2000), []);
  assert.ok(wc.telemetry.coldStartRoots > 0);
  const byId = new Map(wc.perDoc.map((es) => [es[0].doc.id, es]));
  assert.equal(byId.size, 60, 'every document is still listed');
  assert.notEqual(byId.get('/m/f17.py')![0].lod, 3, 'the relevant document is not collapsed to its root');
  assert.ok(wc.rendered.exactRuns.some((r) => r.doc.id === '/m/f17.py' && r.doc.text.slice(r.charStart, r.charEnd).includes('def zebra')));
});

test('a budget that cannot list every document (nor fold them into folders) is a clear error', async () => {
  // One document per folder: folding a folder of one saves nothing.
  const docs = Array.from({ length: 20 }, (_, i) => ({ id: `/m${i}/f.py`, text: syntheticSource(i, 50) }));
  const tree = await treeOf(docs);
  const engine = new FocusEngine(tree, tree.runtime);
  await assert.rejects(engine.focus({ query: 'x', budget: 100 }), (e: unknown) => e instanceof BudgetTooSmallError && /too small/.test(e.message));
});

test('held spans (pins, recent chat) stay at LOD0 and are never collapsed', async () => {
  const tree = await treeOf([{ id: '/a.py', text: syntheticSource(11, 600) }, { id: 'chat:s1', text: syntheticSource(12, 100) + 'tail words', appending: true }]);
  const engine = new FocusEngine(tree, tree.runtime);
  const wc = await engine.focus({ query: 'nothing relevant qqq', budget: 1500, holds: [{ docId: '/a.py', start: 320, end: 400 }] });
  assert.deepEqual(checkWorkingContext(wc.perDoc, wc.rendered, 1500), []);
  const a = wc.perDoc.find((es) => es[0].doc.id === '/a.py')!;
  const doc = a[0].doc;
  for (let b = doc.blockAtToken(320); b <= doc.blockAtToken(399); b++) assert.ok(a.some((e) => e.lod === 0 && e.index === b), `block ${b} held at LOD0`);
  const chat = wc.perDoc.find((es) => es[0].doc.id === 'chat:s1')!;
  const last = chat[chat.length - 1];
  assert.equal(last.lod, 0, 'the unfinished chat tail (its last, open block) stays at LOD0');
});

/** A one-document tree and a budget that one expansion nearly fills, so negative scores collapse it again. */
async function oneExpansionSetup() {
  const tree = await treeOf([{ id: '/a.py', text: syntheticSource(13, 400) }]);
  const doc = tree.documents.get('/a.py')!;
  const costModel = new CostModel((d) => d.id);
  const cold = new FocusAllocator([doc], { ...DEFAULT_FOCUS, budget: 1e6 }, costModel);
  const g0 = cold.state[0][0];
  const budget = cold.usedTokens + costModel.spliceDelta(cold.state[0], 0, 1, Array.from({ length: 32 }, (_, b) => ({ ...g0, lod: 1 as const, index: b, start: b * 32, end: b * 32 + 32 }))) + 5;
  return { doc, costModel, budget };
}

/** A scorer whose sign flips on every call: it drives expand/collapse oscillation. */
function flippingScorer(): (entries: unknown[]) => Promise<Float32Array> {
  let call = 0;
  return async (entries) => {
    const sign = call++ % 2 === 0 ? 1 : -1;
    return Float32Array.from(entries, () => sign);
  };
}

test('cooldown forbids undoing a node\'s last action for that many iterations', async () => {
  const { doc, costModel, budget } = await oneExpansionSetup();
  for (const cooldown of [0, 3]) {
    const alloc = new FocusAllocator([doc], { ...DEFAULT_FOCUS, budget, cooldown, maxIterations: 8 }, costModel);
    await alloc.run(flippingScorer());
    assert.deepEqual(checkWorkingContext(alloc.state, undefined, budget), []);
    // A collapse that recreates node X must come at least `cooldown` iterations after X was expanded.
    let reversals = 0;
    for (const c of alloc.actions.filter((a) => a.kind === 'collapse')) {
      const e = alloc.actions.find((a) => a.kind === 'expand' && a.lod === c.lod && a.index === c.index && a.iteration < c.iteration);
      if (!e) continue;
      reversals++;
      assert.ok(c.iteration - e.iteration >= cooldown, `node ${c.lod}:${c.index} undone after ${c.iteration - e.iteration} < ${cooldown}`);
    }
    if (cooldown === 0) assert.ok(reversals > 0, 'without cooldown the flipping scorer does oscillate');
  }
  assert.ok(topEntries(doc).length > 0);
});

test('incremental cost bookkeeping matches a full re-costing after any sequence of actions (property)', async () => {
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 500, max: 20000 }), async (seed, budget) => {
      const tree = await treeOf([
        { id: '/a.py', text: syntheticSource(seed % 7, 500) },
        { id: '/b.py', text: syntheticSource(seed % 5, 120) },
        { id: 'chat:x', text: syntheticSource(seed % 3, 90), appending: true },
      ]);
      const docs = [...tree.documents.values()];
      const costModel = new CostModel((d) => d.id);
      let alloc: FocusAllocator;
      try {
        alloc = new FocusAllocator(docs, { ...DEFAULT_FOCUS, budget, maxIterations: 12 }, costModel);
      } catch (e) {
        if (e instanceof BudgetTooSmallError) return;
        throw e;
      }
      let x = seed + 1;
      await alloc.run(async (entries) => Float32Array.from(entries, () => ((x = (x * 16807) % 2147483647) / 2147483647) * 2 - 1));
      // Legality of every action taken: only nodes above LOD0 expand, only into a parent above LOD0 do groups collapse.
      for (const a of alloc.actions) assert.ok(a.lod >= 1 && a.lod <= 3, `${a.kind} of LOD${a.lod}`);
      const full = costModel.preamble + alloc.state.reduce((n, es) => n + costModel.documentCost(es), 0);
      assert.equal(alloc.usedTokens, full);
      assert.ok(alloc.usedTokens <= budget);
      assert.deepEqual(checkWorkingContext(alloc.state, undefined, budget), []);
    }),
    { numRuns: 40 },
  );
});

test('a range the user collapsed stays at group gists even where the evidence is; pins inside it still win', async () => {
  const text = syntheticSource(21, 200) + 'def zebra_quagga_okapi():\n    return 1\n' + syntheticSource(22, 200);
  const tree = await treeOf([{ id: '/z.py', text }]);
  const engine = new FocusEngine(tree, tree.runtime);
  const doc = tree.documents.get('/z.py')!;
  const at = doc.text.indexOf('def zebra');
  let b = 0;
  while (doc.blockChar[b + 1] <= at) b++;
  const query = 'zebra_quagga_okapi';
  const free = await engine.focus({ query, budget: 4000 });
  const inside = (es: typeof free.perDoc[0], lo: number, hi: number) => es.filter((e) => e.lod < 2 && e.start < hi && lo < e.end);
  const [g, gEnd] = doc.span(2, Math.floor(b / 32));
  assert.ok(inside(free.perDoc[0], g, gEnd).length > 0, 'without a cap the evidence expands');
  const capped = await engine.focus({ query, budget: 4000, caps: [{ docId: '/z.py', start: g, end: gEnd }] });
  assert.deepEqual(checkWorkingContext(capped.perDoc, capped.rendered, 4000), []);
  assert.equal(inside(capped.perDoc[0], g, gEnd).length, 0, 'the capped group stays at LOD2');
  const [b0, b1] = doc.span(1, b);
  const pinned = await engine.focus({ query, budget: 4000, caps: [{ docId: '/z.py', start: g, end: gEnd }], holds: [{ docId: '/z.py', start: b0, end: b1 }] });
  assert.ok(pinned.perDoc[0].some((e) => e.lod === 0 && e.index === b), 'a pin inside the cap is still exact');
});

test('the allocator defaults in package.json are the engine\'s defaults', () => {
  const pkg = JSON.parse(readFileSync(join(__dirname, '..', '..', '..', 'package.json'), 'utf8')) as {
    contributes: { configuration: { properties: Record<string, { default?: unknown }> } };
  };
  const props = pkg.contributes.configuration.properties;
  for (const k of ['tauExpand', 'tauCollapse', 'nDiff', 'cooldown', 'gate', 'shift', 'sharpen'] as const) {
    const p = props[`megacontext.allocator.${k}`];
    assert.ok(p, `megacontext.allocator.${k} is contributed`);
    assert.deepEqual(p.default, DEFAULT_FOCUS[k], k);
  }
});

test('actions per iteration: nDiff up to 2,048 tokens of budget, scaled with the budget above, never exceeded', async () => {
  assert.equal(actionsPerIteration({ nDiff: 4, budget: 1024 }), 4);
  assert.equal(actionsPerIteration({ nDiff: 4, budget: 2048 }), 4);
  assert.equal(actionsPerIteration({ nDiff: 4, budget: 8192 }), 16);
  assert.equal(actionsPerIteration({ nDiff: 1, budget: 32768 }), 16);
  const tree = await treeOf([
    { id: '/a.py', text: syntheticSource(11, 1500) },
    { id: '/b.py', text: syntheticSource(12, 1500) },
  ]);
  const docs = [...tree.documents.values()];
  for (const budget of [2048, 8192]) {
    const alloc = new FocusAllocator(docs, { ...DEFAULT_FOCUS, budget }, new CostModel((d) => d.id));
    // Every entry wants to expand: only the per-iteration limit holds the allocator back.
    await alloc.run(async (entries) => new Float32Array(entries.length).fill(1));
    const perIteration = new Map<number, number>();
    for (const a of alloc.actions) perIteration.set(a.iteration, (perIteration.get(a.iteration) ?? 0) + 1);
    const most = Math.max(...perIteration.values());
    const limit = actionsPerIteration({ nDiff: DEFAULT_FOCUS.nDiff, budget });
    assert.ok(most <= limit, `W=${budget}: ${most} actions in one iteration > ${limit}`);
    assert.equal(most, limit, `W=${budget}: the first iterations use the whole allowance`);
  }
});

test('settle: a node expanded and collapsed again in one refocus is not expanded a third time (off: it is)', async () => {
  const { doc, costModel, budget } = await oneExpansionSetup();
  const reExpansions: Record<string, number> = {};
  for (const settle of [true, false]) {
    const alloc = new FocusAllocator([doc], { ...DEFAULT_FOCUS, budget, cooldown: 0, maxIterations: 12, settle }, costModel);
    await alloc.run(flippingScorer());
    assert.deepEqual(checkWorkingContext(alloc.state, undefined, budget), []);
    let n = 0;
    for (const c of alloc.actions.filter((a) => a.kind === 'collapse')) {
      n += alloc.actions.filter((a) => a.kind === 'expand' && a.lod === c.lod && a.index === c.index && a.iteration > c.iteration).length;
    }
    reExpansions[String(settle)] = n;
  }
  assert.equal(reExpansions.true, 0, 'with settle, nothing collapsed after its expansion expands again');
  assert.ok(reExpansions.false > 0, `without settle the flipping scorer re-expands (${reExpansions.false})`);
});

test('a tight budget collapses other documents but never a pin; when pins cannot fit, a clear error', async () => {
  const docs = Array.from({ length: 12 }, (_, i) => ({ id: `/w/f${i}.py`, text: syntheticSource(40 + i, 300) }));
  const tree = await treeOf(docs);
  const engine = new FocusEngine(tree, tree.runtime);
  const hold = { docId: '/w/f5.py', start: 640, end: 700 };
  const wc = await engine.focus({ query: 'nothing qqq', budget: 600, holds: [hold] });
  assert.ok(wc.telemetry.coldStartRoots > 0, 'the budget forced documents to their root lines');
  const f5 = wc.perDoc.find((es) => es[0].doc.id === '/w/f5.py')!;
  const d5 = f5[0].doc;
  for (let b = d5.blockAtToken(hold.start); b <= d5.blockAtToken(hold.end - 1); b++) assert.ok(f5.some((e) => e.lod === 0 && e.index === b), `pinned block ${b} stays exact`);
  assert.deepEqual(checkWorkingContext(wc.perDoc, wc.rendered, 600), []);
  await assert.rejects(engine.focus({ query: 'nothing qqq', budget: 150, holds: [hold] }),
    (e: unknown) => e instanceof BudgetTooSmallError && /pinned spans/.test(e.message) && e.heldDocuments === 1);
});

test('thousands of files: when even bare paths do not fit, the least relevant folders fold into one line each', async () => {
  const docs: { id: string; text: string }[] = [];
  for (let f = 0; f < 8; f++) for (let i = 0; i < 40; i++) docs.push({ id: `/w/pkg${f}/mod${i}.py`, text: syntheticSource(f * 100 + i, 12) });
  docs.push({ id: '/w/pkg3/needle.py', text: syntheticSource(999, 30) + 'def zebra_quagga_okapi(x):\n    return x\n' });
  const tree = await treeOf(docs);
  const engine = new FocusEngine(tree, tree.runtime);
  const budget = 1500;
  const wc = await engine.focus({ query: 'zebra quagga okapi', budget });
  assert.deepEqual(checkWorkingContext(wc.perDoc, wc.rendered, budget), []);
  assert.ok(wc.telemetry.foldedFolders > 0, 'folders were folded');
  assert.ok(wc.rendered.tokens <= budget);
  // Every folded document belongs to a folder whose one line names its file count.
  const folded = wc.perDoc.filter((es) => es[0].fold);
  for (const es of folded) {
    const f = es[0].fold!;
    assert.ok(wc.rendered.prompt.includes(`· ${f.folder}/ (${f.files} files, ${f.tokens} tok)\n`), f.folder);
  }
  assert.equal(new Set(folded.map((es) => es[0].fold!.folder)).size, wc.telemetry.foldedFolders);
  // The folder with the evidence is not folded, and the evidence is exact.
  assert.ok(!folded.some((es) => es[0].doc.id.startsWith('/w/pkg3/')), 'the relevant folder stays listed');
  const run = wc.rendered.exactRuns.find((r) => r.doc.id === '/w/pkg3/needle.py');
  assert.ok(run && run.doc.text.slice(run.charStart, run.charEnd).includes('def zebra_quagga_okapi'), 'the evidence is at LOD0');
  // Without folders to fold (each file alone in a top-level folder), the same budget fails.
  const flat = await treeOf(docs.map((d, i) => ({ ...d, id: `/f${i}/x.py` })));
  await assert.rejects(new FocusEngine(flat, flat.runtime).focus({ query: 'zebra quagga okapi', budget, displayPath: (d) => d.id.slice(1) }), BudgetTooSmallError);
});

test('when one line per folder is still too much, parent folders fold too', async () => {
  const docs: { id: string; text: string }[] = [];
  for (let p = 0; p < 6; p++) for (let f = 0; f < 25; f++) for (let i = 0; i < 3; i++) docs.push({ id: `/w/pkg${p}/sub${f}/m${i}.py`, text: syntheticSource(p * 1000 + f * 10 + i, 4) });
  docs.push({ id: '/w/pkg2/sub7/needle.py', text: syntheticSource(999, 20) + 'def zebra_quagga_okapi(x):\n    return x\n' });
  const tree = await treeOf(docs);
  const budget = 900;
  const wc = await new FocusEngine(tree, tree.runtime).focus({ query: 'zebra quagga okapi', budget });
  assert.deepEqual(checkWorkingContext(wc.perDoc, wc.rendered, budget), []);
  const folders = new Set(wc.perDoc.filter((es) => es[0].fold).map((es) => es[0].fold!.folder));
  assert.ok([...folders].some((f) => /^\/w\/pkg\d$/.test(f)), `a package folder folded whole: ${[...folders].slice(0, 5).join(', ')}`);
  assert.equal(wc.telemetry.foldedFolders, folders.size);
  for (const f of folders) assert.ok(wc.rendered.prompt.includes(`· ${f}/ (`), f);
  const run = wc.rendered.exactRuns.find((r) => r.doc.id === '/w/pkg2/sub7/needle.py');
  assert.ok(run && run.doc.text.slice(run.charStart, run.charEnd).includes('def zebra_quagga_okapi'), 'the evidence is at LOD0');
});

test('the rendered token count, summed per document, equals a count of the whole prompt at every boundary', async () => {
  // Document ends and path starts that could merge across the boundary if the sum were not exact:
  // trailing spaces, punctuation, slashes, CRLF, no final newline, blank lines, non-ASCII.
  const ends = ['x = 1', 'x = 1   ', 'path/', 'a)]}', '\r\n\r\n', '\n\n\n', '//', 'é', '  \t', '...', '#', '·'];
  const docs = ends.map((end, i) => ({ id: `/q/${['#', '·', '/', ' ', 'é', ''][i % 6]}d${i}.txt`, text: syntheticSource(i, 40 + i * 3) + end }));
  const tree = await treeOf(docs);
  const engine = new FocusEngine(tree, tree.runtime);
  for (const budget of [900, 2500, 20000]) {
    for (const query of ['alpha beta', 'path', '']) {
      try {
        const wc = await engine.focus({ query, budget });
        assert.equal(wc.rendered.tokens, countPromptTokens(wc.rendered.prompt), `budget ${budget}, query ${query}`);
      } catch (err) {
        if (!(err instanceof BudgetTooSmallError)) throw err;
      }
    }
  }
  // Every document at LOD0 with its exact last characters.
  const wide = [...tree.documents.values()].map((d) => Array.from({ length: d.nBlocks }, (_, b) => ({ doc: d, lod: 0 as const, index: b, start: b * 32, end: Math.min(d.tokenCount, b * 32 + 32), score: 0 })));
  const r = renderWorkingContext(wide, { displayPath: (d) => d.id });
  assert.equal(r.tokens, countPromptTokens(r.prompt));
});

test('bare paths of one folder share a `· folder/: a | b` line, every document is named, and the count stays exact', async () => {
  // Names whose ends or starts could merge with a neighbour's ` | ` if the parts were not additive.
  const names = ['a.py', 'b1', 'c2.0', 'd)', 'e.', 'é', 'f_', 'g-', '|h', ' i', 'j k', '#l', '·m'];
  const docs = [
    ...names.map((n, i) => ({ id: `/r/pkg/${n}`, text: syntheticSource(i, 3) })),
    { id: '/r/pkg/sub/x.py', text: syntheticSource(50, 3) },
    { id: '/r/pkg/sub/y.py', text: syntheticSource(51, 3) },
    { id: '/r/top.py', text: syntheticSource(52, 3) },
    { id: '/r/zz/open.py', text: syntheticSource(53, 3) },
    { id: '/r/zz/alone.py', text: syntheticSource(54, 3) },
  ];
  const tree = await treeOf(docs);
  const all = [...tree.documents.values()];
  const perDoc = all.map((d) => (d.id === '/r/zz/open.py' ? [makeEntry(d, 2, 0)] : [{ ...makeEntry(d, 3, 0), bare: true }]));
  const r = renderWorkingContext(perDoc, { displayPath: (d) => d.id.slice(1) });
  assert.equal(r.tokens, countPromptTokens(r.prompt));
  const lines = r.prompt.split('\n');
  const pkgLine = lines.find((l) => l.startsWith('· r/pkg/: '));
  assert.ok(pkgLine, r.prompt);
  for (const n of names) assert.ok(pkgLine.includes(` ${n}`), `${n} in ${pkgLine}`);
  assert.ok(lines.includes('· r/pkg/sub/: x.py | y.py'), r.prompt);
  // A lone bare path, and one whose folder neighbour is not bare, keep their own line.
  assert.ok(lines.includes('· r/top.py'), r.prompt);
  assert.ok(lines.includes('· r/zz/alone.py'), r.prompt);
  // The cost model prices every bare path as rendered once its neighbours are taken into account.
  const cm = new CostModel((d) => d.id.slice(1));
  const bareCost = (state: typeof perDoc) =>
    state.reduce((n, es, i) => (cm.bareFolder(es) === undefined ? n : n + cm.documentCost(es) + cm.bareRunExtra(state, i)), 0);
  const rendered = (state: typeof perDoc) => renderWorkingContext(state, { displayPath: (d) => d.id.slice(1) }).tokens;
  const withoutBare = (state: typeof perDoc) => rendered(state.map((es) => (cm.bareFolder(es) === undefined ? es : [])));
  assert.equal(bareCost(perDoc), r.tokens - withoutBare(perDoc));
  // Opening one name in the middle of the folder line splits it: the two halves are priced as rendered too.
  const split = perDoc.map((es) => (es[0].doc.id === '/r/pkg/e.' ? [makeEntry(es[0].doc, 2, 0)] : es));
  assert.equal(bareCost(split), rendered(split) - withoutBare(split));
});

test('LensNet scores every entry but bare paths beyond the most relevant BARE_SCORED', async () => {
  const tree = await treeOf(Array.from({ length: 8 }, (_, i) => ({ id: `/s/f${i}.py`, text: syntheticSource(400 + i, 3) })));
  const docs = [...tree.documents.values()];
  const few = docs.map((d) => ({ ...makeEntry(d, 3, 0), bare: true }));
  assert.deepEqual(scoredEntries(few, () => 0), few.map((_, i) => i), 'a few bare paths are all scored');
  // Many bare paths (the same documents repeated stand in for thousands of files) and two open entries.
  const n = BARE_SCORED + 40;
  const entries = [makeEntry(docs[0], 2, 0), ...Array.from({ length: n }, (_, i) => ({ ...makeEntry(docs[i % 8], 3, 0), bare: true })), makeEntry(docs[1], 2, 0)];
  const rel = new Map(docs.map((d, i) => [d, i]));
  const keep = scoredEntries(entries, (d) => rel.get(d)!);
  assert.equal(keep.length, 2 + BARE_SCORED);
  assert.ok(keep.includes(0) && keep.includes(entries.length - 1), 'entries that are not bare paths are always scored');
  assert.deepEqual([...keep].sort((a, b) => a - b), keep, 'in working-context order');
  const dropped = entries.map((_, i) => i).filter((i) => !keep.includes(i));
  const worstKept = Math.min(...keep.filter((i) => entries[i].bare).map((i) => rel.get(entries[i].doc)!));
  assert.ok(dropped.every((i) => rel.get(entries[i].doc)! <= worstKept), 'the least relevant bare paths are the ones left unscored');
});

test('consecutive group gists share one ≈ line, and the cost model prices them as rendered', async () => {
  const tree = await treeOf([{ id: '/g.py', text: syntheticSource(77, 2400) }]);
  const doc = tree.documents.get('/g.py')!;
  assert.ok(doc.nLod2 >= 4);
  const groups = Array.from({ length: doc.nLod2 }, (_, g) => makeEntry(doc, 2, g));
  const cm = new CostModel((d) => d.id);
  const r = renderWorkingContext([groups], { displayPath: (d) => d.id });
  const gistLines = r.prompt.split('\n').filter((l) => l.startsWith('≈'));
  assert.equal(gistLines.length, 1, 'one line for the run');
  assert.ok(gistLines[0].split(' | ').length >= doc.nLod2, 'at least one item per group');
  const estimate = cm.preamble + cm.documentCost(groups);
  assert.ok(Math.abs(estimate - r.tokens) <= 3, `estimate ${estimate} vs rendered ${r.tokens}`);
});

test('the cost model prices exact runs and gist lines as rendered, never under, for short and long documents', async () => {
  // 200 lines: three-digit line numbers; 2,400 lines: four. Markers cost what their numbers take.
  for (const lines of [200, 2400]) {
    const tree = await treeOf([{ id: '/r.py', text: syntheticSource(lines, lines) }]);
    const doc = tree.documents.get('/r.py')!;
    const cm = new CostModel((d) => d.id);
    let seed = lines;
    const rand = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
    for (let k = 0; k < 40; k++) {
      // Blocks of one group at random LODs (runs of exact text and of block gists), the other groups as
      // gists. The group is in the document's second half: line numbers there are as long as its last.
      const g = Math.floor(doc.nLod2 / 2 + (rand() * doc.nLod2) / 2);
      const entries: Entry[] = [];
      for (let i = 0; i < doc.nLod2; i++) {
        if (i !== g) { entries.push(makeEntry(doc, 2, i)); continue; }
        const first = i * 32;
        for (let b = first; b < Math.min(doc.nBlocks, first + 32); b++) entries.push(makeEntry(doc, rand() < 0.4 ? 0 : 1, b));
      }
      let runs = 0;
      entries.forEach((e, i) => { if (i === 0 || entries[i - 1].lod !== e.lod) runs++; });
      const rendered = renderWorkingContext([entries], { displayPath: (d) => d.id }).tokens;
      const estimate = cm.preamble + cm.documentCost(entries);
      assert.ok(estimate >= rendered, `${lines} lines: estimate ${estimate} under rendered ${rendered}`);
      assert.ok(estimate - rendered <= runs + 2, `${lines} lines: estimate ${estimate} vs rendered ${rendered} with ${runs} runs`);
    }
  }
});

test('thousands of files: the folder of the only file with evidence folds around it, and that file is exact', async () => {
  const docs: { id: string; text: string }[] = [];
  for (let d = 0; d < 6; d++) for (let i = 0; i < 400; i++) docs.push({ id: `/w/pkg${d}/m${i}.py`, text: `def f_${d}_${i}(x):\n    return x + ${i}\n` });
  docs.push({ id: '/w/pkg3/needle.py', text: 'def needle_zebra(x):\n    """the okapi"""\n    return x\n' });
  const tree = await treeOf(docs);
  const wc = await new FocusEngine(tree, tree.runtime).focus({ query: 'needle_zebra okapi', budget: 1024, scorer: 'lexical', displayPath: (d) => d.id.slice(3) });
  assert.deepEqual(checkWorkingContext(wc.perDoc, wc.rendered, 1024), []);
  assert.ok(wc.telemetry.foldedFolders >= 1, 'folders fold to fit');
  const run = wc.rendered.exactRuns.find((r) => r.doc.id === '/w/pkg3/needle.py');
  assert.ok(run && run.doc.text.slice(run.charStart, run.charEnd).includes('return x'), 'the evidence is exact');
});

test('thousands of files: the budget the focus leaves lists folded folders again, the evidence\'s folder first', async () => {
  const docs: { id: string; text: string }[] = [];
  for (let d = 0; d < 6; d++) for (let s = 0; s < 4; s++) for (let i = 0; i < 100; i++) docs.push({ id: `/w/pkg${d}/sub${s}/m${i}.py`, text: `def f_${d}_${i}(x):\n    return x + ${i}\n` });
  docs.push({ id: '/w/pkg3/sub1/needle.py', text: 'def needle_zebra(x):\n    """the okapi"""\n    return x\n' });
  const tree = await treeOf(docs);
  for (const budget of [2048, 4096]) {
    const wc = await new FocusEngine(tree, tree.runtime).focus({ query: 'needle_zebra okapi', budget, scorer: 'lexical', displayPath: (d) => d.id.slice(3) });
    assert.deepEqual(checkWorkingContext(wc.perDoc, wc.rendered, budget), []);
    // Before: the six package lines and the evidence, 227 tokens of 2,048.
    assert.ok(wc.rendered.tokens >= 0.9 * budget, `${wc.rendered.tokens} of ${budget} tokens used`);
    assert.ok(wc.telemetry.foldedFolders >= 1 && wc.telemetry.foldedFolders < 24, `${wc.telemetry.foldedFolders} folder lines`);
    // The evidence's own folder is listed file by file; every other document is still named by a line.
    assert.ok(wc.rendered.prompt.includes('· pkg3/sub1/: m0.py | m1.py'), 'the evidence folder lists its files');
    const folders = new Set(wc.perDoc.filter((es) => es[0].fold).map((es) => es[0].fold!.folder));
    assert.equal(wc.telemetry.foldedFolders, folders.size);
    for (const f of folders) assert.ok(wc.rendered.prompt.includes(`· ${f}/ (`), f);
    const run = wc.rendered.exactRuns.find((r) => r.doc.id === '/w/pkg3/sub1/needle.py');
    assert.ok(run && run.doc.text.slice(run.charStart, run.charEnd).includes('def needle_zebra'), 'the evidence is exact');
  }
});

test('thousands of files: when their bare paths alone are over the cold start\'s share, no document map is costed', async () => {
  const docs: { id: string; text: string }[] = [];
  for (let d = 0; d < 5; d++) for (let i = 0; i < 500; i++) docs.push({ id: `/w/pkg${d}/module_${i}.py`, text: `def g_${d}_${i}(x):\n    return x * ${i}\n` });
  const tree = await treeOf(docs);
  const cm = new CostModel((d) => d.id.slice(3));
  const ordered = [...tree.documents.values()].sort((a, b) => (a.id < b.id ? -1 : 1));
  const alloc = new FocusAllocator(ordered, { ...DEFAULT_FOCUS, budget: 1024 }, cm);
  assert.ok(alloc.usedTokens <= 1024);
  assert.ok(alloc.state.every((es) => es.length === 1 && es[0].lod === 3 && es[0].bare), 'every document bare or folded');
  // startCost keeps each costed map for its document under a `t…` key: none was asked for.
  assert.ok(ordered.every((d) => ![...keptLineCosts(d).keys()].some((k) => k.startsWith('t'))), 'no map costed');
  const rendered = renderWorkingContext(alloc.state, { displayPath: (d) => d.id.slice(3) });
  assert.ok(rendered.tokens <= 1024);
});
