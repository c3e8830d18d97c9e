import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseHostMessage, parseSpanRef, parseViewerMessage, spanKey, type FocusSnapshot } from '../../src/webview/protocol';
import { fixtureSnapshot } from './support/viewerSnapshot';

const span = { path: 'src/a.ts', lod: 0, start: 32, end: 64, startLine: 3, endLine: 5 };

test('well-formed viewer messages are accepted and stripped to their known fields', () => {
  assert.deepEqual(parseViewerMessage({ type: 'viewer/ready', extra: 1 }), { type: 'viewer/ready' });
  for (const type of ['span/open', 'span/pin', 'span/collapse', 'span/unpin'] as const) {
    assert.deepEqual(parseViewerMessage({ type, span: { ...span, html: '<b>' } }), { type, span });
  }
});

test('unknown and malformed viewer messages are rejected', () => {
  const bad: unknown[] = [
    undefined, null, 42, 'span/open', [], {}, { type: 7 },
    { type: 'span/delete', span },
    { type: 'command/run', command: 'workbench.action.terminal.new' },
    { type: 'span/open' },
    { type: 'span/open', span: null },
    { type: 'span/open', span: [] },
    { type: 'span/open', span: { ...span, path: '' } },
    { type: 'span/open', span: { ...span, path: 5 } },
    { type: 'span/open', span: { ...span, path: 'x'.repeat(5000) } },
    { type: 'span/open', span: { ...span, lod: 4 } },
    { type: 'span/open', span: { ...span, lod: '0' } },
    { type: 'span/open', span: { ...span, start: -1 } },
    { type: 'span/open', span: { ...span, start: 1.5 } },
    { type: 'span/open', span: { ...span, end: 16 } },
    { type: 'span/open', span: { ...span, startLine: 0 } },
    { type: 'span/open', span: { ...span, endLine: 2 } },
    { type: 'span/open', span: { ...span, start: Number.NaN } },
    { type: 'span/pin', span: { ...span, end: Infinity } },
    { type: '__proto__', span },
    { type: 'toString', span },
  ];
  for (const m of bad) assert.equal(parseViewerMessage(m), undefined, JSON.stringify(m));
  assert.equal(parseSpanRef({ path: 'a', lod: 1, start: 0, end: 0, startLine: 1, endLine: 1 })?.path, 'a');
});

test('a real snapshot passes the webview-side check after a JSON round trip; damaged ones do not', async () => {
  const snapshot = await fixtureSnapshot();
  const wire = JSON.parse(JSON.stringify({ type: 'snapshot/didChange', snapshot, animate: true }));
  assert.deepEqual(parseHostMessage(wire), { type: 'snapshot/didChange', snapshot, animate: true });
  assert.deepEqual(parseHostMessage({ type: 'snapshot/didChange', snapshot: null, animate: false }), { type: 'snapshot/didChange', snapshot: null, animate: false });
  const damage: ((s: any) => void)[] = [
    (s) => (s.budget = -1),
    (s) => delete s.byLod[2],
    (s) => (s.documents[0].spans[0].gistText = 5),
    (s) => (s.documents[0].spans[0].lod = 9),
    (s) => (s.documents[0].path = null),
    (s) => (s.telemetry.timings = undefined),
    (s) => (s.changed = { expanded: [1], collapsed: [] }),
    (s) => (s.documents = {}),
  ];
  for (const d of damage) {
    const s = structuredClone(snapshot) as FocusSnapshot;
    d(s);
    assert.equal(parseHostMessage({ type: 'snapshot/didChange', snapshot: s, animate: false }), undefined, d.toString());
  }
  assert.equal(parseHostMessage({ type: 'snapshot/didChange', snapshot, animate: 'yes' }), undefined);
  assert.equal(parseHostMessage({ type: 'other', snapshot, animate: true }), undefined);
});

test('span keys name the level, the start and the path', () => {
  assert.equal(spanKey('a:b.ts', { lod: 2, start: 1024 }), '2:1024:a:b.ts');
});

test('a question from the view\'s query box is accepted trimmed; empty, oversized or non-text ones are rejected', () => {
  assert.deepEqual(parseViewerMessage({ type: 'focus/query', query: '  refund window  ', extra: '<b>' }), { type: 'focus/query', query: 'refund window' });
  for (const query of ['', '   ', 42, null, undefined, ['a'], 'x'.repeat(4001)]) {
    assert.equal(parseViewerMessage({ type: 'focus/query', query }), undefined, `accepted ${JSON.stringify(query)?.slice(0, 40)}`);
  }
});

test('the In-context list of a snapshot is checked too: a row must point at one of its documents', async () => {
  const s = await fixtureSnapshot();
  assert.ok((s.inContext ?? []).length > 0, 'the fixture has exact runs');
  const ok = JSON.parse(JSON.stringify(s)) as FocusSnapshot;
  assert.ok(parseHostMessage({ type: 'snapshot/didChange', snapshot: ok, animate: false }));
  for (const damage of [
    (x: FocusSnapshot) => { x.inContext![0].doc = x.documents.length; },
    (x: FocusSnapshot) => { (x.inContext![0] as unknown as Record<string, unknown>).names = '<b>'; },
    (x: FocusSnapshot) => { (x.inContext![0] as unknown as Record<string, unknown>).matched = [1]; },
    (x: FocusSnapshot) => { (x.documents[0].spans[0] as unknown as Record<string, unknown>).names = [{}]; },
  ]) {
    const bad = JSON.parse(JSON.stringify(s)) as FocusSnapshot;
    damage(bad);
    assert.equal(parseHostMessage({ type: 'snapshot/didChange', snapshot: bad, animate: false }), undefined);
  }
});

test('a host notice is text: kept when it is a string, the message dropped otherwise', () => {
  assert.deepEqual(parseHostMessage({ type: 'snapshot/didChange', snapshot: null, animate: false, notice: '<b>no model</b>' }),
    { type: 'snapshot/didChange', snapshot: null, animate: false, notice: '<b>no model</b>' });
  for (const notice of [1, ['x'], { a: 1 }, 'x'.repeat(2001)]) {
    assert.equal(parseHostMessage({ type: 'snapshot/didChange', snapshot: null, animate: false, notice }), undefined);
  }
});
