import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { report, test } from './harness';
import { join } from 'node:path';
import { DOTENV_MARKER, PLANTED_TOKEN, fakeChatModel, fakeModel, indexedApi, waitFor, workspaceRoot } from './util';
import { ChatModelWatch } from '../../../src/extension/chatModels';
import { SCORER_NAMES } from '../../../src/engine/report';

/** A ChatResponseStream that records what the participant streams. */
function recordingStream() {
  const markdown: string[] = [];
  const references: vscode.Location[] = [];
  const progress: string[] = [];
  const stream = {
    markdown: (v: string | vscode.MarkdownString) => { markdown.push(typeof v === 'string' ? v : v.value); },
    reference: (v: vscode.Uri | vscode.Location) => { if (v instanceof vscode.Location) references.push(v); },
    anchor: () => undefined,
    progress: (v: string) => { progress.push(v); },
    button: () => undefined,
    filetree: () => undefined,
    push: () => undefined,
  } as unknown as vscode.ChatResponseStream;
  return { stream, markdown, references, progress };
}

function chatRequest(prompt: string, model: vscode.LanguageModelChat, command?: string): vscode.ChatRequest {
  return { prompt, command, model, references: [], toolReferences: [], toolInvocationToken: undefined } as unknown as vscode.ChatRequest;
}

const QUESTION = 'How does applyBestDiscount choose the discount, and can it return less than zero?';

// The chat view, driven as a user does: `@megacontext …` typed into it, answered by the fake connected model
// that the test extension registers (lm.registerLanguageModelChatProvider), picked by the view's model
// selector. blockOnResponse makes the command return the participant's ChatResult once the answer is done.
test('@megacontext from the chat view answers through the connected model and references the exact spans it used', async () => {
  const api = await indexedApi();
  const fake = await fakeModel();
  const model = await fakeChatModel();
  const before = fake.requests.length;
  const question = 'How does applyBestDiscount pick the best discount rate?';
  let result: vscode.ChatResult | undefined;
  try {
    result = await vscode.commands.executeCommand<vscode.ChatResult>('workbench.action.chat.open', {
      query: `@megacontext ${question}`,
      modelSelector: { vendor: model.vendor, id: model.id },
      blockOnResponse: true,
    });
  } finally {
    await vscode.commands.executeCommand('workbench.action.closeAuxiliaryBar').then(undefined, () => undefined);
  }
  assert.equal(result?.errorDetails, undefined, result?.errorDetails?.message);
  assert.equal(fake.requests.length, before + 1, 'the chat view did not reach the connected model through @megacontext');
  const sent = fake.requests[fake.requests.length - 1];
  assert.ok(sent.messages.some((m) => m.text.includes('MegaContext working context.')), 'the model was not sent the working context');
  // What the participant referenced (its ChatResult metadata) and what the answer cites are the same exact spans.
  const references = (result?.metadata?.references ?? []) as { path: string; startLine: number; endLine: number }[];
  const pricing = join(workspaceRoot(), 'src', 'pricing.ts');
  const applyBestDiscountLine = 12;
  assert.ok(references.some((r) => r.path === pricing && r.startLine <= applyBestDiscountLine && r.endLine >= applyBestDiscountLine),
    `no reference to src/pricing.ts around applyBestDiscount (line ${applyBestDiscountLine}): ${JSON.stringify(references)}`);
  const cites = sent.answerCites ?? [];
  assert.ok(cites.some((c) => c.startsWith('src/pricing.ts L')), `the answer cites no exact span of src/pricing.ts: ${cites.join('; ')}`);
  // The exchange the view drove is in memory, as every @megacontext exchange is.
  const transcript = await api.engine.request('expand', { path: 'chat:workspace', startLine: 1, endLine: 2000 });
  assert.ok(transcript.text.includes(`User: ${question}`), 'the exchange was not appended to the transcript');
}, { timeoutMs: 90_000 });

test('without an editor open, no file span is held: the scorer alone decides what is exact', async () => {
  const api = await indexedApi();
  await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  const result = await api.focus.focus(QUESTION, 2000);
  const held = result.entries.filter((e) => e.held && e.kind === 'file').map((e) => `${e.display}:${e.startLine}-${e.endLine}`);
  assert.deepEqual(held, [], 'file spans held with no editor open and nothing pinned');
  assert.ok(result.tokens <= result.budget);
  const exact = result.entries.filter((e) => e.lod === 0 && e.kind === 'file').map((e) => `${e.display}:${e.startLine}-${e.endLine}`);
  report(`      ${SCORER_NAMES[result.scorer]} alone put at LOD0: ${exact.join(', ') || 'nothing'} (${result.tokens}/${result.budget} tokens)`);
});

test('@megacontext sends the exact text of the relevant span within the model window and streams the answer', async () => {
  const api = await indexedApi();
  // The user asks about the function under the cursor: the active editor's neighbourhood is held exact.
  const editor = await vscode.window.showTextDocument(vscode.Uri.file(join(workspaceRoot(), 'src', 'pricing.ts')));
  editor.selection = new vscode.Selection(13, 0, 13, 0);
  const fake = await fakeModel();
  const model = await fakeChatModel();
  const before = fake.requests.length;
  const rec = recordingStream();
  const result = await api.chatHandler(chatRequest(QUESTION, model), { history: [] } as unknown as vscode.ChatContext, rec.stream, new vscode.CancellationTokenSource().token);
  assert.equal(result.errorDetails, undefined, result.errorDetails?.message);
  assert.equal(fake.requests.length, before + 1, 'the model was not called exactly once');
  const sent = fake.requests[fake.requests.length - 1];
  assert.ok(sent.tokens <= fake.maxInputTokens, `${sent.tokens} tokens sent to a model with a ${fake.maxInputTokens}-token window`);
  const all = sent.messages.map((m) => m.text).join('\n');
  assert.ok(all.includes('best = Math.min(best, Math.round(total * (1 - d.rate)));'), 'the applyBestDiscount body is not in the prompt at LOD0');
  assert.match(all, /\[\[exact L\d+-\d+\]\]/);
  assert.ok(!all.includes(DOTENV_MARKER) && !all.includes(PLANTED_TOKEN), 'a secret reached the prompt');
  assert.match(rec.markdown.join(''), /^Fake answer #\d+: /);
  assert.ok(rec.references.some((r) => r.uri.fsPath.endsWith('pricing.ts')), 'no reference to pricing.ts');
  await vscode.commands.executeCommand('workbench.action.closeAllEditors');
}, { timeoutMs: 120_000 });

test('/focus shows the map without calling the model', async () => {
  const api = await indexedApi();
  const fake = await fakeModel();
  const model = await fakeChatModel();
  const before = fake.requests.length;
  const rec = recordingStream();
  const result = await api.chatHandler(chatRequest('discount rules', model, 'focus'), { history: [] } as unknown as vscode.ChatContext, rec.stream, new vscode.CancellationTokenSource().token);
  assert.equal(result.errorDetails, undefined, result.errorDetails?.message);
  assert.equal(fake.requests.length, before);
  const md = rec.markdown.join('');
  assert.match(md, /Focus for/);
  assert.match(md, /src\/pricing\.ts/);
});

test('a cancelled request ends with a clear message, not a stack trace', async () => {
  const api = await indexedApi();
  const model = await fakeChatModel();
  const source = new vscode.CancellationTokenSource();
  source.cancel();
  const result = await api.chatHandler(chatRequest(QUESTION, model), { history: [] } as unknown as vscode.ChatContext, recordingStream().stream, source.token);
  assert.equal(result.errorDetails?.message, 'The request was cancelled.');
});

test('the chat exchange is in memory after the engine restarts and reloads the store', async () => {
  const api = await indexedApi();
  // Its own exchange, so this test does not depend on any other having run first.
  const question = `What does the pricing module export? (restart check ${Date.now()})`;
  const model = await fakeChatModel();
  const answered = await api.chatHandler(chatRequest(question, model), { history: [] } as unknown as vscode.ChatContext, recordingStream().stream, new vscode.CancellationTokenSource().token);
  assert.equal(answered.errorDetails, undefined, answered.errorDetails?.message);
  const transcript = await api.engine.request('expand', { path: 'chat:workspace', startLine: 1, endLine: 2000 });
  assert.ok(transcript.text.includes(`User: ${question}`), 'the exchange was not appended to the transcript');
  const pidBefore = api.engine.pid;
  await api.restartEngine();
  const status = await api.engine.request('status', {});
  assert.notEqual(api.engine.pid, pidBefore);
  assert.match(status.store, /^loaded \d+ documents$/);
  assert.ok(status.chatDocuments >= 1);
  const reloaded = await api.engine.request('expand', { path: 'chat:workspace', startLine: 1, endLine: 2000 });
  assert.ok(reloaded.text.includes(`User: ${question}`));
  assert.match(reloaded.text, /Assistant: Fake answer #\d+/);
  assert.equal(status.blocksGisted, 0, 'the warm start recomputed gists');
}, { timeoutMs: 120_000 });

/** A model as VS Code hands it over when none can serve: every call fails as "not found". */
function unavailableModel(): vscode.LanguageModelChat {
  const gone = () => Promise.reject(vscode.LanguageModelError.NotFound('Language model unavailable'));
  return { id: 'gone', name: 'Gone', vendor: 'nobody', family: 'none', version: '0', maxInputTokens: 0, countTokens: gone, sendRequest: gone } as unknown as vscode.LanguageModelChat;
}

test('without a usable chat model, @megacontext says so in its own words, says what to do, and still shows the working context', async () => {
  await indexedApi();
  const fake = await fakeModel();
  const before = fake.requests.length;
  const rec = recordingStream();
  const result = await (await indexedApi()).chatHandler(chatRequest(QUESTION, unavailableModel()), { history: [] } as unknown as vscode.ChatContext, rec.stream, new vscode.CancellationTokenSource().token);
  assert.equal(result.errorDetails, undefined, `a bare error instead of guidance: ${result.errorDetails?.message}`);
  assert.equal(fake.requests.length, before, 'another model was called');
  assert.equal(result.metadata?.noModel, true);
  const md = rec.markdown.join('');
  for (const part of ['no chat model', 'sign in', 'pick a model', 'MCP server', 'megacontext mcp', 'megacontext focus', '/focus']) {
    assert.ok(md.toLowerCase().includes(part.toLowerCase()), `the guidance lacks «${part}»: ${md.slice(0, 400)}`);
  }
  assert.doesNotMatch(md, /Language model unavailable/, 'VS Code\'s bare message leaked through');
  assert.match(md, /\*\*Focus for\*\* “How does applyBestDiscount/, 'the working context is not shown');
  assert.match(md, /src\/pricing\.ts {2}exact L\d+/);
}, { timeoutMs: 90_000 });

test('/focus works with no model at all: the map and what is in context, no model call', async () => {
  const api = await indexedApi();
  const fake = await fakeModel();
  const before = fake.requests.length;
  for (const model of [undefined, unavailableModel()]) {
    const rec = recordingStream();
    const result = await api.chatHandler(chatRequest('discount rules', model as unknown as vscode.LanguageModelChat, 'focus'), { history: [] } as unknown as vscode.ChatContext, rec.stream, new vscode.CancellationTokenSource().token);
    assert.equal(result.errorDetails, undefined, result.errorDetails?.message);
    const md = rec.markdown.join('');
    assert.match(md, /\*\*Focus for\*\* “discount rules”/);
    assert.match(md, /\*\*In context\*\*/);
    const tokens = Number(result.metadata?.tokens ?? 0);
    assert.ok(tokens > 0 && tokens <= 8192, `tokens ${tokens}`);
  }
  assert.equal(fake.requests.length, before);
}, { timeoutMs: 90_000 });

test('with no chat model the focus viewer carries the guidance; it goes away when a model appears', async () => {
  await indexedApi();
  const models: vscode.LanguageModelChat[] = [];
  const changed = new vscode.EventEmitter<void>();
  const watch = new ChatModelWatch(async () => models, changed.event);
  let fired = 0;
  watch.onDidChange(() => fired++);
  try {
    assert.equal(await watch.refresh(), false);
    const notice = watch.notice() ?? '';
    for (const part of ['no chat model', 'sign in', 'MCP server', 'megacontext mcp', 'megacontext focus']) {
      assert.ok(notice.toLowerCase().includes(part.toLowerCase()), `the notice lacks «${part}»: ${notice}`);
    }
    models.push(await fakeChatModel());
    changed.fire();
    await waitFor('the watch to see the model', () => watch.notice() === undefined);
    assert.ok(fired >= 2, `onDidChange fired ${fired} times`);
    // Against VS Code's own list (the test extension's model is registered): no notice.
    const real = new ChatModelWatch();
    try {
      assert.equal(await real.refresh(), true);
      assert.equal(real.notice(), undefined);
    } finally {
      real.dispose();
    }
  } finally {
    watch.dispose();
    changed.dispose();
  }
});
