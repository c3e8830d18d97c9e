// Load (issue #7, Reliability), through the real engine host: 1,000 back-to-back focus requests and
// 10,000 file events in a burst. Afterwards the answers are still correct and the host's memory is flat.
// This is a memory check, not a timing one: durations are printed, never asserted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { UpdateFilesParams } from '../../src/engine/protocol';
import { EngineClient } from '../../src/extension/engineClient';
import { syntheticSource } from './support/corpus';

const HOST = path.join(__dirname, '..', '..', '..', 'dist', 'host.js');
const FOCUSES = 1000;
const EVENTS = 10_000;
const PER_CALL = 50;
const BUDGET = 1500;

/** Resident memory of a process, MB (Linux /proc). */
function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  assert.ok(m, 'VmRSS not found');
  return Number(m[1]) / 1024;
}

test('1,000 back-to-back focuses and 10,000 file events leave the host\'s memory flat and its answers correct', { timeout: 300_000, skip: process.platform !== 'linux' ? 'reads /proc' : undefined }, async () => {
  const root = await fsp.realpath(await fsp.mkdtemp(path.join(os.tmpdir(), 'mgc-load-ws-')));
  const store = await fsp.mkdtemp(path.join(os.tmpdir(), 'mgc-load-store-'));
  const file = (i: number) => path.join(root, `mod${i}.py`);
  for (let i = 0; i < 30; i++) await fsp.writeFile(file(i), syntheticSource(i, 30));
  let crashes = 0;
  const client = new EngineClient({ hostPath: HOST, env: { MEGACONTEXT_STORE_DIR: store }, onCrash: () => { crashes++; } });
  const queries = ['budget focus render', 'gist tree lens', 'parse token value', 'alpha beta count', 'delta gamma'];
  try {
    const t0 = performance.now();
    await client.request('index', { roots: [root] });
    const pid = client.pid!;
    // Warm-up: models loaded, caches and the allocator's paths exercised, a burst of events once.
    for (let i = 0; i < 50; i++) await client.request('focus', { query: queries[i % queries.length], budget: BUDGET });
    await client.request('updateFiles', { roots: [root], changed: [{ path: file(0) }], deleted: [] });
    await new Promise((r) => setTimeout(r, 200));
    const before = rssMb(pid);

    // 1,000 focus requests, one after the other, with queries and budgets that vary.
    let t = performance.now();
    let maxTokens = 0;
    let midFocus = 0;
    for (let i = 0; i < FOCUSES; i++) {
      if (i === FOCUSES / 2) midFocus = rssMb(pid);
      const budget = BUDGET + (i % 5) * 100;
      const f = await client.request('focus', { query: `${queries[i % queries.length]} ${i % 37}`, budget });
      assert.ok(f.tokens <= budget);
      maxTokens = Math.max(maxTokens, f.tokens);
    }
    const focusS = (performance.now() - t) / 1000;
    const afterFocus = rssMb(pid);

    // 10,000 file events: changes, creates and deletes of real files, sent as a burst of updateFiles
    // calls of 50 events each (as the extension's debounced watcher would), none awaited before the next.
    t = performance.now();
    let next = 30;
    const live = new Set<number>(Array.from({ length: 30 }, (_, i) => i));
    const calls: UpdateFilesParams[] = [];
    let events = 0;
    let round = 0;
    while (events < EVENTS) {
      const changed: { path: string; text?: string }[] = [];
      const deleted: string[] = [];
      for (let k = 0; k < PER_CALL; k++, events++) {
        const ids = [...live];
        const pick = ids[(round * 31 + k * 7) % ids.length];
        const kind = k % 10;
        if (kind < 6) {
          await fsp.writeFile(file(pick), `# revision ${round}.${k}\n` + syntheticSource(pick, 30));
          changed.push({ path: file(pick) });
        } else if (kind < 8) {
          const i = next++;
          await fsp.writeFile(file(i), syntheticSource(i, 20));
          live.add(i);
          changed.push({ path: file(i) });
        } else if (live.size > 20) {
          await fsp.rm(file(pick), { force: true });
          live.delete(pick);
          deleted.push(file(pick));
        } else {
          changed.push({ path: file(pick), text: `# unsaved editor text ${round}.${k}\n` + syntheticSource(pick, 25) });
        }
      }
      calls.push({ roots: [root], changed, deleted });
      round++;
    }
    // Two halves of the same mix: the first brings the host's heap and onnxruntime's arena to their working
    // size (batches of a burst are larger than the warm-up's), the second must not grow them much further.
    // A leak grows with the events; the one-off growth to a working size does not (a single bound from the
    // warm-up mistook it for a leak once in CI: 362 MB against 345, 326 on a rerun).
    const half = calls.length / 2;
    const results = await Promise.all(calls.slice(0, half).map((c) => client.request('updateFiles', c)));
    await new Promise((r) => setTimeout(r, 200));
    const mid = rssMb(pid);
    results.push(...await Promise.all(calls.slice(half).map((c) => client.request('updateFiles', c))));
    const eventsS = (performance.now() - t) / 1000;
    assert.equal(results.length, EVENTS / PER_CALL);
    // Settle: the last on-disk state of every live file, and a few markers to look for.
    const changedMarker = [...live][3];
    await fsp.writeFile(file(changedMarker), 'def changed_marker_quokka():\n    return "new content"\n');
    const created = next++;
    await fsp.writeFile(file(created), 'def created_marker_axolotl():\n    return 1\n');
    const gone = [...live][5];
    await fsp.rm(file(gone));
    await client.request('updateFiles', { roots: [root], changed: [{ path: file(changedMarker) }, { path: file(created) }], deleted: [file(gone)] });
    live.add(created);
    live.delete(gone);
    await new Promise((r) => setTimeout(r, 200));
    const after = rssMb(pid);

    // Correct answers: the memory is exactly the files on disk; markers are exact; the deleted file is gone.
    const status = await client.request('status', {});
    assert.equal(status.files, live.size, 'one document per live file');
    const q1 = await client.request('focus', { query: 'changed_marker_quokka', budget: 3000 });
    assert.ok(q1.entries.some((e) => e.path === file(changedMarker) && e.lod === 0), 'the changed file is exact for its marker');
    assert.ok(q1.prompt.includes('return "new content"'), 'the changed file shows its new content');
    const q2 = await client.request('focus', { query: 'created_marker_axolotl', budget: 3000 });
    assert.ok(q2.entries.some((e) => e.path === file(created) && e.lod === 0), 'the created file is exact for its marker');
    assert.ok(!q2.entries.some((e) => e.path === file(gone)), 'the deleted file is gone');
    await assert.rejects(client.request('expand', { path: file(gone), startLine: 1, endLine: 2 }), /not in MegaContext's memory/);
    for (const i of [...live].slice(0, 10)) {
      const x = await client.request('expand', { path: file(i), startLine: 1, endLine: 1000 });
      assert.equal(x.text, await fsp.readFile(file(i), 'utf8'), `mod${i}.py matches the disk`);
    }
    assert.equal(client.pid, pid, 'one host served everything');
    assert.equal(crashes, 0);

    // The first focuses against the warm-up (25% + 30 MB: caches fill), then each half against the one
    // before it: 15% + 25 MB of slack is about 70 MB, so a leak of ~140 KB per
    // focus or ~14 KB per file event fails. V8's heap saws up and down by tens of MB between major GCs
    // (4,000 focuses here: 223 → 314 MB at 2,500, then 265 at 4,000), which a single bound from the
    // warm-up cannot tell from a leak.
    const bound = Math.max(before, midFocus) * 1.15 + 25;
    const eventBound = mid * 1.15 + 25;
    console.log(`load: ${FOCUSES} focuses in ${focusS.toFixed(1)} s (max ${maxTokens} tokens), ${EVENTS} file events in ${results.length} calls in ${eventsS.toFixed(1)} s, ` +
      `${live.size} files; host RSS after warm-up ${before.toFixed(0)} MB, after half the focuses ${midFocus.toFixed(0)} MB, after all ${afterFocus.toFixed(0)} MB (bound ${bound.toFixed(0)}), ` +
      `after half the events ${mid.toFixed(0)} MB, at the end ${after.toFixed(0)} MB (bound ${eventBound.toFixed(0)}); total ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    assert.ok(midFocus < before * 1.25 + 30, `RSS grew from ${before.toFixed(0)} to ${midFocus.toFixed(0)} MB over the first ${FOCUSES / 2} focuses`);
    assert.ok(afterFocus < bound, `RSS grew from ${midFocus.toFixed(0)} to ${afterFocus.toFixed(0)} MB over the second ${FOCUSES / 2} focuses`);
    assert.ok(after < eventBound, `RSS grew from ${mid.toFixed(0)} to ${after.toFixed(0)} MB over the second ${EVENTS / 2} file events`);
  } finally {
    client.dispose();
  }
});
