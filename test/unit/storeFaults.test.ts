// Fault injection on the persistent store (issue #7, Reliability): a writer process SIGKILLed at random
// moments mid-write, and stores truncated or bit-flipped at seeded random offsets. Opening the store must
// give the last complete tree exactly, or a store detected as damaged and rebuilt with a one-line reason:
// never a misread, never a throw. Leftover temporaries must neither break an open nor pile up.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fork, spawnSync } from 'node:child_process';
import { existsSync, promises as fsp, watch } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openTree, saveTree } from '../../src/core/indexer';
import { readStore, STORE_FILE, writeStore } from '../../src/core/store';
import { tokenize } from '../../src/core/tokenizer';
import { Tree } from '../../src/core/tree';
import { syntheticSource } from './support/corpus';
import { FakeRuntime } from './support/fakeRuntime';
import { fingerprint, type StoreFingerprint } from './support/storeFingerprint';
import { generationDocs, WRITER_HEADER } from './support/storeWriterChild';

const WRITER = path.join(__dirname, 'support', 'storeWriterChild.js');
const DOCS = 16;
const TOKENS_PER_DOC = 40_000;

function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return s / 2 ** 32;
  };
}

async function tempDir(prefix: string): Promise<string> {
  return fsp.mkdtemp(path.join(os.tmpdir(), prefix));
}

async function temps(dir: string): Promise<string[]> {
  return (await fsp.readdir(dir)).filter((n) => n.startsWith(`${STORE_FILE}.tmp-`));
}

function treeFingerprint(tree: Tree): StoreFingerprint {
  return fingerprint([...tree.documents.values()].map((d) => d.toStored()));
}

type WriterMessage = { kind: 'writing'; gen: number; fp: StoreFingerprint } | { kind: 'written'; gen: number; ms: number };

test('a writer SIGKILLed at random moments mid-write leaves the last complete tree, exactly, and no pile of temporaries', async () => {
  const dir = await tempDir('mgc-kill-');
  const rand = rng(20261128);
  const fps = new Map<number, StoreFingerprint>();
  const durations: number[] = [];
  const tempLife: number[] = [];
  let complete: number | undefined; // the generation the store holds
  let nextGen = 1;
  let killedWithTemp = 0;
  const kills = 16;
  const t0 = performance.now();
  const pool = tokenize(syntheticSource(77, 3000));
  const poolFile = path.join(await tempDir('mgc-pool-'), 'tokens.u32');
  await fsp.writeFile(poolFile, new Uint8Array(pool.buffer, pool.byteOffset, pool.byteLength));
  for (let k = 0; k < kills; k++) {
    const child = fork(WRITER, [dir, String(nextGen), String(DOCS), String(TOKENS_PER_DOC), poolFile], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    let stderr = '';
    child.stderr!.on('data', (c: Buffer) => { stderr += c.toString(); });
    let writing: number | undefined;
    let acked: number | undefined;
    // Kill during the first or the second write of this writer: on even rounds at a random moment of the
    // whole write call (encoding included), on odd rounds at a random moment after its temporary file
    // appears (seen through fs.watch), while bytes go to disk.
    const target = nextGen + Math.floor(rand() * 2);
    const onTemp = k % 2 === 1;
    const estimate = durations.length > 0 ? durations.reduce((a, b) => a + b, 0) / durations.length : 200;
    const window = tempLife.length > 0 ? tempLife.reduce((a, b) => a + b, 0) / tempLife.length : 5;
    const delay = rand() * (onTemp ? window : estimate * 1.1);
    let armed = false;
    const kill = () => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL'); };
    const seen = new Map<string, number>();
    const watcher = watch(dir, (_event, name) => {
      if (!name || !String(name).startsWith(`${STORE_FILE}.tmp-${child.pid}-`)) return;
      const n = String(name);
      const born = seen.get(n);
      if (born === undefined) {
        seen.set(n, performance.now());
        if (armed) { armed = false; setTimeout(kill, delay); }
      } else if (!existsSync(path.join(dir, n))) {
        tempLife.push(performance.now() - born);
      }
    });
    const done = Promise.all([
      new Promise<void>((resolve) => child.on('exit', () => resolve())),
      new Promise<void>((resolve) => child.on('disconnect', () => resolve())),
    ]);
    child.on('message', (m: WriterMessage) => {
      if (m.kind === 'writing') {
        fps.set(m.gen, m.fp);
        writing = m.gen;
        if (m.gen === target) {
          if (onTemp) armed = true;
          else setTimeout(kill, delay);
        }
      } else {
        acked = m.gen;
        durations.push(m.ms);
        // A target write whose temporary went unseen leaves `armed` set: the next write's is hit.
      }
    });
    // A safety net: a writer never hit is killed after a few writes anyway (counted as not mid-write).
    const net = setTimeout(kill, 5000);
    await done;
    clearTimeout(net);
    watcher.close();
    assert.equal(child.signalCode, 'SIGKILL', `writer ${k} ended by itself: ${stderr}`);
    const leftovers = await temps(dir);
    if (leftovers.length > 0) killedWithTemp++;
    // Each write sweeps the temporaries of dead writers first: at most the killed writer's own is left.
    assert.ok(leftovers.length <= 1, `temporaries pile up: ${leftovers.join(', ')}`);

    // The store is the last generation renamed into place: the last acknowledged one, or the one in
    // progress when the kill came after its rename but before its acknowledgement.
    const candidates = [acked ?? complete, writing].filter((g): g is number => g !== undefined);
    const res = await readStore(dir, WRITER_HEADER);
    if (res.status === 'missing') {
      assert.equal(complete, undefined, `kill ${k}: the store vanished after generation ${complete} was complete`);
      assert.equal(acked, undefined, `kill ${k}: generation ${acked} was acknowledged but there is no store`);
    } else {
      assert.equal(res.status, 'ok', `kill ${k}: ${res.status === 'rebuild' ? res.reason : ''}`);
      if (res.status !== 'ok') return;
      const got = fingerprint(res.docs);
      const match = candidates.find((g) => fps.get(g)!.hash === got.hash);
      assert.ok(match !== undefined, `kill ${k}: the store matches none of generations ${candidates.join(', ')}`);
      const want = fps.get(match)!;
      assert.deepEqual(got.ids, want.ids);
      assert.deepEqual(got.tokenCounts, want.tokenCounts);
      complete = match;
      if (k % 4 === 3) {
        // Through the indexer's open, as the engine does: same documents, tokens and gists.
        const opened = await openTree(new FakeRuntime(16), dir);
        assert.equal(opened.store, `loaded ${want.ids.length} documents`);
        assert.deepEqual(treeFingerprint(opened.tree), want);
      }
    }
    nextGen = Math.max(nextGen, writing ?? nextGen) + 1;
  }
  const storeBytes = (await fsp.stat(path.join(dir, STORE_FILE))).size;
  // A clean write by a live process sweeps what the last killed writer left.
  const last = generationDocs(nextGen, DOCS, 2000, pool);
  await writeStore(dir, WRITER_HEADER, last);
  assert.deepEqual(await temps(dir), []);
  const res = await readStore(dir, WRITER_HEADER);
  assert.ok(res.status === 'ok' && fingerprint(res.docs).hash === fingerprint(last).hash);
  const meanWrite = durations.reduce((a, b) => a + b, 0) / Math.max(1, durations.length);
  const meanTemp = tempLife.reduce((a, b) => a + b, 0) / Math.max(1, tempLife.length);
  console.log(`store kill test: ${kills} kills, ${killedWithTemp} left a half-written temporary (killed mid-write), ` +
    `mean write ${meanWrite.toFixed(0)} ms (its temporary on disk ${meanTemp.toFixed(0)} ms) of a ${(storeBytes / 1e6).toFixed(1)} MB store, ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  // The kills are aimed inside writes; if none landed there the test did not test what it says.
  assert.ok(killedWithTemp >= kills / 4, `only ${killedWithTemp} of ${kills} kills landed inside a write`);
});

/** A real tree (FakeRuntime gists): files, an empty file and a chat transcript still being appended. */
async function realTree(): Promise<{ tree: Tree; inputs: Parameters<Tree['ingest']>[0] }> {
  const tree = new Tree(new FakeRuntime(16));
  const inputs = [
    { id: '/ws/a.py', text: syntheticSource(1, 700), mtimeMs: 1 },
    { id: '/ws/b.py', text: syntheticSource(2, 90), mtimeMs: 2 },
    { id: '/ws/empty.txt', text: '', mtimeMs: 3 },
    { id: 'chat:s1', kind: 'chat' as const, appending: true, text: syntheticSource(3, 60), mtimeMs: 4 },
  ];
  await tree.ingest(inputs);
  return { tree, inputs };
}

test('truncated and bit-flipped stores (seeded, 200 cases each) are all detected through openTree, never misread', async () => {
  const dir = await tempDir('mgc-flip-');
  const { tree, inputs } = await realTree();
  const want = treeFingerprint(tree);
  const { path: file, bytes } = await saveTree(tree, dir);
  const full = await fsp.readFile(file);
  assert.equal(full.length, bytes);
  const rand = rng(7);
  const reasons = new Map<string, number>();
  const expectRebuilt = async (what: string): Promise<void> => {
    const opened = await openTree(new FakeRuntime(16), dir); // a throw here fails the test
    const m = /^rebuilt \((.+)\)$/.exec(opened.store);
    assert.ok(m, `${what}: opened as "${opened.store}"`);
    assert.ok(!m[1].includes('\n') && m[1].length < 200, `${what}: reason is not one short line: ${m[1]}`);
    assert.equal(opened.tree.documents.size, 0, `${what}: a damaged store must not yield documents`);
    const kind = m[1].replace(/\d+/g, 'N');
    reasons.set(kind, (reasons.get(kind) ?? 0) + 1);
  };

  // Truncation at 200 seeded offsets, the first bytes and the last byte included.
  const cuts = new Set<number>([0, 1, 15, 16, bytes - 1]);
  while (cuts.size < 200) cuts.add(Math.floor(rand() * bytes));
  for (const cut of cuts) {
    await fsp.writeFile(file, full.subarray(0, cut));
    await expectRebuilt(`cut at ${cut} of ${bytes}`);
  }
  // 200 cases of one to four flipped bits at seeded offsets (a quarter of them inside the header).
  const headerEnd = 16 + full.readUInt32LE(8);
  for (let c = 0; c < 200; c++) {
    const b = Buffer.from(full);
    const flips = 1 + Math.floor(rand() * 4);
    const where: number[] = [];
    for (let f = 0; f < flips; f++) {
      const at = c % 4 === 0 ? Math.floor(rand() * headerEnd) : Math.floor(rand() * bytes);
      const bit = Math.floor(rand() * 8);
      b[at] ^= 1 << bit;
      where.push(at * 8 + bit);
    }
    if (b.equals(full)) continue; // two flips of the same bit cancel out
    await fsp.writeFile(file, b);
    await expectRebuilt(`bits ${where.join(',')} flipped`);
  }
  // Torn sectors: a 512-byte range zeroed. Either nothing changed (it was padding) or it is detected.
  for (let c = 0; c < 40; c++) {
    const b = Buffer.from(full);
    const at = Math.floor(rand() * bytes);
    b.fill(0, at, Math.min(bytes, at + 512));
    await fsp.writeFile(file, b);
    if (b.equals(full)) {
      const opened = await openTree(new FakeRuntime(16), dir);
      assert.deepEqual(treeFingerprint(opened.tree), want);
    } else {
      await expectRebuilt(`512 bytes zeroed at ${at}`);
    }
  }
  console.log(`store damage detected by: ${[...reasons].map(([r, n]) => `${n}× ${r}`).join('; ')}`);

  // Discarded and rebuilt: index again into the empty tree, save, and the next open loads it exactly.
  const { tree: fresh } = await openTree(new FakeRuntime(16), dir);
  await fresh.ingest(inputs);
  await saveTree(fresh, dir);
  const reopened = await openTree(new FakeRuntime(16), dir);
  assert.equal(reopened.store, `loaded ${inputs.length} documents`);
  assert.deepEqual(treeFingerprint(reopened.tree), want);
  for (const i of inputs) assert.equal(reopened.tree.documents.get(i.id)!.text, i.text, `${i.id} text after reload`);
});

test('leftover temporaries never break an open; dead, old and reused-pid ones are swept by the next write', async () => {
  const dir = await tempDir('mgc-tmp-');
  const { tree } = await realTree();
  await saveTree(tree, dir);
  const want = treeFingerprint(tree);
  // What a killed writer leaves: half a store under a temporary name, plus junk of the same pattern.
  const full = await fsp.readFile(path.join(dir, STORE_FILE));
  const deadPid = spawnSync(process.execPath, ['-e', '0']).pid;
  const dead = path.join(dir, `${STORE_FILE}.tmp-${deadPid}-0a0b0c`);
  const ours = path.join(dir, `${STORE_FILE}.tmp-${process.pid}-0d0e0f`); // e.g. a reused pid
  const oldLive = path.join(dir, `${STORE_FILE}.tmp-1-111111`); // pid 1 always runs
  const freshLive = path.join(dir, `${STORE_FILE}.tmp-1-222222`);
  await fsp.writeFile(dead, full.subarray(0, full.length >> 1));
  await fsp.writeFile(ours, full.subarray(0, 100));
  await fsp.writeFile(oldLive, 'partial');
  await fsp.writeFile(freshLive, 'partial');
  const anHourAgo = new Date(Date.now() - 3_600_000);
  await fsp.utimes(oldLive, anHourAgo, anHourAgo);
  await fsp.utimes(ours, anHourAgo, anHourAgo);

  const opened = await openTree(new FakeRuntime(16), dir);
  assert.equal(opened.store, 'loaded 4 documents');
  assert.deepEqual(treeFingerprint(opened.tree), want);

  await saveTree(opened.tree, dir);
  assert.deepEqual((await temps(dir)).sort(), [path.basename(freshLive)], 'only a recent temporary of a running pid may be a write in progress');
  const again = await openTree(new FakeRuntime(16), dir);
  assert.deepEqual(treeFingerprint(again.tree), want);
});
