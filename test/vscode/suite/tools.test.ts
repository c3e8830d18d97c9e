import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { test } from './harness';
import { DOTENV_MARKER, PLANTED_TOKEN, indexedApi, toolText } from './util';

function invoke(name: string, input: object): Promise<vscode.LanguageModelToolResult> {
  return Promise.resolve(vscode.lm.invokeTool(name, { input, toolInvocationToken: undefined }));
}

test('the three tools are registered with their schemas', async () => {
  await indexedApi();
  const names = vscode.lm.tools.map((t) => t.name);
  for (const name of ['megacontext_recall', 'megacontext_expand', 'megacontext_remember']) {
    assert.ok(names.includes(name), `${name} missing from lm.tools: ${names.join(', ')}`);
    const info = vscode.lm.tools.find((t) => t.name === name)!;
    assert.equal((info.inputSchema as { type?: string } | undefined)?.type, 'object');
  }
});

test('megacontext_recall returns the focused working context', async () => {
  await indexedApi();
  const text = toolText(await invoke('megacontext_recall', { query: 'restock threshold for low inventory items', budget: 2000 }));
  assert.match(text, /^MegaContext working context/);
  assert.match(text, /src\/inventory\.py/);
  assert.ok(!text.includes(DOTENV_MARKER) && !text.includes(PLANTED_TOKEN));
});

test('megacontext_expand returns exact lines of a workspace file', async () => {
  await indexedApi();
  const text = toolText(await invoke('megacontext_expand', { path: 'src/pricing.ts', startLine: 11, endLine: 13 }));
  assert.match(text, /^src\/pricing\.ts lines 11-13 of \d+ \(exact\):\n/);
  assert.ok(text.includes('export function applyBestDiscount(total: Cents, discounts: Discount[]): Cents {'));
});

test('megacontext_remember stores a note that recall then finds', async () => {
  await indexedApi();
  const text = toolText(await invoke('megacontext_remember', { note: 'The team decided refunds over 500 euros need a manager.' }));
  assert.match(text, /^Remembered in notes:memory/);
  const recalled = toolText(await invoke('megacontext_recall', { query: 'refunds manager decision' }));
  assert.ok(recalled.includes('refunds over 500 euros need a manager'));
});

test('malformed tool input is rejected with a clear message', async () => {
  await indexedApi();
  await assert.rejects(invoke('megacontext_recall', {}), /megacontext_recall: invalid input: missing required property "query"/);
  await assert.rejects(invoke('megacontext_recall', { query: 'x', budget: 'big' }), /"budget" must be an integer/);
  await assert.rejects(invoke('megacontext_expand', { path: 'src/pricing.ts', startLine: 0, endLine: 2 }), /"startLine" must be at least 1/);
  await assert.rejects(invoke('megacontext_expand', { path: 'src/pricing.ts', startLine: 5, endLine: 2 }), /"endLine" \(2\) is before "startLine" \(5\)/);
  await assert.rejects(invoke('megacontext_remember', { note: '   ' }), /"note" must not be empty/);
  await assert.rejects(invoke('megacontext_remember', { note: 'x', extra: 1 }), /unknown property "extra"/);
});

test('megacontext_expand stays inside the workspace and away from secret files', async () => {
  await indexedApi();
  await assert.rejects(invoke('megacontext_expand', { path: '../../../../etc/passwd', startLine: 1, endLine: 3 }), /climbs out with "\.\."/);
  await assert.rejects(invoke('megacontext_expand', { path: '/etc/passwd', startLine: 1, endLine: 3 }), /outside the workspace folders/);
  await assert.rejects(invoke('megacontext_expand', { path: '.env', startLine: 1, endLine: 3 }), /not in MegaContext's memory/);
});
