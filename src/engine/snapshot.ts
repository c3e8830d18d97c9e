// Turns a focus view (focusView.ts) into the viewer's FocusSnapshot: plain JSON, so it can be built in
// the engine host process and travel over IPC to the extension and on to the webview unchanged. Span
// costs are the view's (the allocator's CostModel), the same numbers `focus --json` reports.
import type { WorkingContext } from '../core/engine';
import { BLOCK_WORDS, bareFolders, bareRunPart, foldLine, GROUP_CHILDREN, groupGistText, rootLine, shownBlockGist } from '../core/render';
import type { TreeDocument } from '../core/tree';
import { spanKey, type FocusDocument, type FocusSnapshot, type FocusSpan, type LodTotals } from '../webview/protocol';
import { viewOf, type FocusedEntry, type FocusView } from './focusView';
import { inContextItems, relevanceOrder, spanNames } from './inContext';

export interface SnapshotOptions {
  /** The snapshot shown before this refocus: fills `changed` with what expanded and collapsed. */
  previous?: FocusSnapshot;
  /** Exact text longer than this is cut in `gistText` (the model sees all of it). */
  maxExactChars?: number;
  /** The learned models are not in use: why (the viewer labels the map "lexical only"). */
  lexicalOnly?: string;
}

const DEFAULT_MAX_EXACT_CHARS = 800;

/** The snapshot of a bare working context (tests, benchmarks): its view, then the snapshot. */
export function snapshotFromWorkingContext(
  wc: WorkingContext,
  displayPath: (doc: TreeDocument) => string,
  options: SnapshotOptions = {},
): FocusSnapshot {
  return snapshotFromView(viewOf(wc, displayPath, { lexicalOnly: options.lexicalOnly }), options);
}

export function snapshotFromView(view: FocusView, options: SnapshotOptions = {}): FocusSnapshot {
  const wc = view.wc;
  const maxExact = options.maxExactChars ?? DEFAULT_MAX_EXACT_CHARS;
  const byLod: LodTotals = { 0: 0, 1: 0, 2: 0, 3: 0 };
  const documents: FocusDocument[] = [];
  const paths = view.perDoc.map((es) => (es.length > 0 ? es[0].display : ''));
  const folders = bareFolders(wc.perDoc, paths);
  view.perDoc.forEach((entries, i) => {
    if (entries.length === 0) return;
    const doc = entries[0].doc;
    const path = paths[i];
    // A bare path is its part of a folder line (`· dir/: a.py`, ` | b.py`), as the prompt shows it.
    const bare = folders[i] !== undefined ? bareRunPart(path, folders[i - 1], folders[i + 1]) : undefined;
    const spans = entries.map((e) => spanOf(e, path, maxExact, bare));
    for (const s of spans) byLod[s.lod] += s.cost;
    documents.push({ id: doc.id, path, tokens: doc.tokenCount, spans });
  });
  // By relevance (what the model reads exactly comes first); `changed` keys and span refs use paths, not indices.
  const order = relevanceOrder(documents);
  const ordered = order.map((i) => documents[i]);
  const docIndex = new Map(ordered.map((d, i) => [d.id, i]));
  const t = wc.telemetry;
  const spent = byLod[0] + byLod[1] + byLod[2] + byLod[3];
  const snapshot: FocusSnapshot = {
    query: wc.query,
    budget: wc.budget,
    usedTokens: wc.rendered.tokens,
    byLod,
    overheadTokens: Math.max(0, wc.rendered.tokens - spent),
    documents: ordered,
    inContext: inContextItems(view, docIndex),
    telemetry: {
      actions: t.expands + t.collapses,
      expands: t.expands,
      collapses: t.collapses,
      swapRate: t.swapRate,
      iterations: t.iterations,
      oscillations: t.oscillations,
      budgetUtilisation: t.budgetUtilisation,
      timings: { ...wc.timings },
    },
  };
  const lexicalOnly = options.lexicalOnly ?? view.lexicalOnly;
  if (lexicalOnly !== undefined) snapshot.lexicalOnly = lexicalOnly;
  if (options.previous) snapshot.changed = diffSnapshots(options.previous, snapshot);
  return snapshot;
}

function spanOf(f: FocusedEntry, path: string, maxExact: number, barePart?: string): FocusSpan {
  const e = f.entry;
  const doc = f.doc;
  let gistText: string;
  let truncated = false;
  if (e.lod === 0) {
    const text = doc.text.slice(f.charStart, f.charEnd);
    truncated = text.length > maxExact;
    gistText = truncated ? text.slice(0, maxExact) : text;
  } else if (e.lod === 1 || e.lod === 2) {
    // Gists share a line with their neighbours of the same level in the prompt; the span's own part is its
    // gist. A block that is not a landmark shows no words there.
    gistText = e.lod === 1 ? shownBlockGist(doc, e.index, BLOCK_WORDS) : groupGistText(doc, e.index, GROUP_CHILDREN);
  } else {
    const line = e.fold ? foldLine({ ...e.fold, head: true }) : (barePart ?? rootLine(doc, path, e.bare));
    gistText = line.replace(/\n$/, '').trimStart();
  }
  const span: FocusSpan = { lod: f.lod, start: f.start, end: f.end, startLine: f.startLine, endLine: f.endLine, score: roundScore(f.score), gistText, truncated, pinned: f.held, cost: f.cost };
  // A root line already names the document's main units; the other spans name theirs from the outline.
  if (f.lod !== 3) span.names = spanNames(f);
  return span;
}

const roundScore = (s: number) => (Number.isFinite(s) ? Math.round(s * 1000) / 1000 : 0);

/**
 * Spans of `next` that are finer (expanded) or coarser (collapsed) than what covered the same tokens in
 * `prev`. Documents new to `next` count as neither.
 */
export function diffSnapshots(prev: FocusSnapshot, next: FocusSnapshot): { expanded: string[]; collapsed: string[] } {
  const before = new Map(prev.documents.map((d) => [d.path, d]));
  const expanded: string[] = [];
  const collapsed: string[] = [];
  for (const doc of next.documents) {
    const old = before.get(doc.path);
    if (!old) continue;
    let j = 0;
    for (const s of doc.spans) {
      while (j + 1 < old.spans.length && old.spans[j].end <= s.start) j++;
      const o = old.spans[j];
      if (!o || (o.lod === s.lod && o.start === s.start)) continue;
      if (s.lod < o.lod) expanded.push(spanKey(doc.path, s));
      else if (s.lod > o.lod) collapsed.push(spanKey(doc.path, s));
    }
  }
  return { expanded, collapsed };
}
