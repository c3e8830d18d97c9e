// Turns an extension `focus` request into a working context and the summary the extension shows:
// line-range pins become token holds, the recent chat tail is held at LOD0, and every entry is
// described by path, LOD, token/char span and 1-based lines.
import { FocusEngine } from '../core/engine';
import { LexicalRuntime } from '../core/lexicalRuntime';
import type { Hold } from '../core/focus';
import { countPromptTokens, lineOf } from '../core/tokenizer';
import type { TreeDocument } from '../core/tree';
import type { EntrySummary, FocusParams, FocusResult, LineHold } from './protocol';
import type { MemorySession } from './session';
import { snapshotFromWorkingContext } from '../webview/snapshot';

/** Tokens at the end of the active chat transcript that stay exact. */
const CHAT_TAIL_TOKENS = 256;

export function chatDocId(session: string): string {
  return `chat:${session}`;
}

/** Token range of a 1-based inclusive line range, widened to whole blocks. */
export function lineHoldToTokens(doc: TreeDocument, h: LineHold): Hold | undefined {
  if (doc.nBlocks === 0) return undefined;
  const lines = doc.lines.length;
  const first = Math.min(Math.max(1, h.startLine), lines);
  const last = Math.min(Math.max(first, h.endLine), lines);
  const charStart = doc.lines[first - 1];
  const charEnd = last < lines ? doc.lines[last] - 1 : doc.textLength;
  const b0 = doc.blockAtChar(charStart);
  const b1 = doc.blockAtChar(Math.max(charStart, charEnd - 1));
  return { docId: doc.id, start: doc.blockTok[b0], end: doc.blockTok[b1 + 1] };
}

export async function runFocus(session: MemorySession, params: FocusParams): Promise<FocusResult> {
  const tree = session.tree;
  const holds: Hold[] = [];
  for (const h of params.holds ?? []) {
    const doc = tree.documents.get(h.path);
    const hold = doc && lineHoldToTokens(doc, h);
    if (hold) holds.push(hold);
  }
  const caps: Hold[] = [];
  for (const h of params.collapsed ?? []) {
    const doc = tree.documents.get(h.path);
    const cap = doc && lineHoldToTokens(doc, h);
    if (cap) caps.push(cap);
  }
  const chat = params.chatSession ? tree.documents.get(chatDocId(params.chatSession)) : undefined;
  if (chat && chat.tokenCount > 0) {
    const start = chat.blockTok[chat.blockAtToken(Math.max(0, chat.tokenCount - CHAT_TAIL_TOKENS))];
    holds.push({ docId: chat.id, start, end: chat.tokenCount });
  }
  const lexical = session.runtime instanceof LexicalRuntime ? session.runtime : undefined;
  const engine = new FocusEngine(tree, session.runtime);
  const wc = await engine.focus({
    query: params.query,
    budget: params.budget,
    holds,
    caps,
    settings: params.settings ?? undefined,
    scorer: params.scorer,
    displayPath: session.displayPath,
  });
  const entries: EntrySummary[] = [];
  const composition = [0, 1, 2, 3].map((lod) => ({ lod, entries: 0 }));
  for (const docEntries of wc.perDoc) {
    for (const e of docEntries) {
      const doc = e.doc;
      const [charStart, charEnd] = e.lod === 3 ? [0, doc.textLength] : doc.charRange(e.start, e.end);
      entries.push({
        path: doc.id,
        display: session.displayPath(doc),
        kind: doc.kind,
        lod: e.lod,
        start: e.start,
        end: e.end,
        charStart,
        charEnd,
        startLine: lineOf(doc.lines, charStart),
        endLine: lineOf(doc.lines, Math.max(charStart, charEnd - 1)),
        held: e.held === true,
      });
      composition[e.lod].entries++;
    }
  }
  // Measured on the rendered prompt: exact runs are LOD0 text, the rest is gists, headers and markers.
  let exactTokens = 0;
  for (const run of wc.rendered.exactRuns) exactTokens += countPromptTokens(wc.rendered.prompt.slice(run.promptStart, run.promptEnd));
  const telemetry: Record<string, number> = {};
  for (const [k, v] of Object.entries(wc.telemetry)) if (typeof v === 'number') telemetry[k] = v;
  return {
    query: wc.query,
    budget: wc.budget,
    prompt: wc.rendered.prompt,
    tokens: wc.rendered.tokens,
    entries,
    composition,
    exactTokens,
    documents: wc.perDoc.length,
    // The protocol asks for lens or lexical only; the engine reports which one ran.
    scorer: wc.scorer === 'lens' ? 'lens' : 'lexical',
    telemetry,
    timings: { ...wc.timings },
    snapshot: (session.lastSnapshot = snapshotFromWorkingContext(wc, session.displayPath, {
      previous: session.lastSnapshot,
      lexicalOnly: lexical?.reason,
    })),
    ...(lexical ? { lexicalOnly: lexical.reason } : {}),
  };
}
