// The `@megacontext` chat participant: refocuses the memory on each request (the prompt plus the recent
// turns), fits the working context, the history and the question into the chosen model's input window
// (checked with the model's own countTokens), streams the answer with references to the exact spans
// used, and appends the exchange to the workspace's chat transcript so the memory grows.
import * as vscode from 'vscode';
import { lexicalOnlyNotice, type EntrySummary, type FocusResult } from '../engine/protocol';
import { EngineRequestError } from './engineClient';
import { CHAT_SESSION, type FocusService } from './focusService';
import { budgetSetting } from './settings';

export const PARTICIPANT_ID = 'megacontext.chat';
const MIN_BUDGET = 256;
const MAX_HISTORY_TURNS = 8;
const MAX_REFERENCES = 12;
const INSTRUCTIONS =
  'You answer questions about this workspace and earlier conversations using the MegaContext working context below. ' +
  'It lists every document; exact text is marked [[exact Lx-y]] … [[/exact]], other lines are gists. ' +
  'Cite files with their path and line numbers. If the answer is not in the exact text, say which document likely holds it.\n\n';

/** Tokens kept free for the answer: a fifth of the window, between 256 and 4,096. */
export function answerReserve(maxInputTokens: number): number {
  return Math.min(4096, Math.max(256, Math.floor(maxInputTokens / 5)));
}

function historyMessages(history: ReadonlyArray<vscode.ChatRequestTurn | vscode.ChatResponseTurn>): vscode.LanguageModelChatMessage[] {
  const messages: vscode.LanguageModelChatMessage[] = [];
  for (const turn of history.slice(-2 * MAX_HISTORY_TURNS)) {
    if (turn instanceof vscode.ChatRequestTurn) {
      if (turn.participant === PARTICIPANT_ID) messages.push(vscode.LanguageModelChatMessage.User(turn.prompt));
    } else if (turn instanceof vscode.ChatResponseTurn && turn.participant === PARTICIPANT_ID) {
      const text = turn.response.map((part) => (part instanceof vscode.ChatResponseMarkdownPart ? part.value.value : '')).join('');
      if (text) messages.push(vscode.LanguageModelChatMessage.Assistant(text));
    }
  }
  return messages;
}

async function countAll(model: vscode.LanguageModelChat, messages: vscode.LanguageModelChatMessage[], token: vscode.CancellationToken): Promise<number> {
  let total = 0;
  for (const m of messages) total += await model.countTokens(m, token);
  return total;
}

/** Merged LOD0 line ranges of workspace files, for references. */
export function exactFileRanges(entries: EntrySummary[]): { path: string; startLine: number; endLine: number }[] {
  const out: { path: string; startLine: number; endLine: number }[] = [];
  for (const e of entries) {
    if (e.lod !== 0 || e.kind !== 'file') continue;
    const last = out[out.length - 1];
    if (last && last.path === e.path && e.startLine <= last.endLine + 1) last.endLine = Math.max(last.endLine, e.endLine);
    else out.push({ path: e.path, startLine: e.startLine, endLine: e.endLine });
  }
  return out;
}

/** What to do when VS Code has no chat model for MegaContext, in the extension's words. */
export const NO_MODEL_GUIDANCE =
  'MegaContext has no chat model to answer with: VS Code offers none right now. To ask questions, sign in to GitHub Copilot ' +
  '(or install another chat model provider) and pick a model in the chat view. Without a model, `/focus`, ' +
  '*MegaContext: Focus on Query…* and the focus viewer still show the working context, and any agent can use the memory ' +
  'through the MCP server (agent mode lists *MegaContext*; `megacontext mcp` for other agents) or the CLI (`megacontext focus`).';

/** The model's input window, or undefined when the model cannot be used (VS Code gave none, or it is gone). */
function usableWindow(model: vscode.LanguageModelChat | undefined): number | undefined {
  const w = model?.maxInputTokens;
  return typeof w === 'number' && Number.isFinite(w) && w > 0 ? w : undefined;
}

/** A failure that means "there is no model to talk to", as opposed to one this request caused. */
function isNoModel(err: unknown): boolean {
  if (err instanceof vscode.LanguageModelError) return err.code === vscode.LanguageModelError.NotFound.name;
  return err instanceof Error && /language model (is )?(unavailable|not found)/i.test(err.message);
}

/** Text for errors a user can act on, never a stack trace. */
export function chatErrorMessage(err: unknown): string {
  if (err instanceof vscode.CancellationError) return 'The request was cancelled.';
  if (err instanceof vscode.LanguageModelError) {
    if (err.code === vscode.LanguageModelError.NotFound.name) return NO_MODEL_GUIDANCE;
    if (err.code === vscode.LanguageModelError.NoPermissions.name) return 'MegaContext may not use this model yet: allow it when VS Code asks, or pick another model.';
    if (err.code === vscode.LanguageModelError.Blocked.name) return 'The model refused or blocked this request (quota or content policy). Try again later or rephrase.';
    return `The language model failed: ${err.message}`;
  }
  if (err instanceof EngineRequestError) {
    if (err.code === 'cancelled') return 'The request was cancelled.';
    return `MegaContext's engine could not focus the memory: ${err.message}`;
  }
  return `MegaContext failed: ${err instanceof Error ? err.message : String(err)}`;
}

export type ChatHandler = (
  request: vscode.ChatRequest,
  context: vscode.ChatContext,
  stream: vscode.ChatResponseStream,
  token: vscode.CancellationToken,
) => Promise<vscode.ChatResult>;

export function createChatHandler(focus: FocusService): ChatHandler {
  return async (request, context, stream, token) => {
    try {
      if (request.command === 'focus') return await showFocus(focus, request, stream, token);
      if (!(await modelAnswers(request.model, token))) return await withoutModel(focus, request, stream, token);
      return await answer(focus, request, context, stream, token);
    } catch (err) {
      if (isNoModel(err) && !token.isCancellationRequested) return await withoutModel(focus, request, stream, token);
      const message = token.isCancellationRequested ? 'The request was cancelled.' : chatErrorMessage(err);
      return { errorDetails: { message }, metadata: { command: request.command ?? '' } };
    }
  };
}

/** Whether the request's model can be talked to: it has a window and counts tokens (a missing model fails here, before any focus). */
async function modelAnswers(model: vscode.LanguageModelChat | undefined, token: vscode.CancellationToken): Promise<boolean> {
  if (!model || usableWindow(model) === undefined) return false;
  try {
    await model.countTokens('MegaContext', token);
    return true;
  } catch (err) {
    if (isNoModel(err)) return false;
    throw err;
  }
}

/** No model to answer: say so and what to do, then show what the model would have been given (as /focus does). */
async function withoutModel(focus: FocusService, request: vscode.ChatRequest, stream: vscode.ChatResponseStream, token: vscode.CancellationToken): Promise<vscode.ChatResult> {
  stream.markdown(`> ${NO_MODEL_GUIDANCE}\n\n`);
  const shown = await showFocus(focus, request, stream, token);
  return { ...shown, metadata: { ...shown.metadata, command: request.command ?? '', noModel: true } };
}

/** The map and the report for a question; needs no model (the model's window, when there is one, caps the budget). */
async function showFocus(focus: FocusService, request: vscode.ChatRequest, stream: vscode.ChatResponseStream, token: vscode.CancellationToken): Promise<vscode.ChatResult> {
  const query = request.prompt.trim() || 'overview of the workspace';
  const window = usableWindow(request.model);
  const budget = Math.max(MIN_BUDGET, Math.min(budgetSetting(), window === undefined ? Number.MAX_SAFE_INTEGER : window - answerReserve(window)));
  stream.progress('Focusing the memory…');
  const result = await focus.focus(query, budget, token);
  stream.markdown(result.report);
  const references = addReferences(stream, result);
  return { metadata: { command: 'focus', tokens: result.tokens, references } };
}

async function answer(
  focus: FocusService,
  request: vscode.ChatRequest,
  context: vscode.ChatContext,
  stream: vscode.ChatResponseStream,
  token: vscode.CancellationToken,
): Promise<vscode.ChatResult> {
  const model = request.model;
  const available = model.maxInputTokens - answerReserve(model.maxInputTokens);
  const question = vscode.LanguageModelChatMessage.User(request.prompt);
  let history = historyMessages(context.history);
  const fixed = async () => (await countAll(model, [...history, question], token)) + 32;
  let fixedTokens = await fixed();
  while (history.length > 0 && available - fixedTokens < MIN_BUDGET) {
    history = history.slice(2);
    fixedTokens = await fixed();
  }
  if (available - fixedTokens < MIN_BUDGET) {
    throw new Error(`the question alone needs ${fixedTokens} tokens of the model's ${model.maxInputTokens}: shorten it`);
  }
  const recent = context.history.slice(-2).map((t) => (t instanceof vscode.ChatRequestTurn ? t.prompt : '')).join('\n');
  const query = recent ? `${recent}\n${request.prompt}` : request.prompt;
  stream.progress('Focusing the memory…');
  let budget = Math.min(budgetSetting(), available - fixedTokens);
  let result: FocusResult | undefined;
  let messages: vscode.LanguageModelChatMessage[] = [];
  // The budget counts o200k tokens; the model may count differently. Shrink until its own count fits.
  for (let attempt = 0; attempt < 5; attempt++) {
    result = await focus.focus(query, budget, token);
    messages = [vscode.LanguageModelChatMessage.User(INSTRUCTIONS + result.prompt), ...history, question];
    const total = await countAll(model, messages, token);
    if (total <= available) break;
    const next = Math.floor(budget * Math.min(0.9, available / total));
    if (next < MIN_BUDGET || attempt === 4) throw new Error(`the working context does not fit the model's window (${total} > ${available} tokens)`);
    budget = next;
  }
  const references = addReferences(stream, result!);
  if (result!.lexicalOnly !== undefined) stream.markdown(`> ${lexicalOnlyNotice(result!.lexicalOnly)}\n\n`);
  const response = await model.sendRequest(messages, { justification: 'MegaContext answers with a focused view of your workspace and chat memory.' }, token);
  let text = '';
  for await (const fragment of response.text) {
    text += fragment;
    stream.markdown(fragment);
  }
  await focus.engine.request('appendChat', { session: CHAT_SESSION, text: `User: ${request.prompt}\nAssistant: ${text}\n\n` });
  return { metadata: { command: '', tokens: result!.tokens, budget, references } };
}

/** Streams a reference per exact file range (at most MAX_REFERENCES) and returns them, for the result's metadata. */
function addReferences(stream: vscode.ChatResponseStream, result: FocusResult): { path: string; startLine: number; endLine: number }[] {
  const references = exactFileRanges(result.entries).slice(0, MAX_REFERENCES);
  for (const r of references) {
    stream.reference(new vscode.Location(vscode.Uri.file(r.path), new vscode.Range(r.startLine - 1, 0, r.endLine - 1, 0)));
  }
  return references;
}

export function registerChatParticipant(context: vscode.ExtensionContext, handler: ChatHandler): void {
  const participant = vscode.chat.createChatParticipant(PARTICIPANT_ID, handler);
  participant.iconPath = new vscode.ThemeIcon('layers');
  participant.followupProvider = {
    provideFollowups(result) {
      if (result.metadata?.command === 'focus') return [{ prompt: 'Answer using this focus', label: 'Ask with this focus' }];
      return [
        { prompt: 'Which files did you read exactly?', command: 'focus', label: 'Show the focus map' },
        { prompt: 'Remember the key decision from this answer.', label: 'Remember this' },
      ];
    },
  };
  context.subscriptions.push(participant);
}
