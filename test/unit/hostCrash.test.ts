// Engine crash and restart (issue #7, Reliability), in plain Node with EngineClient and the real host
// (dist/host.js, real models): a SIGKILL mid-request and between requests. The in-flight request fails
// with 'hostExited', onCrash fires once per crash, the next request starts a fresh host that succeeds,
// and memory flushed to the store survives. (test/vscode/suite/memory.test.ts covers the same inside VS Code.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EngineClient, EngineRequestError } from '../../src/extension/engineClient';
import { syntheticSource } from './support/corpus';

const HOST = path.join(__dirname, '..', '..', '..', 'dist', 'host.js');

async function workspace(files: number): Promise<string> {
  const root = await fsp.realpath(await fsp.mkdtemp(path.join(os.tmpdir(), 'mgc-crash-ws-')));
  for (let i = 0; i < files; i++) await fsp.writeFile(path.join(root, `m${i}.py`), syntheticSource(i, 40 + (i % 7) * 20));
  await fsp.writeFile(path.join(root, 'refunds.py'), 'def refund_window_okapi(order):\n    return order.days <= 30\n');
  return root;
}

interface Harness { client: EngineClient; crashes: string[]; store: string }

async function harness(): Promise<Harness> {
  const store = await fsp.mkdtemp(path.join(os.tmpdir(), 'mgc-crash-store-'));
  const crashes: string[] = [];
  const client = new EngineClient({ hostPath: HOST, env: { MEGACONTEXT_STORE_DIR: store }, onCrash: (r) => crashes.push(r) });
  return { client, crashes, store };
}

async function until(what: string, check: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function isHostExited(err: unknown): boolean {
  return err instanceof EngineRequestError && err.code === 'hostExited' && /exited unexpectedly \(SIGKILL\)/.test(err.message);
}

test('a SIGKILL mid-request fails every in-flight request with hostExited, onCrash fires once, the next request gets a fresh host', { timeout: 120_000 }, async () => {
  const root = await workspace(150);
  const { client, crashes } = await harness();
  try {
    await client.request('status', {}); // the host is up and the models are loaded
    const first = client.pid!;
    let killedAt: number | undefined;
    const indexing = client.request('index', { roots: [root] }, {
      onEvent: (p) => {
        if (killedAt === undefined && p.documents > 0 && p.documents < p.totalDocuments) {
          killedAt = p.documents;
          process.kill(first, 'SIGKILL');
        }
      },
    });
    const alongside = client.request('status', {}, {}).catch((e: unknown) => e); // may finish before the kill
    await assert.rejects(indexing, isHostExited);
    assert.ok(killedAt !== undefined, 'the host was killed while indexing');
    const other = await alongside;
    assert.ok(!(other instanceof Error) || isHostExited(other), `a request beside it failed otherwise: ${String(other)}`);
    await until('onCrash', () => crashes.length > 0);
    await new Promise((r) => setTimeout(r, 100)); // a second report would come now
    assert.equal(crashes.length, 1, `onCrash fired ${crashes.length} times`);
    assert.match(crashes[0], /SIGKILL/);
    assert.equal(client.pid, undefined, 'no host runs after the crash');

    // The next request starts a fresh host, which indexes the whole workspace (nothing was flushed).
    const r = await client.request('index', { roots: [root] });
    assert.notEqual(client.pid, first);
    assert.equal(r.files, 151);
    const f = await client.request('focus', { query: 'refund_window_okapi', budget: 3000 });
    assert.ok(f.entries.some((e) => e.path.endsWith('refunds.py') && e.lod === 0), 'the new host answers correctly');
    assert.equal(crashes.length, 1);
    console.log(`host crash mid-index (after ${killedAt} of 151 documents): request failed with hostExited, onCrash once, restarted as pid ${client.pid}`);
  } finally {
    client.dispose();
  }
});

test('a SIGKILL between requests: memory flushed to the store survives, once per crash, twice in a row', { timeout: 120_000 }, async () => {
  const root = await workspace(40);
  const { client, crashes } = await harness();
  try {
    const indexed = await client.request('index', { roots: [root] });
    await client.request('remember', { note: 'The okapi_refund_note says refunds over 500 EUR need a manager.' });
    await client.request('flush', {});
    const before = await client.request('status', {});
    assert.ok(before.tokens > 0 && before.files === indexed.files && before.notesDocuments === 1);
    for (let crash = 1; crash <= 2; crash++) {
      const pid = client.pid!;
      process.kill(pid, 'SIGKILL');
      await until(`crash ${crash} to be noticed`, () => crashes.length === crash);
      assert.equal(client.pid, undefined);
      const after = await client.request('status', {});
      assert.notEqual(client.pid, pid, 'a fresh host');
      assert.equal(after.store, `loaded ${before.documents} documents`, 'the memory came back from the store');
      assert.equal(after.tokens, before.tokens);
      assert.equal(after.files, before.files);
      assert.equal(after.notesDocuments, 1);
      assert.equal(after.blocksGisted, 0, 'nothing was recomputed: the gists came from the store');
      const f = await client.request('focus', { query: 'okapi_refund_note manager', budget: 3000 });
      assert.ok(f.entries.some((e) => e.path === 'notes:memory' && e.lod === 0), 'the note is in the restored memory');
    }
    assert.equal(crashes.length, 2, 'onCrash fired once per crash');
    // Expected exits are not crashes: a restart and a dispose do not report one.
    client.restart();
    await client.request('status', {});
    client.dispose();
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(crashes.length, 2);
    await assert.rejects(client.request('status', {}), (e: unknown) => e instanceof EngineRequestError && e.code === 'disposed');
    console.log(`host killed twice between requests: ${before.documents} documents, ${before.tokens} tokens reloaded from the store each time`);
  } finally {
    client.dispose();
  }
});
