// The one engine (src/engine/memory.ts) that the engine host, the CLI and the MCP server all run: opened
// from a store folder, indexed, focused, expanded (only what it holds), appended to, reported on, and
// reopened from what it wrote.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp, mkdirSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Memory, MemoryRequestError, NOTES_ID } from '../../src/engine/memory';
import { hasOutline, outline } from '../../src/core/outline';
import { isWarm } from '../../src/core/structure';
import { STORE_FILE } from '../../src/core/store';
import { FakeRuntime } from './support/fakeRuntime';

/** A token of GitHub's format, built here so the source holds no literal secret. */
const TOKEN = 'ghp_' + 'a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8';

async function tempDir(prefix: string): Promise<string> {
  return fsp.realpath(await fsp.mkdtemp(path.join(os.tmpdir(), prefix)));
}

/** A small workspace: two sources, a file with a token in it, a secret file and a gitignored one. */
async function workspace(): Promise<string> {
  const root = await tempDir('mgc-memory-');
  mkdirSync(path.join(root, 'src'));
  writeFileSync(path.join(root, 'src', 'orders.py'), 'def ship_order(order):\n    return "zebra_needle"\n\ndef cancel(order):\n    return None\n');
  writeFileSync(path.join(root, 'src', 'util.py'), 'def helper():\n    return 1\n');
  writeFileSync(path.join(root, 'config.py'), `GITHUB_TOKEN = "${TOKEN}"\nREGION = "eu"\n`);
  writeFileSync(path.join(root, '.env'), 'PASSWORD=hunter2\n');
  writeFileSync(path.join(root, '.gitignore'), 'ignored.py\n');
  writeFileSync(path.join(root, 'ignored.py'), 'def hidden():\n    pass\n');
  return root;
}

test('open without a store, index, focus: the FocusResult, its view and its report agree', async () => {
  const root = await workspace();
  const memory = await Memory.open({ runtime: new FakeRuntime(16) });
  assert.equal(memory.store, 'none');
  assert.equal(memory.storeDir, undefined);
  const progress: number[] = [];
  const r = await memory.index({ roots: [root] }, undefined, (p) => progress.push(p.documents));
  assert.equal(r.files, 4, JSON.stringify(r)); // src/orders.py, src/util.py, config.py, .gitignore
  assert.equal(r.added, 4);
  assert.ok(r.skipped.some((s) => s.path === path.join(root, '.env') && s.reason === 'secret'), JSON.stringify(r.skipped));
  assert.ok(r.skipped.some((s) => s.path === path.join(root, 'ignored.py') && s.reason === 'gitignored'), JSON.stringify(r.skipped));
  assert.deepEqual(r.redacted, [path.join(root, 'config.py')]);
  assert.ok(progress.length > 0 && progress[progress.length - 1] === 4, String(progress));
  assert.deepEqual(memory.roots, [root]);
  assert.ok(!memory.tree.documents.get(path.join(root, 'config.py'))!.text.includes(TOKEN), 'the token is redacted before tokenization');

  const result = await memory.focus({ query: 'ship_order zebra_needle', budget: 600 });
  assert.equal(result.budget, 600);
  assert.ok(result.tokens <= 600);
  assert.match(result.prompt, /return "zebra_needle"/);
  const exact = result.entries.filter((e) => e.lod === 0);
  assert.ok(exact.some((e) => e.path === path.join(root, 'src', 'orders.py') && e.display === 'src/orders.py'), JSON.stringify(exact));
  assert.equal(result.scorer, 'lexical');
  assert.match(result.report, /^\*\*Focus for\*\* “ship\\_order zebra\\_needle”/);
  assert.equal(result.snapshot.documents.length, result.documents);
  const view = await memory.focusView({ query: 'ship_order zebra_needle', budget: 600 });
  assert.equal(view.wc.rendered.prompt, result.prompt);
  assert.equal(view.perDoc.flat().length, result.entries.length);
});

test('expand reads only what the memory holds, and says why not in one line', async () => {
  const root = await workspace();
  const memory = await Memory.open({ runtime: new FakeRuntime(16) });
  await memory.index({ roots: [root] });
  const orders = path.join(root, 'src', 'orders.py');
  assert.deepEqual(memory.expand(orders, 2, 2), { path: orders, startLine: 2, endLine: 2, text: '    return "zebra_needle"\n', totalLines: 6 });
  // Past the end: cut to the document's last line (the empty one after the final newline).
  assert.deepEqual(memory.expand(orders, 4, 99), { path: orders, startLine: 4, endLine: 6, text: 'def cancel(order):\n    return None\n', totalLines: 6 });
  // A file that exists but was never indexed (gitignored, secret, outside the roots) is not read.
  for (const p of [path.join(root, 'ignored.py'), path.join(root, '.env'), '/etc/passwd', path.join(root, 'src', '..', '.env')]) {
    assert.throws(() => memory.expand(p, 1, 1), (e: unknown) => e instanceof MemoryRequestError && /is not in MegaContext's memory/.test(e.message) && !e.message.includes('\n'), p);
  }
  assert.throws(() => memory.expand(orders, 0, 1), /startLine and endLine must be integers with 1 ≤ startLine ≤ endLine/);
  assert.throws(() => memory.expand(orders, 3, 2), MemoryRequestError);
  assert.throws(() => memory.expand(orders, 9, 9), (e: unknown) => e instanceof MemoryRequestError && e.message === 'src/orders.py has 6 lines; startLine 9 is past its end');
  // The token in config.py comes back redacted.
  assert.ok(!memory.expand(path.join(root, 'config.py'), 1, 2).text.includes(TOKEN));
});

test('append, remember, clearChat and status; a store is written, reopened and nothing is gisted again', { timeout: 30_000 }, async () => {
  const root = await workspace();
  const store = await tempDir('mgc-memory-store-');
  const first = new FakeRuntime(16);
  const memory = await Memory.open({ runtime: first, storeDir: store });
  assert.equal(memory.store, 'new');
  const indexed = await memory.index({ roots: [root] });
  // A finished index is written at once.
  assert.ok(statSync(path.join(store, STORE_FILE)).size > 0);
  const chat = await memory.appendChat('s1', `user: my token is ${TOKEN}\n`);
  assert.equal(chat.docId, 'chat:s1');
  assert.ok(chat.tokens > 0);
  assert.ok(!memory.tree.documents.get('chat:s1')!.text.includes(TOKEN), 'secrets in chat are redacted');
  const note = await memory.remember('the build uses esbuild\nnot webpack');
  assert.equal(note.docId, NOTES_ID);
  assert.equal(memory.tree.documents.get(NOTES_ID)!.text, '- the build uses esbuild\n  not webpack\n');
  assert.ok(memory.savePending, 'changes are written shortly after, not at once');
  const status = await memory.status();
  assert.deepEqual(
    [status.documents, status.files, status.chatDocuments, status.notesDocuments, status.storeDir, status.store, status.degraded, status.modelId],
    [6, 4, 1, 1, store, 'new', false, 'fake-model'],
  );
  assert.equal(status.tokens, memory.tree.totalTokens());
  const bytes = await memory.flush();
  assert.ok(bytes > 0);
  assert.ok(!memory.savePending);
  assert.equal((await memory.status()).storeBytes, statSync(path.join(store, STORE_FILE)).size);
  assert.deepEqual(await memory.clearChat(), { removed: 1 });
  assert.equal((await memory.status()).chatDocuments, 0);
  await memory.close();
  assert.ok(!memory.savePending, 'close writes what was pending');

  // Reopened from the store: the notes are back and an index finds every file unchanged.
  const second = new FakeRuntime(16);
  const again = await Memory.open({ runtime: second, storeDir: store });
  assert.equal(again.store, 'loaded 5 documents');
  assert.equal(again.tree.documents.get(NOTES_ID)!.text, '- the build uses esbuild\n  not webpack\n');
  assert.ok(!again.tree.documents.has('chat:s1'));
  const r = await again.index({ roots: [root] });
  assert.deepEqual([r.files, r.added, r.updated, r.removed, r.unchanged], [indexed.files, 0, 0, 0, indexed.files]);
  assert.equal(second.calls.blocks, 0, 'no block was gisted again');
  assert.match((await again.focus({ query: 'zebra_needle', budget: 600 })).prompt, /zebra_needle/);
});

test('update: a known file is re-read, an unknown one walks the roots, a deleted one leaves', { timeout: 30_000 }, async () => {
  const root = await workspace();
  const memory = await Memory.open({ runtime: new FakeRuntime(16) });
  await memory.index({ roots: [root] });
  const util = path.join(root, 'src', 'util.py');
  writeFileSync(util, 'def helper():\n    return "walrus_marker"\n');
  let r = await memory.update({ roots: [root], changed: [{ path: util }], deleted: [] });
  assert.deepEqual([r.updated, r.removed, r.rewalked], [1, 0, false]);
  assert.match(memory.tree.documents.get(util)!.text, /walrus_marker/);
  const added = path.join(root, 'src', 'new.py');
  writeFileSync(added, 'x = 1\n');
  await fsp.rm(util);
  r = await memory.update({ roots: [root], changed: [{ path: added }], deleted: [util] });
  assert.deepEqual([r.updated, r.removed, r.rewalked], [1, 1, true]);
  assert.ok(memory.tree.documents.has(added));
  assert.ok(!memory.tree.documents.has(util));
  // An open editor's unsaved text is taken as sent, its secrets redacted first.
  r = await memory.update({ roots: [root], changed: [{ path: added, text: `TOKEN = "${TOKEN}"\n` }], deleted: [] });
  assert.deepEqual([r.updated, r.redacted], [1, [added]]);
  assert.ok(!memory.tree.documents.get(added)!.text.includes(TOKEN));
  assert.equal(memory.tree.documents.get(added)!.fileStat, undefined, 'an editor\'s text leaves no disk record');
});

test('paths are shown relative to their root, to each root by name, or to one display root', async () => {
  const a = await workspace();
  const b = await tempDir('mgc-memory-b-');
  writeFileSync(path.join(b, 'other.py'), 'def other():\n    return 2\n');
  const orders = path.join(a, 'src', 'orders.py');
  const one = await Memory.open({ runtime: new FakeRuntime(16) });
  await one.index({ roots: [a] });
  assert.equal(one.displayPath(one.tree.documents.get(orders)!), 'src/orders.py');
  const two = await Memory.open({ runtime: new FakeRuntime(16) });
  await two.index({ roots: [a, b] });
  assert.equal(two.displayPath(two.tree.documents.get(orders)!), `${path.basename(a)}/src/orders.py`);
  const common = await Memory.open({ runtime: new FakeRuntime(16), displayRoot: path.dirname(a) });
  await common.index({ roots: [a, b] });
  assert.equal(common.displayPath(common.tree.documents.get(orders)!), path.join(path.basename(a), 'src', 'orders.py'));
  await common.remember('a note');
  assert.equal(common.displayPath(common.tree.documents.get(NOTES_ID)!), NOTES_ID, 'memory documents keep their id');
});

test('onStale: a file changed since indexing is taken in and the focus runs again on its current text', async () => {
  const root = await workspace();
  const memory = await Memory.open({ runtime: new FakeRuntime(16) });
  await memory.index({ roots: [root] });
  const orders = path.join(root, 'src', 'orders.py');
  writeFileSync(orders, 'def ship_order(order):\n    return "zebra_needle_v2"\n');
  const heard: string[][] = [];
  const view = await memory.focusView({ query: 'ship_order zebra_needle', budget: 600 }, { onStale: (fresh) => heard.push(fresh.changed) });
  assert.deepEqual(heard, [[orders]]);
  assert.match(view.wc.rendered.prompt, /zebra_needle_v2/);
  // Nothing changed since: not heard of again.
  await memory.focusView({ query: 'ship_order zebra_needle', budget: 600 }, { onStale: (fresh) => heard.push(fresh.changed) });
  assert.equal(heard.length, 1);
});

test('an unreadable store: open fails, or with onUnreadableStore the memory runs without it and never writes it', async () => {
  const store = await tempDir('mgc-memory-bad-');
  mkdirSync(path.join(store, STORE_FILE)); // a folder where the store file should be
  await assert.rejects(Memory.open({ runtime: new FakeRuntime(16), storeDir: store }), /EISDIR/);
  const heard: string[] = [];
  const memory = await Memory.open({ runtime: new FakeRuntime(16), storeDir: store, onUnreadableStore: (m) => heard.push(m) });
  assert.equal(heard.length, 1);
  assert.match(heard[0], /EISDIR/);
  assert.equal(memory.storeDir, undefined);
  assert.equal(memory.store, 'none');
  await memory.remember('kept in memory only');
  assert.ok(!memory.savePending);
  assert.equal(await memory.flush(), 0);
  assert.ok(statSync(path.join(store, STORE_FILE)).isDirectory());
});

test('writeThrough: every change is written at once; a store written by another memory is noticed and its notes taken in', { timeout: 30_000 }, async () => {
  const root = await workspace();
  const store = await tempDir('mgc-memory-shared-');
  const errors: string[] = [];
  const options = { storeDir: store, writeThrough: true, onSaveError: (e: unknown) => errors.push(String(e)) };
  const a = await Memory.open({ runtime: new FakeRuntime(16), ...options });
  await a.index({ roots: [root] });
  await a.remember('from a');
  assert.ok(!a.savePending);
  assert.equal(await a.storeWrittenElsewhere(), false);
  const b = await Memory.open({ runtime: new FakeRuntime(16), ...options });
  assert.equal(b.tree.documents.get(NOTES_ID)!.text, '- from a\n');
  await new Promise((r) => setTimeout(r, 20)); // a later mtime for b's write
  await b.remember('from b');
  assert.equal(await a.storeWrittenElsewhere(), true);
  // a's next focus takes b's note in (and writes the merged notes).
  await a.focus({ query: 'from b', budget: 600 });
  assert.equal(a.tree.documents.get(NOTES_ID)!.text, '- from a\n- from b\n');
  assert.equal(await a.storeWrittenElsewhere(), false);
  assert.deepEqual(errors, []);
});

test('prewarm parses a restored store\'s outlines between requests; the focus is the same with or without it', { timeout: 30_000 }, async () => {
  const root = await workspace();
  const store = await tempDir('mgc-memory-prewarm-');
  const memory = await Memory.open({ runtime: new FakeRuntime(16), storeDir: store });
  await memory.index({ roots: [root] });
  await memory.close();
  const ask = { query: 'ship_order zebra_needle', budget: 600 };

  const cold = await Memory.open({ runtime: new FakeRuntime(16), storeDir: store });
  const docs = [...cold.tree.documents.values()];
  assert.ok(docs.length >= 4);
  assert.ok(docs.every((d) => !hasOutline(d)), 'a restored document is parsed on first use');
  const coldPrompt = (await cold.focus(ask)).prompt;

  const warm = await Memory.open({ runtime: new FakeRuntime(16), storeDir: store });
  const warmDocs = [...warm.tree.documents.values()];
  // One document already has its outline (as a document touched by an earlier request would) but not its
  // definition lines or sections: the prewarm still completes it.
  outline(warmDocs[0]!);
  assert.ok(hasOutline(warmDocs[0]!) && !isWarm(warmDocs[0]!));
  // A ticker on the event loop records how many documents were warm at each of its turns: the prewarm
  // yields between documents when some turn saw part of them done.
  const seen: number[] = [];
  let ticking = true;
  const tick = (): void => {
    seen.push(warmDocs.filter((d) => isWarm(d)).length);
    if (ticking) setImmediate(tick);
  };
  setImmediate(tick);
  const warmed = await warm.prewarm();
  ticking = false;
  assert.ok(seen.some((n) => n > 0 && n < warmDocs.length), `the prewarm yields between documents (warm counts seen: ${seen.join(',')})`);
  assert.equal(warmed, warm.tree.documents.size);
  assert.ok(warmDocs.every((d) => isWarm(d)));
  assert.equal(await warm.prewarm(), 0, 'nothing is warmed twice');
  assert.equal((await warm.focus(ask)).prompt, coldPrompt);

  // An aborted prewarm stops before the next document.
  const stopped = await Memory.open({ runtime: new FakeRuntime(16), storeDir: store });
  const ac = new AbortController();
  ac.abort();
  assert.equal(await stopped.prewarm(ac.signal), 0);
  assert.ok([...stopped.tree.documents.values()].every((d) => !hasOutline(d)));
});
