// Issue #18 item 5: staleness is decided by content, not by modification times alone. An edit that
// restores the mtime (`sed -i` then `touch -r`, what `cp -p`, `rsync -t` and some checkouts do) is seen;
// unchanged files are still kept without being read (size, mtime, ctime and inode all equal, git's
// rule), and a racily clean record (a file modified within the timestamp tick of its read) is compared
// by content the next time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { promises as fsp, readFileSync, statSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import { main } from '../../src/cli/main';
import { fileStat, indexFolders, openTree, RACY_MS, refreshFiles, saveTree, statUnchanged } from '../../src/core/indexer';
import { readStore, writeStore } from '../../src/core/store';
import { storeHeader } from '../../src/core/indexer';
import { Tree } from '../../src/core/tree';
import { Memory } from '../../src/engine/memory';
import { FakeRuntime } from './support/fakeRuntime';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function workspace(): Promise<string> {
  return fsp.realpath(await fsp.mkdtemp(path.join(os.tmpdir(), 'mgc-stale-')));
}

/** The files' last change (ctime included) is more than RACY_MS ago: their records will not be racy. */
async function settle(): Promise<void> {
  await sleep(RACY_MS + 150);
}

const OLD = 'def alpha():\n    return "old_marker"\n';
const NEW = 'def alpha():\n    return "new_marker"\n'; // the same size: only ctime (and inode) tell

/** `sed -i` (a new file renamed over the old one) then `touch -r` with a copy made by `cp -p`. */
function sedThenTouchR(file: string): void {
  const ref = `${file}.ref`;
  assert.equal(spawnSync('cp', ['-p', file, ref]).status, 0);
  assert.equal(spawnSync('sed', ['-i', 's/old_marker/new_marker/', file]).status, 0);
  assert.equal(spawnSync('touch', ['-r', ref, file]).status, 0);
  spawnSync('rm', ['-f', ref]);
}

test('sed -i then touch -r: same size and mtime, yet the new text is indexed ("1 changed", not "1 unchanged")', { timeout: 30_000 }, async () => {
  const root = await workspace();
  const a = path.join(root, 'a.py');
  writeFileSync(a, OLD);
  writeFileSync(path.join(root, 'b.py'), 'def beta():\n    return 2\n');
  await settle();
  const tree = new Tree(new FakeRuntime(16));
  const first = await indexFolders(tree, [root]);
  assert.equal(first.added, 2);
  // Nothing changed: both kept by their stat alone, neither read.
  const idle = await indexFolders(tree, [root]);
  assert.deepEqual([idle.unchanged, idle.updated, idle.contentChecked], [2, 0, 0]);

  const before = statSync(a);
  sedThenTouchR(a);
  const after = statSync(a);
  assert.equal(after.mtimeMs, before.mtimeMs, 'touch -r restored the mtime');
  assert.equal(after.size, before.size);
  assert.equal(readFileSync(a, 'utf8'), NEW);

  const s = await indexFolders(tree, [root]);
  assert.equal(s.updated, 1, `expected 1 changed, got ${JSON.stringify({ updated: s.updated, unchanged: s.unchanged })}`);
  assert.equal(s.unchanged, 1);
  assert.equal(s.contentChecked, 1, 'only the file whose ctime/inode moved was read');
  assert.equal(tree.documents.get(a)!.text, NEW);
});

test('an in-place rewrite (same inode, same size) with the mtime set back is seen too', { timeout: 30_000 }, async () => {
  const root = await workspace();
  const a = path.join(root, 'a.py');
  writeFileSync(a, OLD);
  const { mtimeMs, ino } = statSync(a);
  assert.equal(spawnSync('cp', ['-p', a, `${a}.ref`]).status, 0); // keeps the time to the nanosecond
  await settle();
  const tree = new Tree(new FakeRuntime(16));
  await indexFolders(tree, [root]);
  writeFileSync(a, NEW); // truncates and writes the same inode
  assert.equal(spawnSync('touch', ['-r', `${a}.ref`, a]).status, 0);
  await fsp.rm(`${a}.ref`);
  assert.equal(statSync(a).ino, ino);
  assert.equal(statSync(a).mtimeMs, mtimeMs);
  const s = await indexFolders(tree, [root]);
  assert.equal(s.updated, 1);
  assert.equal(tree.documents.get(a)!.text, NEW);
  // A touch alone (new times, same text) is read once, found equal, and keeps its document and gists.
  await fsp.utimes(a, new Date(), new Date(Date.now() - 3_600_000));
  const runtime = tree.runtime as FakeRuntime;
  const calls = runtime.calls.blocks;
  const touched = await indexFolders(tree, [root]);
  assert.deepEqual([touched.unchanged, touched.updated, touched.contentChecked], [1, 0, 1]);
  assert.equal(runtime.calls.blocks, calls, 'no block gisted again');
});

test('racy records: a file indexed within the timestamp tick of its last change is compared by content next time', { timeout: 30_000 }, async () => {
  const root = await workspace();
  const a = path.join(root, 'a.py');
  writeFileSync(a, OLD);
  const tree = new Tree(new FakeRuntime(16));
  await indexFolders(tree, [root]); // at once: racy
  assert.equal(tree.documents.get(a)!.fileStat?.racy, true);
  const again = await indexFolders(tree, [root]);
  assert.equal(again.contentChecked, 1, 'a racy record is never trusted');
  assert.equal(again.unchanged, 1);
  await settle();
  await indexFolders(tree, [root]); // read once more, now long after its last change: no longer racy
  assert.equal(tree.documents.get(a)!.fileStat?.racy, false);
  assert.equal((await indexFolders(tree, [root])).contentChecked, 0);

  // The rule itself: all four fields equal and not racy, else read.
  const v = { size: 10, mtimeMs: 1_000_000, ctimeMs: 1_000_000, ino: 7 };
  const rec = fileStat(v, 1_000_000 + RACY_MS + 1);
  assert.equal(rec.racy, false);
  assert.equal(statUnchanged(rec, v), true);
  assert.equal(statUnchanged(undefined, v), false);
  for (const k of ['size', 'mtimeMs', 'ctimeMs', 'ino'] as const) assert.equal(statUnchanged(rec, { ...v, [k]: v[k] + 1 }), false, k);
  assert.equal(fileStat(v, 1_000_000 + 500).racy, true, 'read half a second after the change');
  assert.equal(fileStat({ ...v, ctimeMs: 1_000_000 + RACY_MS }, 1_000_000 + RACY_MS + 1).racy, true, 'a recent ctime makes it racy too');
  assert.equal(statUnchanged(fileStat(v, 1_000_000 + 500), v), false);
});

test('the record persists in the store: after a restart unchanged files are not read, an mtime-restoring edit is seen', { timeout: 30_000 }, async () => {
  const root = await workspace();
  const store = await fsp.mkdtemp(path.join(os.tmpdir(), 'mgc-stale-store-'));
  const a = path.join(root, 'a.py');
  writeFileSync(a, OLD);
  for (let i = 0; i < 5; i++) writeFileSync(path.join(root, `m${i}.py`), `v${i} = ${i}\n`);
  await settle();
  const runtime = new FakeRuntime(16);
  const t1 = (await openTree(runtime, store)).tree;
  await indexFolders(t1, [root]);
  await saveTree(t1, store);
  const raw = await readStore(store, storeHeader(runtime));
  assert.equal(raw.status, 'ok');
  if (raw.status !== 'ok') return;
  const stA = raw.docs.find((d) => d.id === a)!.stat!;
  const disk = statSync(a);
  assert.deepEqual(stA, { size: disk.size, mtimeMs: disk.mtimeMs, ctimeMs: disk.ctimeMs, ino: disk.ino, racy: false });

  const t2 = (await openTree(runtime, store)).tree;
  assert.equal((await indexFolders(t2, [root])).contentChecked, 0, 'a warm start reads no unchanged file');
  sedThenTouchR(a);
  const t3 = (await openTree(runtime, store)).tree;
  const s = await indexFolders(t3, [root]);
  assert.deepEqual([s.updated, s.unchanged, s.contentChecked], [1, 5, 1]);
  assert.equal(t3.documents.get(a)!.text, NEW);

  // A store written without records (an older build) loads; each file is compared by content once,
  // found equal, and keeps its gists.
  await writeStore(store, storeHeader(runtime), raw.docs.map(({ stat: _s, ...d }) => d));
  const old = await readStore(store, storeHeader(runtime));
  assert.ok(old.status === 'ok' && old.docs.every((d) => d.stat === undefined));
  const fresh = new FakeRuntime(16);
  const t4 = (await openTree(fresh, store)).tree;
  const s4 = await indexFolders(t4, [root]);
  assert.deepEqual([s4.contentChecked, s4.updated, s4.unchanged], [6, 1, 5]);
  assert.equal(t4.documents.get(a)!.text, NEW);
  assert.equal(fresh.calls.blocks, 1, 'only the edited file was gisted');
});

test('before text is shown exact: recently shown files are compared by content, whatever their stat says', { timeout: 30_000 }, async () => {
  const root = await workspace();
  const a = path.join(root, 'a.py');
  writeFileSync(a, OLD);
  writeFileSync(path.join(root, 'b.py'), 'x = 1\n');
  await settle();
  const memory = await Memory.open({ runtime: new FakeRuntime(16) });
  await memory.update({ roots: [root], changed: [{ path: a }], deleted: [] }); // unknown: walks
  assert.ok(memory.tree.documents.has(a));
  memory.noteRecentFiles([a, path.join(root, 'nope.py')]);
  sedThenTouchR(a);
  const r = await memory.verifyFiles();
  assert.deepEqual(r.changed, [a]);
  assert.equal(r.checked, 1);
  assert.equal(memory.tree.documents.get(a)!.text, NEW);
  // A file gone since is removed, with its reason.
  await fsp.rm(a);
  const gone = await refreshFiles(memory.tree, [a, path.join(root, 'b.py')]);
  assert.deepEqual(gone.removed.map((x) => [x.path, x.reason]), [[a, 'vanished']]);
  assert.equal(gone.checked, 2);
  assert.ok(!memory.tree.documents.has(a));
});

test("an editor's unsaved text leaves no disk record: the next index compares the file by content", { timeout: 30_000 }, async () => {
  const root = await workspace();
  const a = path.join(root, 'a.py');
  writeFileSync(a, OLD);
  await settle();
  const memory = await Memory.open({ runtime: new FakeRuntime(16) });
  await indexFolders(memory.tree, [root]);
  await memory.update({ roots: [root], changed: [{ path: a, text: NEW }], deleted: [] });
  assert.equal(memory.tree.documents.get(a)!.text, NEW);
  assert.equal(memory.tree.documents.get(a)!.fileStat, undefined);
  // The edit was discarded in the editor: the disk still holds OLD with its old stat.
  const s = await indexFolders(memory.tree, [root]);
  assert.equal(s.updated, 1);
  assert.equal(memory.tree.documents.get(a)!.text, OLD);
});

function capture(): Writable & { text: () => string } {
  const chunks: string[] = [];
  const w = new Writable({ write(c, _e, cb) { chunks.push(String(c)); cb(); } }) as Writable & { text: () => string };
  w.text = () => chunks.join('');
  return w;
}

test('CLI: index, sed -i + touch -r, index again says "1 changed" and focus shows the new line', { timeout: 60_000 }, async () => {
  const root = await workspace();
  const store = await fsp.mkdtemp(path.join(os.tmpdir(), 'mgc-stale-cli-'));
  const a = path.join(root, 'a.py');
  writeFileSync(a, OLD);
  writeFileSync(path.join(root, 'b.py'), 'def beta():\n    return 2\n');
  await settle();
  const run = async (argv: string[]) => {
    const out = capture();
    const err = capture();
    const code = await main([...argv, '--store', store, '--models', path.join(root, 'no-models')], out, err);
    return { code, out: out.text(), err: err.text() };
  };
  assert.match((await run(['index', root])).out, /\(2 new, 0 changed, 0 unchanged/);
  sedThenTouchR(a);
  const r = await run(['index', root]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /\(0 new, 1 changed, 1 unchanged, 0 removed\)/);
  const f = await run(['focus', root, '--query', 'new_marker alpha', '--budget', '600']);
  assert.equal(f.code, 0, f.err);
  assert.ok(f.out.includes('return "new_marker"'), f.out);
  assert.ok(!f.out.includes('old_marker'), f.out);
});
