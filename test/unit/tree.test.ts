import { test } from 'node:test';
import assert from 'node:assert/strict';
import { blockNodeCounts } from '../../src/core/blocks';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { keptLineCosts, CostModel } from '../../src/core/cost';
import { makeEntry, type Entry } from '../../src/core/entry';
import { openTree, saveTree } from '../../src/core/indexer';
import { blockGistText, headerLine, salientNames, shownBlockGist } from '../../src/core/render';
import { countPromptTokens } from '../../src/core/tokenizer';
import { Tree, type TreeDocument } from '../../src/core/tree';
import { FakeRuntime } from './support/fakeRuntime';
import { syntheticSource } from './support/corpus';

test('a complete file gists its last block and group; an appending document waits for its last block to close', () => {
  assert.deepEqual(blockNodeCounts(0, false, 32), { lod1: 0, lod2: 0 });
  assert.deepEqual(blockNodeCounts(2, false, 32), { lod1: 2, lod2: 1 });
  assert.deepEqual(blockNodeCounts(2, true, 32), { lod1: 1, lod2: 0 });
  assert.deepEqual(blockNodeCounts(33, true, 32), { lod1: 32, lod2: 1 });
  assert.deepEqual(blockNodeCounts(33, false, 32), { lod1: 33, lod2: 2 });
  assert.deepEqual(blockNodeCounts(64, true, 32), { lod1: 63, lod2: 1 });
});

test('ingest builds LOD1 and LOD2 nodes through the runtime, in batches', async () => {
  const rt = new FakeRuntime(16);
  const tree = new Tree(rt);
  const text = syntheticSource(1, 400);
  await tree.ingest([{ id: '/a.py', text }]);
  const doc = tree.documents.get('/a.py')!;
  assert.equal(doc.nLod1, doc.nBlocks);
  assert.ok(doc.nBlocks >= Math.ceil(doc.tokenCount / 32));
  assert.equal(doc.nLod2, Math.ceil(doc.nLod1 / 32));
  assert.equal(doc.lod1Gists.length, doc.nLod1 * 16);
  assert.equal(doc.lod2Gists.length, doc.nLod2 * 16);
  assert.ok(rt.calls.blocks > 0 && rt.calls.groups === doc.nLod2);
  // Every LOD1 gist is a unit vector from the runtime, not zeros (kept as int8 rows with a scale each).
  assert.ok(doc.lod1Gists instanceof Int8Array && doc.lod1Salience instanceof Uint8Array, 'compact forms in memory');
  for (let b = 0; b < doc.nLod1; b++) {
    const g = doc.gist(1, b);
    const n = Math.hypot(...g);
    assert.ok(Math.abs(n - 1) < 2e-2, `block ${b} norm ${n}`);
  }
});

test('re-ingesting a changed document recomputes only changed blocks and their ancestors', async () => {
  const rt = new FakeRuntime(16);
  // A one-entry LRU: the edit is served by the document's previous version, not by the cache.
  const tree = new Tree(rt, 1);
  const text = syntheticSource(2, 600);
  await tree.ingest([{ id: '/a.py', text }]);
  const before = { ...rt.calls };
  const doc0 = tree.documents.get('/a.py')!;
  // Change the last line only: every block before it keeps its content hash.
  const edited = text.slice(0, text.length - 10) + 'changed()\n';
  const res = await tree.ingest([{ id: '/a.py', text: edited }]);
  assert.deepEqual(res, { added: 0, updated: 1, unchanged: 0 });
  const doc1 = tree.documents.get('/a.py')!;
  const gisted = rt.calls.blocks - before.blocks;
  assert.ok(gisted >= 1 && gisted <= 2, `re-gisted ${gisted} blocks of ${doc1.nLod1}`);
  assert.equal(rt.calls.groups - before.groups, 1, 'only the last group is recomputed');
  for (let b = 0; b < doc1.nLod1 - 2; b++) assert.deepEqual(doc1.gist(1, b), doc0.gist(1, b));
  // Unchanged content is not touched at all.
  const again = await tree.ingest([{ id: '/a.py', text: edited }]);
  assert.deepEqual(again, { added: 0, updated: 0, unchanged: 1 });
});

test('duplicate blocks across documents are gisted once', async () => {
  const rt = new FakeRuntime(16);
  const tree = new Tree(rt);
  const text = syntheticSource(3, 200);
  await tree.ingest([{ id: '/a.py', text }, { id: '/b.py', text }]);
  const doc = tree.documents.get('/a.py')!;
  assert.equal(rt.calls.blocks, doc.nLod1);
});

test('an ingest can be cancelled', async () => {
  const tree = new Tree(new FakeRuntime(16));
  const ac = new AbortController();
  ac.abort();
  await assert.rejects(tree.ingest([{ id: '/a.py', text: 'x = 1\n' }], { signal: ac.signal }), /abort/i);
  assert.equal(tree.documents.size, 0);
});

test('removing a document updates the lexical statistics', async () => {
  const tree = new Tree(new FakeRuntime(16));
  await tree.ingest([{ id: '/a.py', text: syntheticSource(4, 50) }, { id: '/b.py', text: syntheticSource(5, 50) }]);
  const blocks = tree.stats.blocks;
  tree.remove('/a.py');
  assert.ok(tree.stats.blocks < blocks);
  tree.remove('/b.py');
  assert.equal(tree.stats.blocks, 0);
  assert.equal(tree.stats.totalLength, 0);
});

test('a document\'s text is decoded from its tokens when needed, exactly, also after the text cache let it go', async () => {
  const tree = new Tree(new FakeRuntime(16));
  const first = '\uFEFFdef décode(x):  # ✓ 数据 😀\r\n    return x\n' + syntheticSource(4, 50);
  // Over 2M characters after it, so the first document's decoded text is evicted from the cache.
  const big = Array.from({ length: 5 }, (_, i) => ({ id: `/big${i}.py`, text: syntheticSource(10 + i, 1).repeat(Math.ceil(450_000 / syntheticSource(10 + i, 1).length)) }));
  await tree.ingest([{ id: '/first.py', text: first }, ...big]);
  for (const b of big) assert.equal(tree.documents.get(b.id)!.text, b.text);
  const doc = tree.documents.get('/first.py')!;
  assert.equal(doc.text, first);
  assert.equal(doc.textLength, first.length);
  assert.equal(doc.blockChar[doc.nBlocks], first.length);
});

test('documents gisted or restored together hold their nodes as rows of shared arrays, with the same values', async () => {
  const tree = new Tree(new FakeRuntime(16));
  const texts = [syntheticSource(3, 900), 'x = 1\n', syntheticSource(4, 40), ''];
  await tree.ingest(texts.map((text, i) => ({ id: `/w/f${i}.py`, text })));
  const docs = [...tree.documents.values()];
  assert.ok(docs.every((d) => d.nodes === docs[0].nodes), 'one set of node arrays for the batch');
  // Rows are consecutive and disjoint, in the order the documents were gisted.
  for (let i = 1; i < docs.length; i++) {
    assert.equal(docs[i].r1, docs[i - 1].r1 + docs[i - 1].nLod1);
    assert.equal(docs[i].r2, docs[i - 1].r2 + docs[i - 1].nLod2);
  }
  const big = docs[0];
  assert.ok(big.nLod1 > 32 && big.nLod2 > 1);
  // The per-document views, the accessors and the gists agree.
  for (let b = 0; b < big.nLod1; b++) for (let k = 0; k < 32; k++) assert.equal(big.salience1(b, k), big.lod1Salience[b * 32 + k]);
  for (let g = 0; g < big.nLod2; g++) for (let c = 0; c < 32; c++) assert.equal(big.salience2(g, c), big.lod2Salience[g * 32 + c]);
  // A store round trip restores the same nodes, again as rows of arrays shared by every document.
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'mgc-rows-'));
  try {
    await saveTree(tree, dir);
    const { tree: back } = await openTree(tree.runtime, dir);
    const restored = [...back.documents.values()];
    assert.deepEqual(restored.map((d) => d.id), docs.map((d) => d.id));
    assert.ok(restored.every((d) => d.nodes === restored[0].nodes), 'one set of node arrays for the store');
    restored.forEach((d, i) => {
      const o = docs[i];
      assert.deepEqual([d.nLod1, d.nLod2], [o.nLod1, o.nLod2]);
      assert.deepEqual(d.lod1Gists, o.lod1Gists);
      assert.deepEqual(d.lod1Scales, o.lod1Scales);
      assert.deepEqual(d.lod1Salience, o.lod1Salience);
      assert.deepEqual(d.lod2Gists, o.lod2Gists);
      assert.deepEqual(d.lod2Scales, o.lod2Scales);
      assert.deepEqual(d.lod2Salience, o.lod2Salience);
      assert.deepEqual(d.blockTok, o.blockTok);
      assert.deepEqual(d.blockChar, o.blockChar);
      for (let b = 0; b < d.nLod1; b++) assert.deepEqual(d.gist(1, b), o.gist(1, b));
      for (let g = 0; g < d.nLod2; g++) assert.deepEqual(d.gist(2, g), o.gist(2, g));
      assert.equal(d.text, texts[i]);
    });
    // An edit of the restored tree reuses the unchanged blocks' gists from those shared rows.
    const before = back.counters.blocksGisted;
    await back.ingest([{ id: '/w/f0.py', text: texts[0] + 'y = 2\n' }]);
    assert.ok(back.counters.blocksReused >= big.nLod1 - 1, 'unchanged blocks served from the old rows');
    assert.ok(back.counters.blocksGisted - before <= 2);
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
});

test('render caches live beside documents: a changed or appended document renders from its new text', async () => {
  const tree = new Tree(new FakeRuntime(16));
  const chat = 'first turn about walruses\n';
  await tree.ingest([{ id: '/w/a.py', text: 'def alpha_name():\n    return beta_value\n' }, { id: 'chat:s', text: chat, appending: true }]);
  const a1 = tree.documents.get('/w/a.py')!;
  const cm = new CostModel((d) => d.id);
  const g1 = blockGistText(a1, 0, 3);
  assert.match(g1, /alpha_name|beta_value/);
  assert.deepEqual(salientNames(a1), ['alpha_name']);
  const cost1 = cm.gistCost(a1, 1, 0);
  // Kept across cost models (refocuses): asked again, the same answers.
  assert.equal(new CostModel((d) => d.id).gistCost(a1, 1, 0), cost1);
  assert.equal(blockGistText(a1, 0, 3), g1);
  // A changed file is a new TreeDocument: nothing of the old one's caches shows.
  await tree.ingest([{ id: '/w/a.py', text: 'def gamma_other():\n    return delta_thing\n' }]);
  const a2 = tree.documents.get('/w/a.py')!;
  assert.notEqual(a2, a1);
  assert.match(blockGistText(a2, 0, 3), /gamma_other|delta_thing/);
  assert.doesNotMatch(blockGistText(a2, 0, 3), /alpha_name|beta_value/);
  assert.deepEqual(salientNames(a2), ['gamma_other']);
  assert.equal(cm.gistCost(a2, 1, 0), countPromptTokens(' ' + shownBlockGist(a2, 0, cm.blockWords, cm.blockStride) + ' |'));
  // An appended transcript is a new TreeDocument too: its header line is costed on its new size.
  const exact = (d: TreeDocument): Entry[] => [makeEntry(d, 0, 0)];
  const c1 = tree.documents.get('chat:s')!;
  cm.documentCost(exact(c1));
  assert.equal(keptLineCosts(c1).get('h:chat:s'), countPromptTokens(headerLine(c1, 'chat:s')));
  await tree.ingest([{ id: 'chat:s', text: chat.repeat(300), appending: true }]);
  const c2 = tree.documents.get('chat:s')!;
  assert.notEqual(c2, c1);
  assert.equal(keptLineCosts(c2).size, 0, 'nothing costed yet for the new version');
  cm.documentCost(exact(c2));
  assert.equal(keptLineCosts(c2).get('h:chat:s'), countPromptTokens(headerLine(c2, 'chat:s')));
  assert.notEqual(keptLineCosts(c2).get('h:chat:s'), keptLineCosts(c1).get('h:chat:s'));
});
