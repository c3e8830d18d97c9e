import { test } from 'node:test';
import assert from 'node:assert/strict';
import { foldedByFolder, hitTest, layoutStrips, mappedDocuments, moveSelection, promptTokens, visibleRows } from '../../src/webview/layout';
import type { FocusDocument, FocusSnapshot, FocusSpan, SpanLod } from '../../src/webview/protocol';

function sp(lod: SpanLod, start: number, end: number): FocusSpan {
  return { lod, start, end, startLine: 1, endLine: 1, score: 0, gistText: '', truncated: false, pinned: false, cost: 1 };
}

function snap(documents: FocusDocument[]): FocusSnapshot {
  return {
    query: 'q', budget: 100, usedTokens: 0, byLod: { 0: 0, 1: 0, 2: 0, 3: 0 }, overheadTokens: 0, documents,
    telemetry: { actions: 0, expands: 0, collapses: 0, swapRate: 0, iterations: 0, oscillations: 0, budgetUtilisation: 0, timings: { tailMs: 0, scoreMs: 0, allocateMs: 0, renderMs: 0, totalMs: 0 } },
  };
}

const docs: FocusDocument[] = [
  { id: '/a', path: 'a', tokens: 2048 + 64, spans: [sp(2, 0, 1024), sp(1, 1024, 1056), sp(0, 1056, 1088), sp(1, 1088, 2048), sp(2, 2048, 2112)] },
  { id: '/empty', path: 'empty', tokens: 0, spans: [] },
  { id: '/b', path: 'b', tokens: 100, spans: [sp(2, 0, 100)] },
];

test('documents shown only by their root line are not drawn: they are folded by folder, with their share of the prompt', () => {
  const rooted = snap([
    ...docs,
    { id: '/w/lib/x.py', path: 'lib/x.py', tokens: 50, spans: [{ ...sp(3, 0, 50), cost: 7 }] },
    { id: '/w/top.md', path: 'top.md', tokens: 20, spans: [{ ...sp(3, 0, 20), cost: 4 }] },
    { id: '/w/lib/a.py', path: 'lib/a.py', tokens: 30, spans: [{ ...sp(3, 0, 30), cost: 5 }] },
  ]);
  assert.equal(mappedDocuments(rooted), 3);
  const L = layoutStrips(rooted, 216, 30);
  assert.equal(L.rows.length, 3, 'root-only documents have no row on the map');
  assert.deepEqual(foldedByFolder(rooted), [{ folder: '', docs: [4], tokens: 4 }, { folder: 'lib/', docs: [3, 5], tokens: 12 }]);
  assert.equal(promptTokens(rooted.documents[0]), 5, 'a document\'s figure is what its spans cost in the prompt, not its size');
});

test('each document is one row whose spans tile the strip in proportion to their tokens', () => {
  const L = layoutStrips(snap(docs), 216, 30, { padX: 8, labelHeight: 14, gap: 4 });
  assert.equal(L.rows.length, 3);
  assert.equal(L.height, 90);
  assert.equal(L.spanCount, 6);
  const row = L.rows[0];
  assert.equal(row.stripY, 14);
  assert.equal(row.stripH, 12);
  let x = 8;
  for (const [i, r] of row.rects.entries()) {
    const s = docs[0].spans[i];
    assert.ok(Math.abs(r.x - x) < 1e-9, 'no gap, no overlap');
    assert.ok(Math.abs(r.w - (200 * (s.end - s.start)) / docs[0].tokens) < 1e-9, 'width ∝ tokens');
    assert.equal(r.lod, s.lod);
    x += r.w;
  }
  assert.ok(Math.abs(x - 208) < 1e-9, 'the strip ends at the right padding');
  assert.deepEqual(L.rows[1].rects, []);
  assert.equal(L.rows[2].rects[0].w, 200);
  assert.equal(L.rows[2].rects[0].y, 60 + 14);
});

test('hit testing finds the span under the pointer and nothing outside strips', () => {
  const L = layoutStrips(snap(docs), 216, 30, { padX: 8, labelHeight: 14, gap: 4 });
  const mid = (d: number, s: number) => { const r = L.rows[d].rects[s]; return [r.x + r.w / 2, r.y + r.h / 2] as const; };
  for (let s = 0; s < 5; s++) assert.deepEqual(hitTest(L, ...mid(0, s)), { doc: 0, span: s });
  assert.deepEqual(hitTest(L, ...mid(2, 0)), { doc: 2, span: 0 });
  assert.equal(hitTest(L, 50, 5), undefined, 'label area');
  assert.equal(hitTest(L, 50, 28), undefined, 'gap below the strip');
  assert.equal(hitTest(L, 50, 44), undefined, 'empty document');
  assert.equal(hitTest(L, 2, 20), undefined, 'left padding');
  assert.equal(hitTest(L, 50, 500), undefined, 'below the last row');
});

test('keyboard moves stay inside documents left/right and skip empty documents up/down', () => {
  const L = layoutStrips(snap(docs), 216, 30);
  assert.deepEqual(moveSelection(L, undefined, 'right'), { doc: 0, span: 0 });
  assert.deepEqual(moveSelection(L, { doc: 0, span: 0 }, 'left'), { doc: 0, span: 0 });
  assert.deepEqual(moveSelection(L, { doc: 0, span: 0 }, 'right'), { doc: 0, span: 1 });
  assert.deepEqual(moveSelection(L, { doc: 0, span: 1 }, 'end'), { doc: 0, span: 4 });
  assert.deepEqual(moveSelection(L, { doc: 0, span: 4 }, 'home'), { doc: 0, span: 0 });
  assert.deepEqual(moveSelection(L, { doc: 2, span: 0 }, 'first'), { doc: 0, span: 0 });
  assert.deepEqual(moveSelection(L, { doc: 0, span: 1 }, 'last'), { doc: 2, span: 0 });
  assert.deepEqual(moveSelection(L, { doc: 0, span: 3 }, 'down'), { doc: 2, span: 0 });
  assert.deepEqual(moveSelection(L, { doc: 2, span: 0 }, 'down'), { doc: 2, span: 0 });
  // Up lands on the span under the current one's centre.
  const up = moveSelection(L, { doc: 2, span: 0 }, 'up')!;
  assert.equal(up.doc, 0);
  assert.equal(L.rows[0].rects[up.span].x <= 108 && 108 <= L.rows[0].rects[up.span].x + L.rows[0].rects[up.span].w, true);
});

test('a 1M-token map of thousands of documents lays out quickly and only visible rows are drawn', () => {
  const many: FocusDocument[] = [];
  let spans = 0;
  for (let d = 0; d < 3000; d++) {
    const tokens = 200 + ((d * 7919) % 500);
    const list: FocusSpan[] = [];
    for (let s = 0; s < tokens; s += 32) list.push(sp((s / 32) % 3 as SpanLod, s, Math.min(tokens, s + 32)));
    spans += list.length;
    many.push({ id: `/f${d}`, path: `src/f${d}.ts`, tokens, spans: list });
  }
  const started = performance.now();
  const L = layoutStrips(snap(many), 300, 30);
  const ms = performance.now() - started;
  assert.ok(spans > 30000, `${spans} spans`);
  assert.equal(L.spanCount, spans);
  assert.deepEqual(visibleRows(L, 3000, 3600), { first: 100, last: 119 });
  // Generous bound: the point is "not seconds", not a benchmark.
  assert.ok(ms < 1000, `layout of ${spans} spans took ${ms.toFixed(0)} ms`);
});
