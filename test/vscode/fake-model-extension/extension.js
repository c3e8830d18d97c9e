// Test-only extension: a connected chat model that answers deterministically and records every request,
// standing in for Copilot in the in-VS-Code tests (lm.selectChatModels() is empty without a sign-in).
// Plain JavaScript so it needs no build step; loaded as a second extensionDevelopmentPath.
'use strict';
const vscode = require('vscode');

/** Deliberately small, so that fitting the working context into the window is exercised. */
const MAX_INPUT_TOKENS = 3000;

/** The fake tokenizer: about three characters a token, coarser than o200k, so the final check matters. */
function countTokens(text) {
  return Math.ceil(text.length / 3);
}

function messageText(message) {
  if (typeof message === 'string') return message;
  return message.content.map((part) => (part instanceof vscode.LanguageModelTextPart ? part.value : '')).join('');
}

/**
 * What the answer cites: every exact run of the working context it was given, as `path La-b` (the
 * `## path` header above each `[[exact La-b]]` marker), so a test can check the answer's references.
 */
function exactRuns(text) {
  const runs = [];
  let path;
  for (const line of text.split('\n')) {
    const header = /^## (.+?) \(/.exec(line);
    if (header) path = header[1];
    const exact = /^\[\[exact (L\d+-\d+)\]\]$/.exec(line);
    if (exact && path) runs.push(`${path} ${exact[1]}`);
  }
  return runs;
}

function activate(context) {
  const requests = [];
  const model = {
    id: 'megacontext-fake-model',
    name: 'MegaContext Fake Model',
    family: 'fake',
    version: '1',
    maxInputTokens: MAX_INPUT_TOKENS,
    maxOutputTokens: 500,
    capabilities: {},
  };
  const provider = {
    provideLanguageModelChatInformation: () => [model],
    async provideLanguageModelChatResponse(_model, messages, _options, progress) {
      const texts = messages.map(messageText);
      const tokens = texts.reduce((sum, t) => sum + countTokens(t), 0);
      requests.push({ messages: texts.map((text, i) => ({ role: messages[i].role, text })), tokens });
      const last = texts[texts.length - 1] || '';
      progress.report(new vscode.LanguageModelTextPart(`Fake answer #${requests.length}: `));
      progress.report(new vscode.LanguageModelTextPart(`you asked "${last.slice(0, 80)}" with ${tokens} tokens of input.`));
      const cited = exactRuns(texts.join('\n'));
      if (cited.length > 0) progress.report(new vscode.LanguageModelTextPart(` Sources: ${cited.join('; ')}.`));
      requests[requests.length - 1].answerCites = cited;
    },
    async provideTokenCount(_model, text) {
      return countTokens(messageText(text));
    },
  };
  context.subscriptions.push(vscode.lm.registerLanguageModelChatProvider('megacontext-fake', provider));
  return { requests, maxInputTokens: MAX_INPUT_TOKENS, countTokens };
}

module.exports = { activate, deactivate() {} };
