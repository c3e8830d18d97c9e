// Turns an extension (or MCP) `focus` request into a working context and the FocusResult sent back:
// line-range pins become token holds, the recent chat tail is held at LOD0, and the entries, snapshot
// and report all come from the one focus view (focusView.ts).
import { FocusEngine } from '../core/engine';
import type { Hold } from '../core/focus';
import { countPromptTokens } from '../core/tokenizer';
import type { TreeDocument } from '../core/tree';
import { focusView, type FocusView } from './focusView';
import type { EntrySummary, FocusParams, FocusResult, FocusSettingsParams, LineHold } from './protocol';
import { focusReport } from './report';
import type { FocusSnapshot } from '../webview/protocol';
import type { MemorySession } from './session';
import { snapshotFromView } from './snapshot';

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

/** Cold-start rebuilds go to stderr: the extension shows the engine host's stderr in its output channel. */
const logToStderr = (line: string) => { process.stderr.write(`[megacontext] ${line}\n`); };

export async function runFocus(session: MemorySession, params: FocusParams, onRebuild: (line: string) => void = logToStderr): Promise<FocusResult> {
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
  const view = await focusView(new FocusEngine(tree, session.runtime), {
    query: params.query,
    budget: params.budget,
    holds,
    caps,
    settings: definedSettings(params.settings),
    scorer: params.scorer,
    displayPath: session.displayPath,
  }, onRebuild);
  session.lastSnapshot = snapshotFromView(view, { previous: session.lastSnapshot });
  return focusResultOf(view, session.lastSnapshot);
}

/** Allocator settings as sent, without the keys left undefined (they would override the defaults). */
function definedSettings(settings: FocusSettingsParams | undefined): FocusSettingsParams | undefined {
  if (!settings) return undefined;
  return Object.fromEntries(Object.entries(settings).filter(([, v]) => v !== undefined)) as FocusSettingsParams;
}

/** What the extension (and the MCP server) receives: the view's entries, composition, telemetry and report, with its snapshot. */
export function focusResultOf(view: FocusView, snapshot: FocusSnapshot): FocusResult {
  const wc = view.wc;
  const entries: EntrySummary[] = [];
  const composition = [0, 1, 2, 3].map((lod) => ({ lod, entries: 0 }));
  for (const e of view.perDoc.flat()) {
    entries.push({
      path: e.doc.id,
      display: e.display,
      kind: e.doc.kind,
      lod: e.lod,
      start: e.start,
      end: e.end,
      charStart: e.charStart,
      charEnd: e.charEnd,
      startLine: e.startLine,
      endLine: e.endLine,
      held: e.held,
    });
    composition[e.lod].entries++;
  }
  // Measured on the rendered prompt: exact runs are LOD0 text, the rest is gists, headers and markers.
  let exactTokens = 0;
  for (const run of wc.rendered.exactRuns) exactTokens += countPromptTokens(wc.rendered.prompt.slice(run.promptStart, run.promptEnd));
  const telemetry: Record<string, number> = {};
  for (const [k, v] of Object.entries(wc.telemetry)) if (typeof v === 'number') telemetry[k] = v;
  const result: Omit<FocusResult, 'report' | 'snapshot'> = {
    query: wc.query,
    budget: wc.budget,
    prompt: wc.rendered.prompt,
    tokens: wc.rendered.tokens,
    entries,
    composition,
    exactTokens,
    documents: wc.perDoc.length,
    // The engine reports which scorer ran (lens2 or lens fall back to the plan without their models).
    scorer: wc.scorer === 'lens' || wc.scorer === 'lens2' ? wc.scorer : 'lexical',
    telemetry,
    timings: { ...wc.timings },
    ...(view.lexicalOnly !== undefined ? { lexicalOnly: view.lexicalOnly } : {}),
  };
  return { ...result, report: focusReport(result, snapshot.inContext), snapshot };
}
