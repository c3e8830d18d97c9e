// Bad inputs (issue #7, Reliability): each gets a reason in `skippedFiles` or is indexed correctly,
// none crashes or hangs the indexer — through `indexFolders` and, for a few, through the engine host.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, promises as fsp, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as v8 from 'node:v8';
import { encode } from 'gpt-tokenizer/encoding/o200k_base';
import fc from 'fast-check';
import { FocusEngine } from '../../src/core/engine';
import { indexFolders, openTree, saveTree, type IndexSummary } from '../../src/core/indexer';
import { checkWorkingContext } from '../../src/core/invariants';
import { countPromptTokens, detokenize, tokenize, tokenText } from '../../src/core/tokenizer';
import { Tree } from '../../src/core/tree';
import { EngineClient } from '../../src/extension/engineClient';
import { syntheticSource } from './support/corpus';
import { FakeRuntime } from './support/fakeRuntime';
import { runAsNobody } from './support/unprivileged';

const HOST = path.join(__dirname, '..', '..', '..', 'dist', 'host.js');
const MB = 1024 * 1024;

async function workspace(prefix = 'mgc-bad-'): Promise<string> {
  return fsp.realpath(await fsp.mkdtemp(path.join(os.tmpdir(), prefix)));
}

function reasons(s: IndexSummary, root: string): Record<string, string> {
  return Object.fromEntries(s.skippedFiles.map((f) => [path.relative(root, f.path).split(path.sep).join('/'), f.reason]));
}

/** A 100 MB file made in an instant: a sparse file (ftruncate), never written. */
async function sparse(file: string, bytes: number): Promise<void> {
  const fh = await fsp.open(file, 'w');
  await fh.truncate(bytes);
  await fh.close();
}

/** Focuses the whole tree and checks every invariant: the indexed documents are usable. */
async function assertFocusable(tree: Tree, budget = 4000): Promise<void> {
  const wc = await new FocusEngine(tree, tree.runtime).focus({ query: 'marker', budget });
  assert.deepEqual(checkWorkingContext(wc.perDoc, wc.rendered, budget), []);
  assert.equal(wc.perDoc.length, tree.documents.size);
}

const isRoot = process.getuid?.() === 0;

test('binary, 100 MB, invalid UTF-8, BOM, empty, newline-only, symlink loops and a folder named foo.py: a reason or a correct document each', { timeout: 120_000 }, async () => {
  const root = await workspace();
  const w = (rel: string, data: string | Buffer) => fsp.writeFile(path.join(root, rel), data);
  await w('image.png', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 0x49, 0x48, 0x44, 0x52]));
  await w('latin1.bin', Buffer.from(Array.from({ length: 4000 }, (_, i) => 0x80 + (i % 120))));
  await sparse(path.join(root, 'huge.log'), 100 * MB);
  const fewBad = Buffer.concat([Buffer.from('def caf'), Buffer.from([0xe9]), Buffer.from('(): return "ok"  # one stray latin-1 byte\n')]);
  await w('stray.py', fewBad);
  await w('bom.py', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('def with_bom():\n    return "bom_marker"\n')]));
  await w('empty.txt', '');
  // Kept to 20,000 characters per run: src/core/secrets.ts redactSecrets is quadratic on whitespace
  // runs (1 MB of newlines: ~15 min); the tokenizer's own long-run fix is tested below on 1 MB.
  await w('newlines.txt', '\n'.repeat(20_000));
  await w('dashes.txt', '='.repeat(100_000) + '\n' + 'a'.repeat(100_000) + '\n' + ' '.repeat(20_000) + 'end_marker\n');
  await fsp.symlink('b', path.join(root, 'a'));
  await fsp.symlink('a', path.join(root, 'b'));
  await fsp.mkdir(path.join(root, 'sub'));
  await fsp.symlink('..', path.join(root, 'sub', 'up'));
  await fsp.mkdir(path.join(root, 'foo.py'));
  await w('foo.py/inside.py', 'def inside_marker():\n    pass\n');
  await w('ok.py', syntheticSource(5, 40));

  const tree = new Tree(new FakeRuntime(16));
  global.gc?.();
  const before = process.memoryUsage();
  const s = await indexFolders(tree, [root]);
  const after = process.memoryUsage();
  const r = reasons(s, root);
  assert.deepEqual(r, {
    'image.png': 'binary', 'latin1.bin': 'binary', 'huge.log': 'too-large', a: 'symlink', b: 'symlink', 'sub/up': 'symlink',
  });
  assert.match(s.skippedFiles.find((f) => f.path.endsWith('huge.log'))!.detail!, /104857600 bytes > 1000000/);
  assert.match(s.skippedFiles.find((f) => f.path.endsWith('latin1.bin'))!.detail!, /invalid UTF-8/);
  // The 100 MB file was never read: buffers did not grow by anything near its size.
  const grewBuffers = (after.arrayBuffers - before.arrayBuffers) / MB;
  const grewRss = (after.rss - before.rss) / MB;
  console.log(`bad inputs: indexing beside a 100 MB file grew array buffers by ${grewBuffers.toFixed(1)} MB, RSS by ${grewRss.toFixed(1)} MB`);
  assert.ok(grewBuffers < 30, `array buffers grew by ${grewBuffers.toFixed(1)} MB`);

  const doc = (rel: string) => tree.documents.get(path.join(root, rel));
  assert.deepEqual([...tree.documents.keys()].map((p) => path.relative(root, p)).sort(),
    ['bom.py', 'dashes.txt', 'empty.txt', 'foo.py/inside.py', 'newlines.txt', 'ok.py', 'stray.py']);
  // Texts are the files decoded as UTF-8 (a stray byte becomes U+FFFD, the BOM is kept, as the JSON
  // output's character offsets promise), and tokens decode back to exactly that text.
  for (const rel of ['bom.py', 'stray.py', 'newlines.txt', 'dashes.txt', 'foo.py/inside.py']) {
    const d = doc(rel)!;
    assert.equal(d.text, (await fsp.readFile(path.join(root, rel))).toString('utf8'), rel);
    assert.equal(detokenize(d.tokens.unpack()), d.text, `${rel} tokens round-trip`);
    assert.equal(d.blockChar[d.nBlocks], d.text.length, `${rel} blocks tile the text`);
  }
  assert.ok(doc('stray.py')!.text.includes('caf\uFFFD('));
  assert.equal(doc('bom.py')!.text.charCodeAt(0), 0xfeff);
  assert.equal(doc('empty.txt')!.tokenCount, 0);
  assert.ok(doc('newlines.txt')!.tokenCount > 100);
  assert.equal(s.files, 7);
  await assertFocusable(tree, 6000);
});

test('long runs (newlines, letters, punctuation) tokenize without quadratic blow-up; ordinary text exactly as o200k', { timeout: 60_000 }, () => {
  for (const text of ['\n'.repeat(1_000_000), 'x'.repeat(500_000), '-'.repeat(500_000), ' \t'.repeat(200_000), 'é'.repeat(300_000), '𝔘'.repeat(100_000)]) {
    const t = tokenize(text);
    assert.equal(detokenize(t), text);
    assert.equal(countPromptTokens(text), t.length);
  }
  // Text without a run of 256 same-class characters is cut nowhere: the ids are o200k's own.
  const plain = { allowedSpecial: new Set<string>(), disallowedSpecial: new Set<string>() };
  // (Random code points are mostly symbols or unassigned: a long string of them is one long run.)
  fc.assert(fc.property(fc.oneof(fc.string({ maxLength: 255, unit: 'binary' }), fc.string({ maxLength: 3000, unit: 'grapheme-ascii' })), (s) => {
    const ids = tokenize(s);
    assert.deepEqual([...ids], encode(s, plain));
    assert.equal(countPromptTokens(s), ids.length);
  }), { numRuns: 300 });
  const source = syntheticSource(3, 2000) + 'y = 1' + ' '.repeat(250) + 'x'.repeat(255) + '\n';
  assert.deepEqual([...tokenize(source)], encode(source, plain));
});

test('decoding keeps a BOM and is stateless: a store reload gives back a BOM file exactly', async () => {
  for (const text of ['\uFEFFdef bom():\n', '\uFEFF\uFEFFx', '\uFEFF', 'a\uFEFFb', '日本語 é🙂']) assert.equal(detokenize(tokenize(text)), text, JSON.stringify(text));
  // A token holding part of a character decodes alone to U+FFFD and leaves nothing behind for the next call.
  const partial = tokenize('\uFEFF')[0];
  assert.equal(tokenText(partial), '\uFFFD');
  assert.equal(detokenize(tokenize('abc')), 'abc');
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'mgc-bom-'));
  const tree = new Tree(new FakeRuntime(16));
  const text = '\uFEFF' + syntheticSource(4, 30);
  await tree.ingest([{ id: '/ws/bom.py', text }]);
  await saveTree(tree, dir);
  const { tree: back } = await openTree(new FakeRuntime(16), dir);
  const d = back.documents.get('/ws/bom.py')!;
  assert.equal(d.text, text);
  assert.deepEqual(d.blockChar, tree.documents.get('/ws/bom.py')!.blockChar);
});

test('files deleted, renamed, replaced or grown between discovery and reading are reported, not fatal', { timeout: 60_000 }, async () => {
  const root = await workspace();
  const names = ['deleted.py', 'renamed.py', 'to-dir.py', 'grown.py', 'to-binary.py', 'to-fifo.py', 'kept.py'];
  // Larger than the 8 KiB discovery reads itself (smaller files are handed over whole, never read again).
  for (const n of names) await fsp.writeFile(path.join(root, n), `def ${n.replace(/\W/g, '_')}():\n    return 1\n` + syntheticSource(9, 400));
  const tree = new Tree(new FakeRuntime(16));
  const hasMkfifo = spawnSync('mkfifo', ['--version']).status === 0;
  const s = await indexFolders(tree, [root], {
    onDiscovered: async (found) => {
      assert.equal(found.files.length, names.length);
      const p = (n: string) => path.join(root, n);
      await fsp.rm(p('deleted.py'));
      await fsp.rename(p('renamed.py'), p('renamed-later.py'));
      await fsp.rm(p('to-dir.py'));
      await fsp.mkdir(p('to-dir.py'));
      await sparse(p('grown.py'), 5 * MB);
      await fsp.writeFile(p('to-binary.py'), Buffer.from([1, 2, 0, 3, 0, 0]));
      if (hasMkfifo) {
        await fsp.rm(p('to-fifo.py'));
        assert.equal(spawnSync('mkfifo', [p('to-fifo.py')]).status, 0);
      }
    },
  });
  const r = reasons(s, root);
  assert.deepEqual(r, {
    'deleted.py': 'vanished', 'renamed.py': 'vanished', 'to-dir.py': 'unreadable', 'grown.py': 'too-large', 'to-binary.py': 'binary',
    ...(hasMkfifo ? { 'to-fifo.py': 'unreadable' } : {}),
  });
  assert.match(s.skippedFiles.find((f) => f.path.endsWith('deleted.py'))!.detail!, /deleted or renamed/);
  assert.deepEqual([...tree.documents.keys()].map((k) => path.basename(k)).sort(), hasMkfifo ? ['kept.py'] : ['kept.py', 'to-fifo.py']);
  // The next index sees the new state: the renamed file under its new name, the folder walked.
  const again = await indexFolders(tree, [root]);
  assert.ok(tree.documents.has(path.join(root, 'renamed-later.py')));
  assert.equal(reasons(again, root)['grown.py'], 'too-large');
  if (hasMkfifo) assert.equal(reasons(again, root)['to-fifo.py'], 'unreadable');
  await assertFocusable(tree);
});

test('an unreadable file (chmod 000) is skipped with a reason (as an unprivileged user when root)', { timeout: 90_000 }, async () => {
  const root = await workspace();
  await fsp.chmod(root, 0o755);
  await fsp.writeFile(path.join(root, 'secret-ish.py'), 'x = 1\n');
  await fsp.chmod(path.join(root, 'secret-ish.py'), 0);
  await fsp.mkdir(path.join(root, 'closed'));
  await fsp.writeFile(path.join(root, 'closed', 'in.py'), 'y = 2\n');
  await fsp.chmod(path.join(root, 'closed'), 0);
  await fsp.writeFile(path.join(root, 'open.py'), 'z = 3\n');
  try {
    let result: { reasons: Record<string, string>; docs: string[] };
    if (isRoot) {
      // Root reads through chmod 000: the same index runs as `nobody`, for whom the bits hold. The code
      // (and the tokenizer, parser and secret rules, warmed on a readable folder) loads first, as root.
      const warm = await workspace();
      await fsp.writeFile(path.join(warm, 'warm.py'), 'def warm():\n    return 1\n');
      const child = runAsNobody(`
        const { indexFolders } = require(OUT + '/src/core/indexer.js');
        const { Tree } = require(OUT + '/src/core/tree.js');
        const { LexicalRuntime } = require(OUT + '/src/core/lexicalRuntime.js');
        const path = require('node:path');
        await indexFolders(new Tree(new LexicalRuntime('test')), [${JSON.stringify(warm)}]);`, `
        const root = ${JSON.stringify(root)};
        const tree = new Tree(new LexicalRuntime('test'));
        const s = await indexFolders(tree, [root]);
        const reasons = Object.fromEntries(s.skippedFiles.map((f) => [path.relative(root, f.path), f.reason]));
        process.stdout.write(JSON.stringify({ reasons, docs: [...tree.documents.keys()] }));`);
      assert.equal(child.status, 0, child.stderr);
      result = JSON.parse(child.stdout) as typeof result;
    } else {
      const tree = new Tree(new FakeRuntime(16));
      result = { reasons: reasons(await indexFolders(tree, [root]), root), docs: [...tree.documents.keys()] };
    }
    assert.deepEqual(result.reasons, { 'secret-ish.py': 'unreadable', closed: 'unreadable' });
    assert.deepEqual(result.docs, [path.join(root, 'open.py')]);
  } finally {
    await fsp.chmod(path.join(root, 'closed'), 0o755);
  }
});

test('file names that are not valid UTF-8 are skipped as unreadable-name (not "vanished"), with their bytes shown', async () => {
  const root = await workspace();
  const raw = (name: Buffer) => Buffer.concat([Buffer.from(root + path.sep), name]);
  const latin1 = Buffer.concat([Buffer.from('caf'), Buffer.from([0xe9]), Buffer.from('.py')]);
  try {
    await fsp.writeFile(raw(latin1), 'def cafe():\n    return 1\n');
  } catch {
    return; // a file system that refuses such names (not Linux ext4/tmpfs) cannot hold this input
  }
  await fsp.mkdir(raw(Buffer.from([0x64, 0xff, 0x69, 0x72])));
  await fsp.writeFile(Buffer.concat([raw(Buffer.from([0x64, 0xff, 0x69, 0x72])), Buffer.from('/inner.py')]), 'x = 1\n');
  await fsp.writeFile(path.join(root, 'ok\uFFFDname.py'), 'def replacement_char_is_valid():\n    return 2\n'); // a real U+FFFD is valid UTF-8
  await fsp.writeFile(path.join(root, 'plain.py'), 'def plain():\n    return 3\n');
  const tree = new Tree(new FakeRuntime(16));
  const s = await indexFolders(tree, [root]);
  assert.deepEqual(reasons(s, root), { 'caf\uFFFD.py': 'unreadable-name', 'd\uFFFDir': 'unreadable-name' });
  assert.equal(s.skippedFiles.find((f) => f.reason === 'unreadable-name' && f.path.endsWith('.py'))!.detail, 'not valid UTF-8: caf\\xe9.py');
  assert.equal(s.skippedFiles.find((f) => f.path.endsWith('ir'))!.detail, 'not valid UTF-8: d\\xffir');
  assert.deepEqual([...tree.documents.keys()].map((k) => path.basename(k)).sort(), ['ok\uFFFDname.py', 'plain.py']);
  await assertFocusable(tree);
});

test('a file that is text for its first 8 KiB and binary after is skipped as binary: no NUL reaches a prompt', async () => {
  const root = await workspace();
  const head = syntheticSource(7, 600);
  assert.ok(Buffer.byteLength(head) > 8192 && Buffer.byteLength(head) < 100_000);
  const late = Buffer.concat([Buffer.from(head), Buffer.from([0, 1, 2, 0, 0xff, 0]), Buffer.from('tail = 1\n')]);
  await fsp.writeFile(path.join(root, 'late-nul.py'), late);
  // Text, then a long stretch of invalid UTF-8 well past the first 8 KiB.
  await fsp.writeFile(path.join(root, 'late-latin1.txt'), Buffer.concat([Buffer.from(head), Buffer.from(Array.from({ length: 60_000 }, (_, i) => 0x80 + (i % 100)))]));
  await fsp.writeFile(path.join(root, 'fine.py'), head);
  const tree = new Tree(new FakeRuntime(16));
  const s = await indexFolders(tree, [root]);
  assert.deepEqual(reasons(s, root), { 'late-nul.py': 'binary', 'late-latin1.txt': 'binary' });
  assert.equal(s.skippedFiles.find((f) => f.path.endsWith('late-nul.py'))!.detail, 'NUL byte');
  assert.equal(s.skippedFiles.find((f) => f.path.endsWith('late-latin1.txt'))!.detail, 'invalid UTF-8');
  assert.deepEqual([...tree.documents.keys()], [path.join(root, 'fine.py')]);
  const wc = await new FocusEngine(tree, tree.runtime).focus({ query: 'tail', budget: 4000 });
  assert.ok(!wc.rendered.prompt.includes('\u0000'));
  // A known file turning binary late is dropped on re-index, never ingested with NULs.
  await fsp.writeFile(path.join(root, 'fine.py'), late);
  await indexFolders(tree, [root]);
  assert.equal(tree.documents.size, 0);
});

test('memory: a tree of tiny files allocates no render caches until a document is rendered', async () => {
  const tree = new Tree(new FakeRuntime(16));
  await tree.ingest(Array.from({ length: 50 }, (_, i) => ({ id: `/ws/m${i}.py`, text: `v_${i} = ${i}\n` })));
  const caches = (d: object) => Object.values(d).filter((v) => v instanceof Map).length;
  for (const d of tree.documents.values()) assert.equal(caches(d), 0, `${d.id} holds Maps before any rendering`);
  // The six node arrays of documents gisted together are views of one buffer (document.ts nodeArrays).
  const docs = [...tree.documents.values()];
  assert.equal(new Set(docs.flatMap((d) => [d.lod1Gists, d.lod1Scales, d.lod1Salience, d.lod2Gists, d.lod2Scales, d.lod2Salience].map((a) => a.buffer))).size, 1);
  // Line starts are computed when asked, not for every document at indexing.
  const own = (d: object) => Object.values(d).filter((v) => v instanceof Uint32Array).length;
  const before = own(docs[0]);
  assert.equal(docs[0].lines.length, 2);
  assert.equal(own(docs[0]), before + 1);
  await new FocusEngine(tree, tree.runtime).focus({ query: 'v_3', budget: 2000 });
  // Render caches live beside the documents (render.ts, cost.ts), never on them: rendering adds none.
  for (const d of tree.documents.values()) assert.equal(caches(d), 0, `${d.id} holds Maps after a focus`);
});

test('a 200,000-file workspace indexes without hanging or running out of memory', { timeout: 600_000 }, async () => {
  const root = await workspace('mgc-200k-');
  const FILES = 200_000;
  const PER_DIR = 1000;
  let t = performance.now();
  for (let d = 0; d < FILES / PER_DIR; d++) {
    const dir = path.join(root, `pkg${d}`);
    mkdirSync(dir);
    // Synchronous writes: several times faster than 200k promises for files this small.
    for (let i = 0; i < PER_DIR; i++) writeFileSync(path.join(dir, `m${i}.py`), `v_${d}_${i} = ${i}\n`);
  }
  const createS = (performance.now() - t) / 1000;
  const tree = new Tree(new FakeRuntime(16));
  t = performance.now();
  let discoverS = 0;
  const s = await indexFolders(tree, [root], { onDiscovered: () => { discoverS = (performance.now() - t) / 1000; } });
  const indexS = (performance.now() - t) / 1000;
  const mem = process.memoryUsage();
  console.log(`200k files: created in ${createS.toFixed(1)} s; indexed in ${indexS.toFixed(1)} s (walk ${discoverS.toFixed(1)} s), ` +
    `${s.tokens} tokens; heap ${(mem.heapUsed / MB).toFixed(0)} MB, RSS ${(mem.rss / MB).toFixed(0)} MB`);
  assert.equal(s.files, FILES);
  assert.equal(s.skippedFiles.length, 0);
  assert.equal(tree.documents.size, FILES);
  assert.equal(tree.documents.get(path.join(root, 'pkg123', 'm456.py'))!.text, 'v_123_456 = 456\n');
  // Far from the heap limit: the engine host would not run out of memory.
  const limit = v8.getHeapStatistics().heap_size_limit;
  assert.ok(mem.heapUsed < limit * 0.6, `heap ${(mem.heapUsed / MB).toFixed(0)} MB of a ${(limit / MB).toFixed(0)} MB limit`);
  // Removing 200k files takes half a minute: a detached rm -rf does it after the test has moved on.
  const rm = spawn('rm', ['-rf', root], { detached: true, stdio: 'ignore' });
  rm.on('error', () => undefined);
  rm.unref();
});

test('through the engine host: bad inputs are skipped with reasons, the rest is indexed and focusable, the host stays up', { timeout: 120_000 }, async () => {
  const root = await workspace();
  await fsp.writeFile(path.join(root, 'blob.bin'), Buffer.from([0, 1, 2, 3, 0, 255]));
  await sparse(path.join(root, 'huge.sql'), 100 * MB);
  await fsp.writeFile(path.join(root, 'empty.md'), '');
  await fsp.writeFile(path.join(root, 'blank.txt'), '\n'.repeat(20_000));
  await fsp.writeFile(path.join(root, 'bom.py'), Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('def bom_zebra_marker():\n    return 1\n')]));
  await fsp.symlink('loop2', path.join(root, 'loop1'));
  await fsp.symlink('loop1', path.join(root, 'loop2'));
  await fsp.mkdir(path.join(root, 'pkg.py'));
  await fsp.writeFile(path.join(root, 'pkg.py', 'mod.py'), syntheticSource(8, 60));
  const store = await fsp.mkdtemp(path.join(os.tmpdir(), 'mgc-bad-store-'));
  let crashes = 0;
  const client = new EngineClient({ hostPath: HOST, env: { MEGACONTEXT_STORE_DIR: store }, onCrash: () => { crashes++; } });
  try {
    const r = await client.request('index', { roots: [root] });
    const byName = Object.fromEntries(r.skipped.map((f) => [path.basename(f.path), f.reason]));
    assert.deepEqual(byName, { 'blob.bin': 'binary', 'huge.sql': 'too-large', loop1: 'symlink', loop2: 'symlink' });
    assert.equal(r.files, 4);
    const pid = client.pid!;
    const rss = Number(/VmRSS:\s+(\d+)/.exec(await fsp.readFile(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
    console.log(`engine host after indexing beside a 100 MB file: RSS ${rss.toFixed(0)} MB`);
    assert.ok(rss < 1000, `host RSS ${rss} MB`);
    const f = await client.request('focus', { query: 'bom_zebra_marker', budget: 3000 });
    const bom = f.entries.filter((e) => e.path === path.join(root, 'bom.py'));
    assert.ok(bom.length > 0 && bom.every((e) => e.lod === 0), 'the BOM file is exact in the focus');
    assert.ok(f.tokens <= 3000);
    assert.ok(f.telemetry.planned > 0, 'the lexical plan scores by default and chose blocks');
    assert.equal(f.scorer, 'lexical');
    // LensNet on request (the megacontext.scorer setting), and a clear error for anything else.
    const lens = await client.request('focus', { query: 'bom_zebra_marker', budget: 3000, scorer: 'lens' });
    assert.equal(lens.telemetry.planned, 0, 'LensNet scores: no lexical plan');
    assert.equal(lens.scorer, 'lens');
    const lexical = await client.request('focus', { query: 'bom_zebra_marker', budget: 3000, scorer: 'lexical' });
    assert.ok(lexical.telemetry.planned > 0, 'the lexical plan chose blocks');
    assert.equal(lexical.scorer, 'lexical');
    assert.ok(lexical.entries.some((e) => e.path === path.join(root, 'bom.py') && e.lod === 0), 'the plan shows the BOM file exactly');
    await assert.rejects(client.request('focus', { query: 'x', budget: 3000, scorer: 'bogus' as 'lens' }), /scorer must be lens, lens2 or lexical/);
    const x = await client.request('expand', { path: path.join(root, 'bom.py'), startLine: 1, endLine: 1 });
    assert.equal(x.text, '\uFEFFdef bom_zebra_marker():\n');
    assert.equal(client.pid, pid, 'the same host served every request');
    assert.equal(crashes, 0);
  } finally {
    client.dispose();
  }
});
