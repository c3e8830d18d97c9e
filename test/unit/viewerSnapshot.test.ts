import { test } from 'node:test';
import assert from 'node:assert/strict';
import { countPromptTokens } from '../../src/core/tokenizer';
import { spanKey } from '../../src/webview/protocol';
import { diffSnapshots, snapshotFromWorkingContext } from '../../src/engine/snapshot';
import { displayPath, FIXTURE_DOCS, fixtureWorkingContext, PLANTED_HTML } from './support/viewerSnapshot';
import type { WorkingContext } from '../../src/core/engine';
import { makeEntry } from '../../src/core/entry';
import { PREAMBLE, renderWorkingContext } from '../../src/core/render';
import { syntheticSource, treeOf } from './support/corpus';

test('a snapshot mirrors the working context: every document, spans covering it in order, the same LODs', async () => {
  const { wc } = await fixtureWorkingContext();
  const s = snapshotFromWorkingContext(wc, displayPath);
  assert.equal(s.documents.length, FIXTURE_DOCS.length);
  assert.equal(s.query, wc.query);
  assert.equal(s.budget, wc.budget);
  assert.equal(s.usedTokens, wc.rendered.tokens);
  wc.perDoc.forEach((entries) => {
    const d = s.documents.find((x) => x.id === entries[0].doc.id)!;
    assert.equal(d.path, displayPath(entries[0].doc));
    assert.equal(d.id, entries[0].doc.id);
    assert.equal(d.tokens, entries[0].doc.tokenCount);
    assert.deepEqual(d.spans.map((x) => [x.lod, x.start, x.end]), entries.map((e) => [e.lod, e.start, e.end]));
    let at = 0;
    for (const x of d.spans) {
      assert.equal(x.start, at);
      assert.ok(x.end > x.start || d.tokens === 0);
      assert.ok(x.startLine >= 1 && x.endLine >= x.startLine);
      at = x.end;
    }
    assert.equal(at, d.tokens);
  });
  const lods = new Set(s.documents.flatMap((d) => d.spans.map((x) => x.lod)));
  for (const l of [0, 1, 2] as const) assert.ok(lods.has(l), `the fixture has LOD${l} spans`);
});

test('each span carries what the model sees for it, and the gauge adds up to the rendered count', async () => {
  const { wc } = await fixtureWorkingContext();
  const s = snapshotFromWorkingContext(wc, displayPath, { maxExactChars: 40 });
  const prompt = wc.rendered.prompt;
  for (const d of s.documents) {
    for (const x of d.spans) {
      assert.ok(prompt.includes(x.gistText), `LOD${x.lod} ${d.path}:${x.startLine} «${x.gistText}» is in the prompt`);
      if (x.lod === 0) {
        const full = FIXTURE_DOCS.find((f) => displayPath(f) === d.path)!.text;
        assert.ok(full.includes(x.gistText));
        if (x.truncated) assert.equal(x.gistText.length, 40);
        assert.equal(x.cost, x.end - x.start);
      } else {
        assert.ok(x.cost >= countPromptTokens(x.gistText));
      }
    }
  }
  assert.ok(s.documents.some((d) => d.spans.some((x) => x.truncated)), 'long exact text is cut');
  const spent = s.byLod[0] + s.byLod[1] + s.byLod[2] + s.byLod[3];
  assert.equal(spent + s.overheadTokens, s.usedTokens);
  assert.ok(s.usedTokens <= s.budget);
  assert.equal(s.telemetry.actions, s.telemetry.expands + s.telemetry.collapses);
  assert.equal(s.telemetry.timings.totalMs, wc.timings.totalMs);
  // Workspace text reaches the snapshot verbatim; escaping is the viewer's job.
  assert.ok(s.documents.some((d) => d.spans.some((x) => x.lod === 0 && x.gistText.includes('<img src=x'))), PLANTED_HTML);
});

test('pinned ranges show as pinned spans', async () => {
  const { wc } = await fixtureWorkingContext(undefined, 2400, [{ docId: '/w/src/render.py', start: 64, end: 96 }]);
  const s = snapshotFromWorkingContext(wc, displayPath);
  const render = s.documents.find((d) => d.path === 'src/render.py')!;
  const pinned = render.spans.filter((x) => x.pinned);
  assert.ok(pinned.length > 0);
  assert.ok(pinned.every((x) => x.lod === 0));
  assert.ok(pinned.some((x) => x.start <= 64 && 64 < x.end));
});

test('after a refocus, `changed` names the spans that got finer and the ones that got coarser', async () => {
  const first = await fixtureWorkingContext('render gamma delta', 2400);
  const a = snapshotFromWorkingContext(first.wc, displayPath);
  const second = await first.engine.focus({ query: 'needle_function unique_marker_zebra', budget: 2400, displayPath });
  const b = snapshotFromWorkingContext(second, displayPath, { previous: a });
  assert.ok(b.changed);
  assert.deepEqual(b.changed, diffSnapshots(a, b));
  assert.ok(b.changed.expanded.length + b.changed.collapsed.length > 0, 'a different query moves the focus');
  const lodAt = (snap: typeof a, path: string, token: number) =>
    snap.documents.find((d) => d.path === path)!.spans.find((x) => x.start <= token && token < x.end)!.lod;
  const keys = new Map(b.documents.flatMap((d) => d.spans.map((x) => [spanKey(d.path, x), { d, x }] as const)));
  for (const k of b.changed.expanded) {
    const { d, x } = keys.get(k)!;
    assert.ok(x.lod < lodAt(a, d.path, x.start), k);
  }
  for (const k of b.changed.collapsed) {
    const { d, x } = keys.get(k)!;
    assert.ok(x.lod > lodAt(a, d.path, x.start), k);
  }
  assert.deepEqual(diffSnapshots(b, b), { expanded: [], collapsed: [] });
});

test('bare paths on a folder line are shown and priced as their part of that line', async () => {
  const docs = ['a.py', 'b.py', 'c.py'].map((n, i) => ({ id: `/r/pkg/${n}`, text: syntheticSource(i, 3) }));
  docs.push({ id: '/r/lone/d.py', text: syntheticSource(9, 3) });
  const tree = await treeOf(docs);
  const perDoc = [...tree.documents.values()].map((d) => [{ ...makeEntry(d, 3, 0), bare: true }]);
  const path = (d: { id: string }) => d.id.slice(1);
  const rendered = renderWorkingContext(perDoc, { displayPath: path });
  const zero = { tailMs: 0, scoreMs: 0, allocateMs: 0, renderMs: 0, totalMs: 0 };
  const telemetry = { expands: 0, collapses: 0, swapRate: 0, iterations: 0, oscillations: 0, budgetUtilisation: 0, trims: 0, coldRebuilds: 0, planned: 0, plannedShown: 0 } as unknown as WorkingContext['telemetry'];
  const s = snapshotFromWorkingContext({ query: 'q', budget: 4096, perDoc, rendered, telemetry, timings: zero } as unknown as WorkingContext, path);
  const spans = s.documents.map((d) => d.spans[0]);
  assert.deepEqual(spans.map((x) => x.gistText), ['· r/pkg/: a.py', '| b.py', '| c.py', '· r/lone/d.py']);
  for (const x of spans) assert.ok(rendered.prompt.includes(x.gistText), x.gistText);
  // Names mid-line cost less than a line of their own, and every token of the prompt is accounted for once.
  assert.ok(spans[1].cost < countPromptTokens('· r/pkg/b.py\n'), `${spans[1].cost}`);
  assert.equal(s.byLod[3] + s.overheadTokens, rendered.tokens);
  assert.equal(s.overheadTokens, countPromptTokens(PREAMBLE));
});

test('documents come by relevance: exact text first (the most first), gists next, root-only last in prompt order', async () => {
  const { wc } = await fixtureWorkingContext();
  const s = snapshotFromWorkingContext(wc, displayPath);
  const exact = s.documents.map((d) => d.spans.filter((x) => x.lod === 0).reduce((a, x) => a + x.cost, 0));
  assert.ok(exact[0] > 0, 'the first document has exact text');
  for (let i = 1; i < exact.length; i++) assert.ok(exact[i - 1] >= exact[i] || exact[i] === 0, `exact tokens by document: ${exact.join(', ')}`);
  assert.ok(exact.indexOf(0) < 0 || exact.slice(exact.indexOf(0)).every((x) => x === 0), `documents without exact text come after: ${exact.join(', ')}`);
  // Alphabetically docs/planted.md would be first; the needle function's file holds the most exact text.
  assert.equal(s.documents[0].path, 'src/orders.py');
});

test('In context lists every exact run of the prompt with its units and the query words it matches', async () => {
  const { wc } = await fixtureWorkingContext();
  const s = snapshotFromWorkingContext(wc, displayPath);
  const items = s.inContext ?? [];
  // The prompt's own markers are the truth: `## path (` then `[[exact La-b]]`.
  const want: string[] = [];
  let path = '';
  for (const line of wc.rendered.prompt.split('\n')) {
    const h = /^## (.+?) \(/.exec(line);
    if (h) path = h[1];
    const m = /^\[\[exact L(\d+)-(\d+)\]\]$/.exec(line);
    if (m) want.push(`${path} L${m[1]}-${m[2]}`);
  }
  assert.deepEqual(items.map((i) => `${i.path} L${i.startLine}-${i.endLine}`).sort(), want.sort());
  for (const i of items) assert.equal(s.documents[i.doc].path, i.path);
  const needle = items.find((i) => i.names.some((n) => n.startsWith('needle_function L')));
  assert.ok(needle, JSON.stringify(items));
  assert.deepEqual(needle.matched, ['needle_function', 'unique_marker_zebra']);
  assert.ok(needle.tokens > 0 && needle.tokens <= s.byLod[0]);
});

test('a gist span names the units of its lines from the outline; a root line names none of its own', async () => {
  const { wc } = await fixtureWorkingContext();
  const s = snapshotFromWorkingContext(wc, displayPath);
  const gists = s.documents.flatMap((d) => d.spans.filter((x) => x.lod === 1 || x.lod === 2));
  assert.ok(gists.some((x) => (x.names ?? []).length > 0), 'some gist names a unit');
  for (const x of gists) for (const n of x.names ?? []) {
    const m = /L(\d+)(?:-(\d+))?$/.exec(n);
    assert.ok(m || /^and \d+ more$/.test(n), n);
    // A unit named by its own line lies inside the span; `in unit La-b` encloses it.
    if (m && !n.startsWith('in ')) assert.ok(Number(m[1]) >= x.startLine && Number(m[1]) <= x.endLine, `${n} outside L${x.startLine}-${x.endLine}`);
    if (m && n.startsWith('in ')) assert.ok(Number(m[1]) <= x.startLine && Number(m[2]) >= x.endLine, `${n} does not enclose L${x.startLine}-${x.endLine}`);
  }
});
