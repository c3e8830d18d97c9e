import { test } from 'node:test';
import assert from 'node:assert/strict';
import { run } from './support/cliRun';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lodStrip } from '../../src/core/strip';
import { syntheticSource, treeOf } from './support/corpus';
import { topEntries } from '../../src/core/focus';
import { checkFocusJson, type FocusJson } from './support/jsonInvariants';


const tmp = mkdtempSync(join(tmpdir(), 'mc-cli-'));

test('usage errors exit 2 with a one-line reason', async () => {
  const r = await run(['focus', tmp]);
  assert.equal(r.code, 2);
  assert.match(r.err.split('\n')[0], /^megacontext: focus needs --query TEXT or --queries FILE\.jsonl$/);
  assert.equal((await run(['frobnicate'])).code, 2);
  assert.match((await run(['focus', tmp, '--query', 'x', '--budget', 'lots'])).err, /--budget must be an integer/);
  assert.match((await run(['focus', tmp, '--bogus'])).err, /unknown option --bogus/);
  const ceiling = await run(['eval', '--ceiling', '--locomo', 'none']);
  assert.equal(ceiling.code, 2);
  assert.match(ceiling.err, /--ceiling diagnoses the LoCoMo suite: it cannot run with --locomo none/);
});

test('a missing path is a clear error', async () => {
  const r = await run(['focus', join(tmp, 'nope'), '--query', 'x']);
  assert.equal(r.code, 1);
  assert.equal(r.err.trim(), `megacontext: error: no such file or folder: ${join(tmp, 'nope')}`);
});

test('a malformed queries file names the line', async () => {
  const f = join(tmp, 'q.jsonl');
  writeFileSync(f, '{"id":"a","query":"fine question"}\n\n{"id":"b"\n');
  const r = await run(['focus', tmp, '--queries', f]);
  assert.equal(r.code, 1);
  assert.equal(r.err.trim(), `megacontext: error: ${f}:3: not valid JSON`);
  writeFileSync(f, '{"id":"a","text":"no query field"}\n');
  assert.match((await run(['focus', tmp, '--queries', f])).err, /q\.jsonl:1: expected \{"id": \.\.\., "query": "\.\.\."\}/);
});

test('the LOD strip shows the finest LOD per cell', async () => {
  const tree = await treeOf([{ id: '/a.py', text: syntheticSource(1, 300) }]);
  const doc = tree.documents.get('/a.py')!;
  const entries = topEntries(doc);
  assert.equal(lodStrip(entries, doc.tokenCount, 10), '░'.repeat(10));
  assert.equal(lodStrip([{ ...entries[0], lod: 3, start: 0, end: doc.tokenCount }], doc.tokenCount, 4), '····');
  assert.equal(lodStrip([{ start: 0, end: 32, lod: 0 }, { start: 32, end: 64, lod: 1 }], 64, 4), '██▓▓');
});

test('focus --json on a real folder: one object per query, every invariant holds, the store is reused', async () => {
  const folder = '/usr/lib/python3.11/json';
  const store = join(tmp, 'store');
  const queries = join(tmp, 'qs.jsonl');
  writeFileSync(queries, [
    JSON.stringify({ id: 'decode', query: 'Decode a JSON document from a string beginning with a JSON document and return a 2-tuple' }),
    JSON.stringify({ id: 'encode', query: 'Return a JSON string representation of a Python data structure' }),
  ].join('\n') + '\n');
  const first = await run(['focus', folder, '--queries', queries, '--budget', '2048', '--store', store, '--json']);
  assert.equal(first.code, 0, first.err);
  const lines = first.out.trim().split('\n');
  assert.equal(lines.length, 2);
  for (const line of lines) {
    const j = JSON.parse(line) as FocusJson;
    assert.deepEqual(checkFocusJson(j), []);
    assert.ok(j.entries.some((e) => e.lod === 0), 'something is shown exactly');
    assert.ok(j.documents.every((d) => d.path.startsWith(folder + '/')), 'paths are absolute');
    for (const k of ['iterations', 'expands', 'collapses', 'swapRate', 'budgetUtilisation']) assert.equal(typeof j.telemetry[k], 'number', k);
    for (const k of ['scoreMs', 'allocateMs', 'renderMs', 'totalMs']) assert.equal(typeof j.timings[k], 'number', k);
  }
  const second = await run(['index', folder, '--store', store]);
  assert.equal(second.code, 0, second.err);
  assert.match(second.out, /\(0 new, 0 changed, \d+ unchanged, 0 removed\)/);
  const noPrompt = await run(['focus', folder, '--query', 'scanner', '--store', store, '--json', '--no-prompt']);
  assert.equal((JSON.parse(noPrompt.out) as FocusJson).prompt, undefined);
  const tiny = await run(['focus', folder, '--query', 'x', '--store', store, '--budget', '20']);
  assert.equal(tiny.code, 1);
  assert.match(tiny.err.trim().split('\n').pop()!, /^megacontext: error: budget 20 is too small: listing every document as one line already needs \d+ tokens$/);
});
