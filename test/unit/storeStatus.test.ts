// The store size the status bar shows is the size of the store on disk, right after an index (it said
// "store 0B" while Show Runtime Info, asked later, said 1,142,064 bytes: the status came before the
// debounced first write). Real engine host (dist/host.js, real models) driven by EngineClient in plain Node.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { STORE_FILE } from '../../src/core/store';
import { EngineClient } from '../../src/extension/engineClient';
import { formatBytes, statusBarText, statusTooltip } from '../../src/extension/statusText';
import type { EngineStatus } from '../../src/engine/protocol';
import { syntheticSource } from './support/corpus';

const HOST = join(__dirname, '..', '..', '..', 'dist', 'host.js');

test('right after the first index, the status reports the store as it is on disk, and the tooltip shows that size', { timeout: 120_000 }, async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'mc-store-status-'));
  const ws = join(tmp, 'ws');
  const store = join(tmp, 'store');
  mkdirSync(ws);
  for (let i = 0; i < 12; i++) writeFileSync(join(ws, `m${i}.py`), syntheticSource(i, 60));
  const client = new EngineClient({ hostPath: HOST, env: { MEGACONTEXT_STORE_DIR: store } });
  try {
    await client.request('index', { roots: [ws] });
    const status = await client.request('status', {});
    const onDisk = statSync(join(store, STORE_FILE)).size; // throws if the index was not written yet
    assert.ok(onDisk > 0);
    assert.equal(status.storeBytes, onDisk, 'the status and the disk disagree on the store size');
    assert.equal(status.storeDir, store);
    const tooltip = statusTooltip(status);
    assert.ok(tooltip.includes(`store ${formatBytes(onDisk)} (${onDisk.toLocaleString('en-US')} bytes)`), tooltip);
    assert.ok(!/store 0\s?B\b/.test(tooltip), tooltip);
  } finally {
    client.dispose();
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('sizes and counts read as people write them', () => {
  assert.equal(formatBytes(0), '0 B');
  assert.equal(formatBytes(9_272), '9.3 KB');
  assert.equal(formatBytes(1_142_064), '1.1 MB');
  const s: EngineStatus = {
    documents: 3, files: 2, chatDocuments: 1, notesDocuments: 0, tokens: 12_400, storeDir: '/s', storeBytes: 1_142_064, store: 'new',
    executionProvider: 'cpu', modelId: 'm', degraded: false, blocksGisted: 0, blocksReused: 0,
  };
  assert.equal(statusBarText(s), '$(layers) 12.4k tok · CPU');
  assert.equal(statusTooltip(s), 'MegaContext: 2 files, 1 chat and 0 notes documents, 12,400 tokens; store 1.1 MB (1,142,064 bytes)');
  assert.match(statusTooltip({ ...s, degraded: true, degradedReason: 'no models.json' }), /lexical-only mode .*store 1\.1 MB .*no models\.json$/);
  assert.match(statusTooltip({ ...s, storeDir: null, storeBytes: 0 }), /not stored \(no storage folder\)$/);
});
