// The engine's one projection of a working context (src/engine/focusView.ts): the `focus --json` output,
// the viewer snapshot and the extension's FocusResult are derived from it and price every entry alike;
// a cold-start rebuild is logged and kept; one function chooses between the models and the lexical fallback.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { documentOrder, FocusEngine } from '../../src/core/engine';
import { LexicalRuntime } from '../../src/core/lexicalRuntime';
import { CostModel } from '../../src/core/cost';
import type { TreeDocument } from '../../src/core/tree';
import { ModelLoadError } from '../../src/models/onnxRuntime';
import { focusJson } from '../../src/engine/focusJson';
import { focusView, rebuildNotice } from '../../src/engine/focusView';
import { focusResultOf, Memory } from '../../src/engine/memory';
import { focusText } from '../../src/engine/report';
import { chooseRuntime, LEXICAL_STORE_SUBDIR, lexicalOnlyReason } from '../../src/engine/runtimeChoice';
import { snapshotFromView } from '../../src/engine/snapshot';
import { treeOf } from './support/corpus';
import { FakeRuntime } from './support/fakeRuntime';
import { displayPath, FIXTURE_DOCS, QUERY } from './support/viewerSnapshot';

test('the JSON output, the viewer snapshot and the FocusResult describe and price every entry alike (CostModel)', async () => {
  // Many small documents and a tight budget: bare paths on folder lines, roots, gists and exact text.
  const docs = [...FIXTURE_DOCS, ...Array.from({ length: 12 }, (_, i) => ({ id: `/w/lib/m${i}.py`, text: `def f${i}():\n    return ${i}\n` }))];
  const tree = await treeOf(docs);
  const engine = new FocusEngine(tree, tree.runtime);
  const view = await focusView(engine, { query: QUERY, budget: 900, displayPath }, () => assert.fail('no rebuild expected'));
  const json = focusJson(view, { id: 'q1', query: QUERY }, documentOrder(tree.documents.values()), true);
  const snapshot = snapshotFromView(view);
  const result = focusResultOf(view, snapshot);
  // The snapshot lists documents by relevance; in the prompt's order, its spans are the entries.
  const byId = new Map(snapshot.documents.map((d) => [d.id, d]));
  const spans = view.perDoc.flatMap((es) => byId.get(es[0].doc.id)!.spans);
  assert.equal(byId.size, view.perDoc.length);
  assert.equal(json.entries.length, view.perDoc.flat().length);
  assert.equal(spans.length, json.entries.length);
  assert.equal(result.entries.length, json.entries.length);
  const lods = new Set<number>(json.entries.map((e) => e.lod));
  for (const lod of [0, 1, 3]) assert.ok(lods.has(lod), `the fixture has LOD${lod} entries (${[...lods]})`);
  const costs = new CostModel(displayPath);
  view.perDoc.forEach((entries, i) => entries.forEach((e) => {
    const own = costs.entryCost(e.entry) + (e.lod === 3 ? costs.bareRunExtra(view.wc.perDoc, i) : 0);
    assert.equal(e.cost, own, `${e.display} LOD${e.lod} ${e.start}-${e.end}`);
  }));
  json.entries.forEach((j, k) => {
    const s = spans[k];
    const r = result.entries[k];
    assert.deepEqual([s.lod, s.start, s.end, s.cost], [j.lod, j.start, j.end, j.cost], `snapshot span ${k}`);
    assert.deepEqual([r.lod, r.start, r.end, r.charStart, r.charEnd], [j.lod, j.start, j.end, j.charStart, j.charEnd], `result entry ${k}`);
    assert.deepEqual([s.startLine, s.endLine], [r.startLine, r.endLine], `lines of entry ${k}`);
  });
  // Priced once, the gauge still adds up: what the spans cost plus the overhead is the rendered count.
  assert.equal(snapshot.byLod[0] + snapshot.byLod[1] + snapshot.byLod[2] + snapshot.byLod[3] + snapshot.overheadTokens, json.usedTokens);
  assert.equal(result.prompt, json.prompt);
  assert.match(result.report, /^\*\*Focus for\*\* “/);
  assert.ok(focusText(view, true).startsWith(`${json.prompt}\n--- focus for ${JSON.stringify(QUERY)}: ${json.usedTokens}/900 tokens`));
  assert.ok(!('coldRebuildReasons' in json.telemetry), 'no rebuild, no reasons');
});

/** A document whose text no longer matches its blocks (its line breaks gone): core's run-time check catches it. */
function breakLines(doc: TreeDocument): void {
  const text = doc.text.replace(/\n/g, ' ');
  Object.defineProperty(doc, 'text', { get: () => text });
}

test('a cold-start rebuild found by the engine\'s own check is logged as one line and kept in the --json telemetry', async () => {
  const tree = await treeOf(FIXTURE_DOCS);
  breakLines(tree.documents.get('/w/src/orders.py')!);
  const lines: string[] = [];
  const view = await focusView(new FocusEngine(tree, tree.runtime), { query: QUERY, budget: 2400, displayPath }, (l) => lines.push(l));
  assert.equal(view.wc.telemetry.coldRebuilds, 1);
  assert.ok(view.rebuilds.length > 0 && view.rebuilds.every((v) => v.invariant === 'alignment'), JSON.stringify(view.rebuilds));
  assert.equal(lines.length, 1, lines.join('\n'));
  assert.equal(lines[0], rebuildNotice(QUERY, view.rebuilds));
  assert.match(lines[0], /^cold-start rebuild: the working context for "needle_function unique_marker_zebra" broke \d+ invariant check\(s\) \(alignment: \/w\/src\/orders\.py: exact text at chars \d+-\d+ is not whole lines.*\); it was rebuilt from the tree and the broken one never sent$/);
  const json = focusJson(view, { id: 'q1', query: QUERY }, documentOrder(tree.documents.values()), false);
  assert.deepEqual((json.telemetry as { coldRebuildReasons?: string[] }).coldRebuildReasons, view.rebuilds.map((v) => `alignment: ${v.message}`));
  assert.equal(json.telemetry.coldRebuilds, 1);
});

test('the engine\'s focus (Memory, as the host runs it) reports a rebuild on its log and in the result\'s telemetry', async () => {
  const lines: string[] = [];
  const memory = await Memory.open({ runtime: new FakeRuntime(16), onRebuild: (l) => lines.push(l) });
  await memory.tree.ingest(FIXTURE_DOCS.map((d) => ({ ...d, kind: 'file' as const })));
  breakLines(memory.tree.documents.get('/w/src/orders.py')!);
  const result = await memory.focus({ query: QUERY, budget: 2400 });
  assert.equal(result.telemetry.coldRebuilds, 1);
  assert.equal(lines.length, 1);
  assert.match(lines[0], /^cold-start rebuild: .*alignment: \/w\/src\/orders\.py/);
  // Nothing broken, nothing logged.
  const quiet: string[] = [];
  const clean = await Memory.open({ runtime: new FakeRuntime(16), onRebuild: (l) => quiet.push(l) });
  await clean.tree.ingest(FIXTURE_DOCS.map((d) => ({ ...d, kind: 'file' as const })));
  assert.equal((await clean.focus({ query: QUERY, budget: 2400 })).telemetry.coldRebuilds, 0);
  assert.deepEqual(quiet, []);
});

test('a long list of violations stays one line', () => {
  const many = Array.from({ length: 9 }, (_, i) => ({ invariant: 'alignment' as const, message: `doc ${i}` }));
  const line = rebuildNotice('q', many);
  assert.match(line, /broke 9 invariant check\(s\) \(alignment: doc 0; alignment: doc 1; alignment: doc 2; and 6 more\)/);
});

test('one choice of runtime: the models when they load, else the lexical fallback in its own store folder', async () => {
  const store = mkdtempSync(join(tmpdir(), 'mc-choice-'));
  const models = new FakeRuntime(16);
  const loaded = await chooseRuntime(async () => models, store);
  assert.equal(loaded.runtime, models);
  assert.equal(loaded.storeDir, store);
  assert.equal(loaded.lexicalOnly, undefined);
  assert.equal(lexicalOnlyReason(loaded.runtime), undefined);

  const failed = await chooseRuntime(async () => { throw new ModelLoadError('models not found: x/models.json is missing'); }, store);
  assert.ok(failed.runtime instanceof LexicalRuntime);
  assert.equal(failed.storeDir, join(store, LEXICAL_STORE_SUBDIR));
  assert.equal(failed.lexicalOnly, 'models not found: x/models.json is missing');
  assert.equal(lexicalOnlyReason(failed.runtime), failed.lexicalOnly);
  assert.equal((await chooseRuntime(async () => { throw new Error('boom'); }, undefined)).storeDir, undefined);

  // The CLI falls back only on a model load error; anything else is a bug to report, not to hide.
  await assert.rejects(chooseRuntime(async () => { throw new TypeError('a bug'); }, store, (e) => e instanceof ModelLoadError), /a bug/);
});
