import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { FocusSnapshot, FocusSource, HostToViewer, SpanRef } from '../../src/webview/protocol';
import { spanRef } from '../../src/webview/protocol';
import { ViewerSession } from '../../src/webview/viewerSession';
import { fixtureSnapshot } from './support/viewerSnapshot';

function fakeSource(initial?: FocusSnapshot) {
  const events = new EventEmitter();
  let current = initial;
  const calls: [string, SpanRef][] = [];
  const source: FocusSource = {
    onDidFocus: (listener) => {
      events.on('focus', listener);
      return { dispose: () => events.off('focus', listener) };
    },
    current: () => current,
    pin: (s) => calls.push(['pin', s]),
    collapse: (s) => calls.push(['collapse', s]),
    unpin: (s) => calls.push(['unpin', s]),
    open: (s) => calls.push(['open', s]),
  };
  return { source, calls, fire: (s: FocusSnapshot) => { current = s; events.emit('focus', s); }, listeners: () => events.listenerCount('focus') };
}

function fakePort() {
  const sent: HostToViewer[] = [];
  let visible = true;
  return { port: { post: (m: HostToViewer) => sent.push(m), isVisible: () => visible }, sent, setVisible: (v: boolean) => (visible = v) };
}

test('the viewer gets the current snapshot when it says it is ready, and each new one after', async () => {
  const snap = await fixtureSnapshot();
  const src = fakeSource(snap);
  const p = fakePort();
  const session = new ViewerSession(src.source, p.port, { log: () => {}, openFallback: () => {} });
  src.fire(snap);
  assert.equal(p.sent.length, 0, 'nothing is posted before the page is ready');
  session.receive({ type: 'viewer/ready' });
  assert.deepEqual(p.sent, [{ type: 'snapshot/didChange', snapshot: snap, animate: false }]);
  src.fire(snap);
  assert.deepEqual(p.sent[1], { type: 'snapshot/didChange', snapshot: snap, animate: true });
  session.dispose();
  assert.equal(src.listeners(), 0, 'no listener left behind');
});

test('a snapshot that arrives while hidden is re-sent when the view is shown again', async () => {
  const snap = await fixtureSnapshot();
  const src = fakeSource(snap);
  const p = fakePort();
  const session = new ViewerSession(src.source, p.port, { log: () => {}, openFallback: () => {} });
  session.receive({ type: 'viewer/ready' });
  p.setVisible(false);
  src.fire(snap);
  assert.equal(p.sent.length, 1);
  assert.equal(session.behind, true);
  p.setVisible(true);
  session.visibilityChanged();
  assert.equal(p.sent.length, 2);
  assert.equal(p.sent[1].animate, false);
  assert.equal(session.behind, false);
});

test('span actions reach the source only for spans of the current snapshot; the rest is logged and dropped', async () => {
  const snap = await fixtureSnapshot();
  const src = fakeSource(snap);
  const logs: string[] = [];
  const session = new ViewerSession(src.source, fakePort().port, { log: (l) => logs.push(l), openFallback: () => assert.fail('source has open') });
  const doc = snap.documents.find((d) => d.spans.some((s) => s.lod === 1))!;
  const ref = spanRef(doc.path, doc.spans.find((s) => s.lod === 1)!);
  for (const type of ['span/open', 'span/pin', 'span/collapse', 'span/unpin']) session.receive({ type, span: ref });
  assert.deepEqual(src.calls.map(([k, s]) => [k, s]), ['open', 'pin', 'collapse', 'unpin'].map((k) => [k, { ...ref, docId: doc.id }]));
  session.receive({ type: 'span/open', span: { ...ref, path: '/etc/passwd' } });
  session.receive({ type: 'span/pin', span: { ...ref, start: ref.start + 1 } });
  session.receive({ type: 'span/open', span: { ...ref, lod: 'x' } });
  session.receive({ type: 'eval', code: 'x' });
  session.receive('garbage');
  assert.equal(src.calls.length, 4);
  assert.equal(logs.length, 5);
  assert.ok(logs.every((l) => l.startsWith('focus viewer: rejected')));
});

test('without a source `open`, the fallback opener gets the host-resolved span; failures are logged', async () => {
  const snap = await fixtureSnapshot();
  const src = fakeSource(snap);
  delete src.source.open;
  src.source.pin = () => Promise.reject(new Error('engine down'));
  const opened: SpanRef[] = [];
  const logs: string[] = [];
  const session = new ViewerSession(src.source, fakePort().port, { log: (l) => logs.push(l), openFallback: (s) => opened.push(s) });
  const d = snap.documents[0];
  const ref = spanRef(d.path, d.spans[0]);
  session.receive({ type: 'span/open', span: { ...ref, startLine: ref.startLine + 100, endLine: ref.endLine + 100, docId: '/etc/passwd' } });
  assert.deepEqual(opened, [{ ...ref, docId: d.id }], 'lines and document id come from the host snapshot, not the message');
  session.receive({ type: 'span/pin', span: ref });
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(logs, ['focus viewer: span/pin failed: Error: engine down']);
});

test('a question from the query box reaches the source once, validated; a source without `query` logs it', async () => {
  const snap = await fixtureSnapshot();
  const src = fakeSource(snap);
  const asked: string[] = [];
  src.source.query = (q) => { asked.push(q); };
  const logs: string[] = [];
  const session = new ViewerSession(src.source, fakePort().port, { log: (l) => logs.push(l), openFallback: () => {} });
  session.receive({ type: 'focus/query', query: '  where is the refund window?  ' });
  session.receive({ type: 'focus/query', query: '' });
  assert.deepEqual(asked, ['where is the refund window?']);
  assert.equal(logs.length, 1);
  assert.match(logs[0], /^focus viewer: rejected a malformed message/);
  const bare = fakeSource(snap);
  const logs2: string[] = [];
  new ViewerSession(bare.source, fakePort().port, { log: (l) => logs2.push(l), openFallback: () => {} }).receive({ type: 'focus/query', query: 'x' });
  assert.deepEqual(logs2, ['focus viewer: this view cannot run a focus']);
});

test('the source\'s notice rides along with every snapshot, and a change of notice re-sends at once', async () => {
  const snap = await fixtureSnapshot();
  const src = fakeSource(snap);
  const changed = new EventEmitter();
  let notice: string | undefined = 'no chat model: sign in';
  src.source.notice = () => notice;
  (src.source as { onDidChangeNotice?: FocusSource['onDidChangeNotice'] }).onDidChangeNotice = (l) => {
    changed.on('c', l);
    return { dispose: () => changed.off('c', l) };
  };
  const p = fakePort();
  const session = new ViewerSession(src.source, p.port, { log: () => {}, openFallback: () => {} });
  session.receive({ type: 'viewer/ready' });
  assert.equal(p.sent.at(-1)?.notice, 'no chat model: sign in');
  notice = undefined;
  changed.emit('c');
  assert.equal(p.sent.length, 2);
  assert.equal('notice' in p.sent[1], false, 'no notice once a model is there');
  session.dispose();
  assert.equal(changed.listenerCount('c'), 0, 'the notice listener is disposed');
});
