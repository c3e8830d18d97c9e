import { test } from 'node:test';
import assert from 'node:assert/strict';
import { blockNodeCounts } from '../../src/core/blocks';
import { Tree } from '../../src/core/tree';
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
