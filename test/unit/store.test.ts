import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import * as zlib from 'node:zlib';
import fc from 'fast-check';
import type { StoredDocument, StoreHeader } from '../../src/core/document';
import { dequantizeRowInto, quantizedSalience, quantizeRows } from '../../src/core/quant';
import { openStore, readStore, STORE_FILE, STORE_FORMAT_VERSION, writeStore } from '../../src/core/store';
import { crc32Fallback } from '../../src/core/storeFormat';

const HEADER: StoreHeader = { modelId: 'gist-abc123', dim: 8, blockTokens: 32, groupBlocks: 32 };

function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return s / 2 ** 32;
  };
}

/** Gists in their stored form: int8 rows and a scale per row. */
function gists<L extends 'lod1' | 'lod2'>(lod: L, values: Float32Array, dim: number): Record<`${L}Gists`, Int8Array> & Record<`${L}Scales`, Float32Array> {
  const { q, scales } = quantizeRows(values, dim);
  return { [`${lod}Gists`]: q, [`${lod}Scales`]: scales } as Record<`${L}Gists`, Int8Array> & Record<`${L}Scales`, Float32Array>;
}

function makeDoc(id: string, tokens: number, opts: { appending?: boolean; seed?: number; h?: StoreHeader } = {}): StoredDocument {
  const h = opts.h ?? HEADER;
  const r = rng(opts.seed ?? tokens + id.length);
  const appending = opts.appending ?? false;
  // Blocks of 1 to blockTokens tokens (runs of whole lines in a real tree), at random.
  const cuts = [0];
  while (cuts[cuts.length - 1] < tokens) cuts.push(Math.min(tokens, cuts[cuts.length - 1] + 1 + Math.floor(r() * h.blockTokens)));
  const nBlocks = cuts.length - 1;
  const lod1 = appending ? Math.max(0, nBlocks - 1) : nBlocks;
  const lod2 = appending ? Math.floor(lod1 / h.groupBlocks) : Math.ceil(lod1 / h.groupBlocks);
  const fill = (n: number, f: () => number): Float32Array => Float32Array.from({ length: n }, f);
  return {
    id, kind: appending ? 'chat' : 'file', appending, contentHash: 'ab'.repeat(32), mtimeMs: 1700000000123.5,
    tokens: Uint32Array.from({ length: tokens }, () => Math.floor(r() * 200019)),
    blocks: Uint32Array.from(cuts),
    ...gists('lod1', fill(lod1 * h.dim, () => (r() - 0.5) * 8), h.dim),
    lod1Salience: quantizedSalience(fill(lod1 * h.blockTokens, r), h.blockTokens),
    ...gists('lod2', fill(lod2 * h.dim, () => (r() - 0.5) * 8), h.dim),
    lod2Salience: quantizedSalience(fill(lod2 * h.groupBlocks, r), h.groupBlocks),
  };
}

async function tempDir(): Promise<string> {
  return fsp.mkdtemp(path.join(os.tmpdir(), 'mgc-store-'));
}

/** Gists are kept in binary16 and salience in uint8 in memory too, so a round trip is exact. */
function assertCompactEqual(actual: Int8Array | Uint8Array | Float32Array, expected: Int8Array | Uint8Array | Float32Array): void {
  assert.equal(actual.constructor, expected.constructor);
  assert.deepEqual(actual, expected);
}

function assertDocsMatch(actual: StoredDocument[], expected: StoredDocument[]): void {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const e = expected[i];
    assert.deepEqual(
      { id: a.id, kind: a.kind, appending: a.appending, contentHash: a.contentHash, mtimeMs: a.mtimeMs },
      { id: e.id, kind: e.kind, appending: e.appending, contentHash: e.contentHash, mtimeMs: e.mtimeMs },
    );
    assert.deepEqual(a.tokens, e.tokens);
    assertCompactEqual(a.lod1Gists, e.lod1Gists);
    assertCompactEqual(a.lod1Scales, e.lod1Scales);
    assertCompactEqual(a.lod2Gists, e.lod2Gists);
    assertCompactEqual(a.lod2Scales, e.lod2Scales);
    assertCompactEqual(a.lod1Salience, e.lod1Salience);
    assertCompactEqual(a.lod2Salience, e.lod2Salience);
  }
}

// --- int8 gists -----------------------------------------------------------------------------

test('int8 rows: each value within half a step of its row scale, the row maximum exact, zeros and non-finite kept 0', () => {
  fc.assert(
    fc.property(fc.array(fc.float({ noNaN: true, noDefaultInfinity: true, min: -8, max: 8 }), { minLength: 16, maxLength: 16 }), (row) => {
      const x = Float32Array.from(row);
      const { q, scales } = quantizeRows(x, 16);
      const out = new Float32Array(16);
      dequantizeRowInto(q, scales, 0, 16, out, 0);
      const max = Math.max(...x.map(Math.abs));
      if (max === 0) return scales[0] === 0 && out.every((v) => v === 0);
      return Math.abs(scales[0] - max / 127) <= max * 1e-7 && x.every((v, i) => Math.abs(out[i] - v) <= scales[0] / 2 + max * 1e-6) &&
        q.some((v) => Math.abs(v) === 127);
    }),
  );
  const { q, scales } = quantizeRows(Float32Array.from([1, NaN, -Infinity, -0.5, 0, 0, 0, 0]), 4);
  assert.deepEqual([...q], [127, 0, 0, -63, 0, 0, 0, 0]); // -63.5 rounds half up, as Math.round does
  assert.equal(scales[1], 0);
});

test('the portable crc32 agrees with zlib (used where zlib.crc32 is missing)', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => crc32Fallback(bytes) === zlib.crc32(bytes) >>> 0));
  // Continued over parts (the header is checksummed as it is written in parts).
  fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), fc.uint8Array({ maxLength: 200 }), (a, b) =>
    crc32Fallback(b, crc32Fallback(a)) === zlib.crc32(Buffer.concat([a, b])) >>> 0));
});

test('a large store (10,000 documents, header written in parts) round-trips, and a generator source works', async () => {
  const dir = await tempDir();
  const docs = Array.from({ length: 10_000 }, (_, i) => makeDoc(`/ws/pkg${i % 97}/m${i}.py`, 1 + (i % 70), { seed: i + 1 }));
  function* gen() { yield* docs; }
  await writeStore(dir, HEADER, gen());
  const res = await readStore(dir, HEADER);
  assert.equal(res.status, 'ok');
  if (res.status !== 'ok') return;
  assertDocsMatch(res.docs, docs);
  // Restored node arrays are views of one buffer, not six buffers per document.
  assert.equal(new Set(res.docs.flatMap((d) => [d.lod1Gists, d.lod1Scales, d.lod1Salience, d.lod2Gists, d.lod2Scales, d.lod2Salience].map((a) => a.buffer))).size, 1);
});

// --- round trip -----------------------------------------------------------------------------

test('round trip keeps every value exactly (gists are int8 and salience uint8 in memory too)', async () => {
  const dir = await tempDir();
  const docs = [makeDoc('/ws/a.ts', 5000), makeDoc('/ws/b.md', 33), makeDoc('/ws/c.ts', 1), makeDoc('chat:1', 2100, { appending: true })];
  const { bytes, path: file } = await writeStore(dir, HEADER, docs);
  assert.equal(file, path.join(dir, STORE_FILE));
  assert.equal((await fsp.stat(file)).size, bytes);
  const res = await readStore(dir, HEADER);
  assert.equal(res.status, 'ok');
  if (res.status !== 'ok') return;
  assert.deepEqual(res.header, HEADER);
  assertDocsMatch(res.docs, docs);
});

test('an empty store round-trips', async () => {
  const dir = await tempDir();
  await writeStore(dir, HEADER, []);
  const res = await readStore(dir, HEADER);
  assert.deepEqual(res, { status: 'ok', header: HEADER, docs: [] });
});

test('appending documents with zero LOD2 nodes (and an empty document) round-trip', async () => {
  const dir = await tempDir();
  const docs = [makeDoc('chat:s1', 100, { appending: true }), makeDoc('notes:n', 0, { appending: true }), makeDoc('/ws/empty', 0)];
  assert.equal(docs[0].lod2Gists.length, 0);
  await writeStore(dir, HEADER, docs);
  const res = await readStore(dir, HEADER);
  assert.equal(res.status, 'ok');
  if (res.status === 'ok') assertDocsMatch(res.docs, docs);
});

test('a file record (size, mtime, ctime, inode, racy) round-trips; a malformed one is refused or means rebuild', async () => {
  const dir = await tempDir();
  const stat = { size: 1234, mtimeMs: 1700000000123.25, ctimeMs: 1700000000456.5, ino: 987654321, racy: true };
  const docs = [{ ...makeDoc('/ws/a.ts', 70), stat }, makeDoc('/ws/b.ts', 40), makeDoc('chat:1', 64, { appending: true })];
  const { path: file } = await writeStore(dir, HEADER, docs);
  const res = await readStore(dir, HEADER);
  assert.equal(res.status, 'ok');
  if (res.status !== 'ok') return;
  assert.deepEqual(res.docs[0].stat, stat);
  assert.equal(res.docs[1].stat, undefined, 'no record: compared by content at the next index');
  assert.ok(!('stat' in res.docs[2]));
  assertDocsMatch(res.docs, docs);
  await assert.rejects(writeStore(dir, HEADER, [{ ...makeDoc('/ws/a.ts', 70), stat: { ...stat, size: -1 } }]), /stat .* is malformed/);
  // A record with a valid checksum but a wrong shape: rebuild, never a misread.
  const buf = await fsp.readFile(file);
  const len = buf.readUInt32LE(8);
  const json = buf.subarray(16, 16 + len).toString('utf8');
  const forged = Buffer.from(json.replace('[1234,', '["1234",'), 'utf8');
  assert.notEqual(forged.toString(), json);
  const head = Buffer.from(buf.subarray(0, 16));
  head.writeUInt32LE(forged.length, 8);
  head.writeUInt32LE(zlib.crc32(forged) >>> 0, 12);
  const dataStart = Math.ceil((16 + len) / 8) * 8;
  const pad = Buffer.alloc(Math.ceil((16 + forged.length) / 8) * 8 - 16 - forged.length);
  await fsp.writeFile(file, Buffer.concat([head, forged, pad, buf.subarray(dataStart)]));
  const bad = await readStore(dir, HEADER);
  assert.equal(bad.status, 'rebuild');
  assert.match((bad as { reason: string }).reason, /document 0 stat is malformed/);
});

test('salience quantizes per row: zeros stay zeros, the row maximum becomes 255, order is kept', async () => {
  const row = new Float32Array(64);
  row.fill(0.25, 32, 64);
  row[40] = 0.5;
  row[41] = 0.1;
  const q = quantizedSalience(row, 32);
  assert.ok(q.subarray(0, 32).every((v) => v === 0));
  assert.equal(q[40], 255);
  assert.equal(q[33], 128);
  assert.ok(q[41] < q[33] && q[41] > 0);
  // And it is stored exactly.
  const dir = await tempDir();
  const d = makeDoc('/ws/z', 64);
  // Two blocks of 32 tokens, so the two rows of salience are its LOD1 nodes'.
  d.blocks = Uint32Array.from([0, 32, 64]);
  d.lod1Gists = new Int8Array(2 * HEADER.dim);
  d.lod1Scales = new Float32Array(2);
  d.lod2Gists = new Int8Array(HEADER.dim);
  d.lod2Scales = new Float32Array(1);
  d.lod2Salience = new Uint8Array(HEADER.groupBlocks);
  d.lod1Salience = q;
  await writeStore(dir, HEADER, [d]);
  const res = await readStore(dir, HEADER);
  assert.equal(res.status, 'ok');
  if (res.status === 'ok') assert.deepEqual(res.docs[0].lod1Salience, q);
});

test('writeStore rejects inconsistent shapes and duplicate ids', async () => {
  const dir = await tempDir();
  const bad = makeDoc('/ws/a', 64);
  bad.lod1Salience = new Uint8Array(5);
  await assert.rejects(writeStore(dir, HEADER, [bad]), /LOD1 shapes disagree/);
  const floats = makeDoc('/ws/a', 64) as unknown as { lod1Gists: Float32Array };
  floats.lod1Gists = new Float32Array(2 * HEADER.dim);
  await assert.rejects(writeStore(dir, HEADER, [floats as unknown as StoredDocument]), /not Int8Array/);
  // More LOD1 nodes than a document can have blocks (at most one per token, blocks.ts).
  const tooMany = makeDoc('/ws/a', 2);
  tooMany.lod1Gists = new Int8Array(3 * HEADER.dim);
  tooMany.lod1Scales = new Float32Array(3);
  tooMany.lod1Salience = new Uint8Array(3 * HEADER.blockTokens);
  await assert.rejects(writeStore(dir, HEADER, [tooMany]), /exceed/);
  await assert.rejects(writeStore(dir, HEADER, [makeDoc('/x', 3), makeDoc('/x', 4)]), /duplicate/);
  await assert.rejects(writeStore(dir, { ...HEADER, dim: 0 }, []), /dim/);
});

// --- status and corruption ------------------------------------------------------------------

test('a missing store (or directory) is "missing"', async () => {
  const dir = await tempDir();
  assert.equal((await readStore(dir, HEADER)).status, 'missing');
  assert.equal((await readStore(path.join(dir, 'nope', 'deeper'), HEADER)).status, 'missing');
});

test('IO errors other than a missing file throw with a clear message', async () => {
  const dir = await tempDir();
  await fsp.mkdir(path.join(dir, STORE_FILE));
  await assert.rejects(readStore(dir, HEADER), /cannot read store/);
});

test('another model, dim, block size or group size means rebuild, with a reason', async () => {
  const dir = await tempDir();
  await writeStore(dir, HEADER, [makeDoc('/ws/a', 100)]);
  const cases: [Partial<StoreHeader>, RegExp][] = [
    [{ modelId: 'other' }, /model gist-abc123, expected other/],
    [{ dim: 16 }, /dim is 8, expected 16/],
    [{ blockTokens: 64 }, /blockTokens/],
    [{ groupBlocks: 16 }, /groupBlocks/],
  ];
  for (const [change, reason] of cases) {
    const res = await readStore(dir, { ...HEADER, ...change });
    assert.equal(res.status, 'rebuild');
    if (res.status === 'rebuild') {
      assert.match(res.reason, reason);
      assert.ok(!res.reason.includes('\n'));
    }
  }
});

async function corrupted(edit: (b: Buffer) => Buffer): Promise<Awaited<ReturnType<typeof readStore>>> {
  const dir = await tempDir();
  const { path: file } = await writeStore(dir, HEADER, [makeDoc('/ws/a', 300), makeDoc('chat:x', 40, { appending: true })]);
  await fsp.writeFile(file, edit(await fsp.readFile(file)));
  return readStore(dir, HEADER);
}

test('wrong magic, older and newer versions mean rebuild', async () => {
  const magic = await corrupted((b) => { b.write('ZZZZ', 0, 'latin1'); return b; });
  assert.deepEqual(magic.status, 'rebuild');
  assert.match((magic as { reason: string }).reason, /magic/);
  for (const [v, word] of [[STORE_FORMAT_VERSION + 1, 'newer'], [STORE_FORMAT_VERSION - 1, 'older']] as const) {
    const res = await corrupted((b) => { b.writeUInt32LE(v, 4); return b; });
    assert.equal(res.status, 'rebuild');
    assert.match((res as { reason: string }).reason, new RegExp(`version ${v} is ${word}`));
  }
});

test('a malformed header with a valid checksum means rebuild', async () => {
  const res = await corrupted(() => {
    const json = Buffer.from('{"modelId":"gist-abc123","dim":8,"blockTokens":32,"groupBlocks":32,"docCount":1,"dataBytes":0,"docs":[{"id":5}]}');
    const head = Buffer.alloc(16);
    head.write('MGCX', 0, 'latin1');
    head.writeUInt32LE(STORE_FORMAT_VERSION, 4);
    head.writeUInt32LE(json.length, 8);
    head.writeUInt32LE(zlib.crc32(json) >>> 0, 12);
    const pad = Buffer.alloc((8 - ((16 + json.length) % 8)) % 8);
    return Buffer.concat([head, json, pad]);
  });
  assert.equal(res.status, 'rebuild');
  assert.match((res as { reason: string }).reason, /document 0 has no id/);
});

test('truncation at any offset means rebuild', async () => {
  const dir = await tempDir();
  const { path: file, bytes } = await writeStore(dir, HEADER, [makeDoc('/ws/a', 300), makeDoc('/ws/b', 70)]);
  const full = await fsp.readFile(file);
  for (let cut = 0; cut < bytes; cut += cut < 64 ? 1 : 13) {
    await fsp.writeFile(file, full.subarray(0, cut));
    const res = await readStore(dir, HEADER);
    assert.equal(res.status, 'rebuild', `cut at ${cut}`);
  }
  await fsp.writeFile(file, Buffer.concat([full, Buffer.alloc(1)]));
  assert.match(((await readStore(dir, HEADER)) as { reason: string }).reason, /trailing/);
});

test('any single flipped bit is detected and never misread', async () => {
  const dir = await tempDir();
  const docs = [makeDoc('/ws/a', 300), makeDoc('chat:x', 40, { appending: true }), makeDoc('/ws/e', 0)];
  const { path: file, bytes } = await writeStore(dir, HEADER, docs);
  const full = await fsp.readFile(file);
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 0, max: bytes * 8 - 1 }), async (bit) => {
      const b = Buffer.from(full);
      b[bit >> 3] ^= 1 << (bit & 7);
      await fsp.writeFile(file, b);
      const res = await readStore(dir, HEADER);
      return res.status === 'rebuild' && res.reason.length > 0 && !res.reason.includes('\n');
    }),
    { numRuns: 400 },
  );
  await fsp.writeFile(file, full);
  const ok = await readStore(dir, HEADER);
  assert.equal(ok.status, 'ok');
});

// --- atomicity ------------------------------------------------------------------------------

async function onlyStore(dir: string): Promise<void> {
  assert.deepEqual(await fsp.readdir(dir), [STORE_FILE]);
}

test('a write that fails before the rename leaves the old store intact and no temporary', async () => {
  const dir = await tempDir();
  const old = [makeDoc('/ws/old', 100)];
  await writeStore(dir, HEADER, old);
  let seenTmp = '';
  await assert.rejects(
    writeStore(dir, HEADER, [makeDoc('/ws/new', 500)], {
      beforeRename: async (tmp) => {
        seenTmp = tmp;
        assert.ok((await fsp.stat(tmp)).size > 0);
        throw new Error('disk full (simulated)');
      },
    }),
    /disk full/,
  );
  assert.match(path.basename(seenTmp), /^tree\.mgc\.tmp-\d+-[0-9a-f]+$/);
  await onlyStore(dir);
  const res = await readStore(dir, HEADER);
  assert.equal(res.status, 'ok');
  if (res.status === 'ok') assertDocsMatch(res.docs, old);
});

test('a document source that throws mid-way leaves the old store intact', async () => {
  const dir = await tempDir();
  const old = [makeDoc('/ws/old', 100)];
  await writeStore(dir, HEADER, old);
  function* docs(): Generator<StoredDocument> {
    yield makeDoc('/ws/n1', 50);
    throw new Error('tokenizer crashed');
  }
  await assert.rejects(writeStore(dir, HEADER, docs()), /tokenizer crashed/);
  await onlyStore(dir);
  const res = await readStore(dir, HEADER);
  assert.equal(res.status, 'ok');
  if (res.status === 'ok') assertDocsMatch(res.docs, old);
});

test('a failed rename removes the temporary; temporaries of dead writers are swept', async () => {
  const dir = await tempDir();
  await fsp.mkdir(path.join(dir, STORE_FILE));
  await fsp.writeFile(path.join(dir, STORE_FILE, 'x'), 'occupied');
  await assert.rejects(writeStore(dir, HEADER, [makeDoc('/a', 10)]));
  assert.deepEqual(await fsp.readdir(dir), [STORE_FILE]);

  const dir2 = await tempDir();
  const dead = spawnSync(process.execPath, ['-e', '0']).pid;
  const stale = path.join(dir2, `${STORE_FILE}.tmp-${dead}-abcdef`);
  const live = path.join(dir2, `${STORE_FILE}.tmp-${process.pid}-abcdef`);
  await fsp.writeFile(stale, 'partial');
  await fsp.writeFile(live, 'in progress');
  await writeStore(dir2, HEADER, []);
  assert.deepEqual((await fsp.readdir(dir2)).sort(), [STORE_FILE, path.basename(live)].sort());
});

/**
 * Rewrites section `name` of document `doc` of the store in `dir` through `edit`, with every checksum
 * made right again: only the value checks can refuse it.
 */
async function rewriteSection(dir: string, doc: number, name: string, edit: (bytes: Buffer) => void): Promise<void> {
  const file = path.join(dir, STORE_FILE);
  const buf = await fsp.readFile(file);
  const headerLen = buf.readUInt32LE(8);
  const header = JSON.parse(buf.subarray(16, 16 + headerLen).toString('utf8'));
  const data = Buffer.from(buf.subarray(Math.ceil((16 + headerLen) / 8) * 8));
  const names = ['tokens', 'lod1Gists', 'lod1Scales', 'lod1Salience', 'lod2Gists', 'lod2Scales', 'lod2Salience', 'blocks'];
  const ref = header.docs[doc].sections[names.indexOf(name)];
  const bytes = data.subarray(ref[0], ref[0] + ref[1]);
  edit(bytes);
  ref[2] = crc32Fallback(bytes);
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const prefix = Buffer.alloc(16);
  buf.copy(prefix, 0, 0, 8);
  prefix.writeUInt32LE(json.length, 8);
  prefix.writeUInt32LE(crc32Fallback(json), 12);
  const pad = Buffer.alloc(Math.ceil((16 + json.length) / 8) * 8 - 16 - json.length);
  await fsp.writeFile(file, Buffer.concat([prefix, json, pad, data]));
}

test('values a checksum cannot vouch for are checked before any document is decoded: bad scales or block boundaries mean rebuild', async () => {
  const docs = [makeDoc('/ws/a.ts', 300), makeDoc('/ws/b.ts', 900), makeDoc('/ws/c.ts', 40)];
  const cases: [string, string, (b: Buffer) => void, RegExp][] = [
    ['a negative LOD1 scale', 'lod1Scales', (b) => b.writeFloatLE(-1, 4), /gist scale -1/],
    ['a NaN LOD2 scale', 'lod2Scales', (b) => b.writeFloatLE(NaN, 0), /gist scale NaN/],
    ['boundaries out of order', 'blocks', (b) => b.writeUInt32LE(b.readUInt32LE(8), 4), /block boundaries out of order/],
    ['boundaries not starting at 0', 'blocks', (b) => b.writeUInt32LE(1, 0), /block boundaries out of order/],
  ];
  for (const [what, section, edit, reason] of cases) {
    const dir = await tempDir();
    try {
      await writeStore(dir, HEADER, docs);
      await rewriteSection(dir, 1, section, () => undefined);
      assert.equal((await readStore(dir, HEADER)).status, 'ok', 'rewritten as it was, the store still reads');
      await rewriteSection(dir, 1, section, edit);
      const res = await readStore(dir, HEADER);
      assert.equal(res.status, 'rebuild', what);
      if (res.status === 'rebuild') assert.match(res.reason, reason, what);
      const opened = await openStore(dir, HEADER);
      assert.equal(opened.status, 'rebuild', `${what}: refused before any document is handed out`);
    } finally {
      await fsp.rm(dir, { recursive: true, force: true });
    }
  }
});
