import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { main } from '../../src/cli/main';
import { lodStrip } from '../../src/cli/strip';
import { syntheticSource, treeOf } from './support/corpus';
import { topEntries } from '../../src/core/focus';

function capture(): Writable & { text: () => string } {
  const chunks: string[] = [];
  const w = new Writable({ write(c, _e, cb) { chunks.push(String(c)); cb(); } }) as Writable & { text: () => string };
  w.text = () => chunks.join('');
  return w;
}

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out = capture();
  const err = capture();
  const code = await main(argv, out, err);
  return { code, out: out.text(), err: err.text() };
}

const tmp = mkdtempSync(join(tmpdir(), 'mc-cli-'));

test('usage errors exit 2 with a one-line reason', async () => {
  const r = await run(['focus', tmp]);
  assert.equal(r.code, 2);
  assert.match(r.err.split('\n')[0], /^megacontext: focus needs --query TEXT or --queries FILE\.jsonl$/);
  assert.equal((await run(['frobnicate'])).code, 2);
  assert.match((await run(['focus', tmp, '--query', 'x', '--budget', 'lots'])).err, /--budget must be an integer/);
  assert.match((await run(['focus', tmp, '--bogus'])).err, /unknown option --bogus/);
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
  assert.equal(lodStrip(entries, 10), '░'.repeat(10));
  assert.equal(lodStrip([{ ...entries[0], lod: 3, start: 0, end: doc.tokenCount }], 4), '····');
});
