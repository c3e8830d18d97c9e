// Restricted mode, run only by `MEGACONTEXT_UNTRUSTED=1 node out/test/vscode/runCodeServer.js` (npm test does):
// code-server starts with workspace trust on and the fixture folder untrusted. MegaContext must read nothing:
// no index, no engine process, and chat, tools and commands refuse with a clear reason.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { report, test } from './harness';
import { activateExtension, fakeChatModel, sleep } from './util';

test('an untrusted workspace is not indexed and nothing reads it; chat and tools say why', async () => {
  assert.equal(vscode.workspace.isTrusted, false, 'the runner opened the workspace untrusted');
  const api = await activateExtension();
  assert.equal(await api.memory.index(), undefined, 'index refuses');
  await api.memory.ensureIndexed();
  await assert.rejects(api.focus.focus('anything', 2000), /not trusted/);
  for (const [tool, input] of [
    ['megacontext_recall', { query: 'discount rules' }],
    ['megacontext_expand', { path: 'src/pricing.ts', startLine: 1, endLine: 5 }],
    ['megacontext_remember', { note: 'a note' }],
  ] as const) {
    await assert.rejects(Promise.resolve(vscode.lm.invokeTool(tool, { input, toolInvocationToken: undefined })), /not trusted/, tool);
  }
  const model = await fakeChatModel();
  const request = { prompt: 'How are discounts applied?', command: undefined, model, references: [], toolReferences: [], toolInvocationToken: undefined } as unknown as vscode.ChatRequest;
  const stream = { markdown: () => undefined, reference: () => undefined, anchor: () => undefined, progress: () => undefined, push: () => undefined } as unknown as vscode.ChatResponseStream;
  const result = await api.chatHandler(request, { history: [] } as unknown as vscode.ChatContext, stream, new vscode.CancellationTokenSource().token);
  assert.match(result.errorDetails?.message ?? '', /not trusted/);
  // The scheduled first index (the runner sets megacontext.indexDelaySeconds to 1) must not start anything either.
  await sleep(3000);
  assert.equal(api.engineStarted, false, 'no engine process was started, so nothing was read or indexed');
  report(`      untrusted: index, focus, 3 tools and chat refused; engine never started`);
}, { timeoutMs: 60_000 });
