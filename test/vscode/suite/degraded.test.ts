// Models missing: the extension keeps working in lexical-only mode and says so in status, chat and tools.
import * as assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { report, test } from './harness';
import { fakeChatModel, indexedApi, toolText, waitFor } from './util';

const QUESTION = 'How does applyBestDiscount choose the discount?';

async function setModelsPath(value: string | undefined): Promise<void> {
  await vscode.workspace.getConfiguration('megacontext').update('modelsPath', value, vscode.ConfigurationTarget.Global);
}

test('with the models folder missing, memory runs lexical-only and every surface says so; setting it back restores the models', async () => {
  const api = await indexedApi();
  const missing = join(tmpdir(), `megacontext-no-models-${process.pid}`);
  try {
    await setModelsPath(missing);
    // The setting restarts the engine host; the next status comes from a host without models.
    const status = await waitFor('a degraded status', async () => {
      await api.memory.ensureIndexed();
      const s = await api.memory.refreshStatus();
      return s?.degraded ? s : undefined;
    }, 60_000);
    assert.match(status.degradedReason ?? '', /models not found/);
    assert.ok(status.files > 0, 'the workspace is indexed lexically');

    const result = await api.focus.focus(QUESTION, 2000);
    assert.match(result.lexicalOnly ?? '', /models not found/);
    assert.ok(result.entries.some((e) => e.lod === 0 && e.display.endsWith('pricing.ts')), 'the evidence is exact by lexical match');

    const recall = toolText(await vscode.lm.invokeTool('megacontext_recall', { input: { query: QUESTION }, toolInvocationToken: undefined }));
    assert.match(recall, /^\[Lexical-only mode: the MegaContext models did not load/);

    const markdown: string[] = [];
    const stream = { markdown: (v: string) => { markdown.push(v); }, reference: () => undefined, anchor: () => undefined, progress: () => undefined, push: () => undefined } as unknown as vscode.ChatResponseStream;
    const model = await fakeChatModel();
    const request = { prompt: QUESTION, command: undefined, model, references: [], toolReferences: [], toolInvocationToken: undefined } as unknown as vscode.ChatRequest;
    await api.chatHandler(request, { history: [] } as unknown as vscode.ChatContext, stream, new vscode.CancellationTokenSource().token);
    assert.ok(markdown.some((m) => m.includes('Lexical-only mode')), `the chat answer is labelled: ${markdown.join('').slice(0, 200)}`);
    report(`      lexical-only: ${status.degradedReason}`);
  } finally {
    await setModelsPath(undefined);
  }
  const back = await waitFor('the models back', async () => {
    await api.memory.ensureIndexed();
    const s = await api.memory.refreshStatus();
    return s && !s.degraded ? s : undefined;
  }, 60_000);
  assert.notEqual(back.modelId, null);
  assert.equal((await api.focus.focus(QUESTION, 2000)).lexicalOnly, undefined);
}, { timeoutMs: 150_000 });
