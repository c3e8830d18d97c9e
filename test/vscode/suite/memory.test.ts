import * as assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { test } from './harness';
import { DOTENV_MARKER, LEAKY_FILE, PLANTED_TOKEN, activateExtension, indexedApi, plantSecrets, waitFor, workspaceRoot } from './util';

test('indexing the workspace builds the tree, skipping secret files and redacting planted tokens', async () => {
  const api = await activateExtension();
  plantSecrets();
  // A rebuild re-reads every file, so the redaction report is complete even if an earlier test indexed.
  const result = await api.memory.index({ rebuild: true });
  assert.ok(result, 'index returned nothing (is the workspace trusted?)');
  const root = workspaceRoot();
  const env = result.skipped.find((s) => s.path === join(root, '.env'));
  assert.equal(env?.reason, 'secret', `.env was not skipped as a secret: ${JSON.stringify(result.skipped)}`);
  assert.ok(result.redacted.includes(join(root, LEAKY_FILE)), `the planted token was not redacted: ${JSON.stringify(result.redacted)}`);
  const status = await api.engine.request('status', {});
  assert.equal(status.degraded, false, status.degradedReason);
  assert.ok(status.files >= 5, `files: ${status.files}`);
  assert.ok(status.tokens > 500, `tokens: ${status.tokens}`);
  const leaky = await api.engine.request('expand', { path: join(root, LEAKY_FILE), startLine: 1, endLine: 10 });
  assert.ok(!leaky.text.includes(PLANTED_TOKEN));
  assert.match(leaky.text, /\[REDACTED:github-token\]/);
  await assert.rejects(api.engine.request('expand', { path: join(root, '.env'), startLine: 1, endLine: 2 }), /not in MegaContext's memory/);
}, { timeoutMs: 120_000 });

test('a new file, a change on disk, an unsaved edit and a deletion each update the tree', async () => {
  const api = await indexedApi();
  const path = join(workspaceRoot(), 'src', 'scratch.ts');
  const expandText = async () => (await api.engine.request('expand', { path, startLine: 1, endLine: 50 }).catch(() => undefined))?.text;
  try {
    writeFileSync(path, 'export const scratchMarkerOne = 1;\n');
    await waitFor('the new file in memory', async () => { await api.memory.flushChanges(); return (await expandText())?.includes('scratchMarkerOne'); });
    writeFileSync(path, 'export const scratchMarkerTwo = 2;\n');
    await waitFor('the changed file in memory', async () => { await api.memory.flushChanges(); return (await expandText())?.includes('scratchMarkerTwo'); });
    const doc = await vscode.workspace.openTextDocument(path);
    const editor = await vscode.window.showTextDocument(doc);
    await editor.edit((b) => b.insert(new vscode.Position(0, 0), 'export const unsavedMarker = 3;\n'));
    await waitFor('the unsaved edit in memory', async () => { await api.memory.flushChanges(); return (await expandText())?.includes('unsavedMarker'); });
    await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
  } finally {
    rmSync(path, { force: true });
  }
  await waitFor('the deleted file gone from memory', async () => { await api.memory.flushChanges(); return (await expandText()) === undefined; });
}, { timeoutMs: 90_000 });

test('the .env file never reaches a focused prompt', async () => {
  const api = await indexedApi();
  const result = await api.focus.focus('database url api key token config', 4000);
  assert.ok(!result.prompt.includes(DOTENV_MARKER));
  assert.ok(!result.prompt.includes(PLANTED_TOKEN));
  assert.ok(!result.entries.some((e) => e.path.endsWith('.env')));
});

test('after the engine host crashes, the next request starts a new one that reloads the memory', async () => {
  const api = await indexedApi();
  await api.engine.request('flush', {});
  const pid = api.engine.pid;
  assert.ok(pid);
  process.kill(pid, 'SIGKILL');
  await waitFor('the crash to be noticed', () => api.engine.pid === undefined);
  const status = await api.engine.request('status', {});
  assert.notEqual(api.engine.pid, pid);
  assert.match(status.store, /^loaded \d+ documents$/);
  assert.ok(status.files >= 5);
}, { timeoutMs: 60_000 });
