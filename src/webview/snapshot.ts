// Turns the engine's WorkingContext into the viewer's FocusSnapshot: plain JSON, so it can be built in
// the engine host process and travel over IPC to the extension and on to the webview unchanged.
import type { WorkingContext } from '../core/engine';
import type { Entry } from '../core/entry';
import { BLOCK_WORDS, bareFolders, bareRunPart, foldLine, GROUP_CHILDREN, groupGistText, rootLine, shownBlockGist } from '../core/render';
import { countPromptTokens, lineOf } from '../core/tokenizer';
import type { TreeDocument } from '../core/tree';
import { spanKey, type FocusDocument, type FocusSnapshot, type FocusSpan, type LodTotals } from './protocol';

export interface SnapshotOptions {
  /** The snapshot shown before this refocus: fills `changed` with what expanded and collapsed. */
  previous?: FocusSnapshot;
  /** Exact text longer than this is cut in `gistText` (the model sees all of it). */
  maxExactChars?: number;
  /** The learned models are not in use: why (the viewer labels the map "lexical only"). */
  lexicalOnly?: string;
}

const DEFAULT_MAX_EXACT_CHARS = 800;

export function snapshotFromWorkingContext(
  wc: WorkingContext,
  displayPath: (doc: TreeDocument) => string,
  options: SnapshotOptions = {},
): FocusSnapshot {
  const maxExact = options.maxExactChars ?? DEFAULT_MAX_EXACT_CHARS;
  const byLod: LodTotals = { 0: 0, 1: 0, 2: 0, 3: 0 };
  const documents: FocusDocument[] = [];
  const paths = wc.perDoc.map((es) => (es.length > 0 ? displayPath(es[0].doc) : ''));
  const folders = bareFolders(wc.perDoc, paths);
  wc.perDoc.forEach((entries, i) => {
    if (entries.length === 0) return;
    const doc = entries[0].doc;
    const path = paths[i];
    // A bare path is its part of a folder line (`· dir/: a.py`, ` | b.py`), as the prompt shows it.
    const bare = folders[i] !== undefined ? bareRunPart(path, folders[i - 1], folders[i + 1]) : undefined;
    const spans = entries.map((e) => spanOf(e, path, maxExact, bare));
    for (const s of spans) byLod[s.lod] += s.cost;
    documents.push({ id: doc.id, path, tokens: doc.tokenCount, spans });
  });
  const t = wc.telemetry;
  const spent = byLod[0] + byLod[1] + byLod[2] + byLod[3];
  const snapshot: FocusSnapshot = {
    query: wc.query,
    budget: wc.budget,
    usedTokens: wc.rendered.tokens,
    byLod,
    overheadTokens: Math.max(0, wc.rendered.tokens - spent),
    documents,
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
  if (options.lexicalOnly !== undefined) snapshot.lexicalOnly = options.lexicalOnly;
  if (options.previous) snapshot.changed = diffSnapshots(options.previous, snapshot);
  return snapshot;
}

function spanOf(e: Entry, path: string, maxExact: number, barePart?: string): FocusSpan {
  const doc = e.doc;
  const [c0, c1] = doc.charRange(e.start, e.end);
  const startLine = lineOf(doc.lines, c0);
  const endLine = lineOf(doc.lines, Math.max(c0, c1 - 1));
  let gistText: string;
  let truncated = false;
  let cost: number;
  if (e.lod === 0) {
    const text = doc.text.slice(c0, c1);
    truncated = text.length > maxExact;
    gistText = truncated ? text.slice(0, maxExact) : text;
    cost = e.end - e.start;
  } else if (e.lod === 1 || e.lod === 2) {
    // Gists share a line with their neighbours of the same level in the prompt; the span's own part is its
    // gist. A block that is not a landmark shows no words there, and costs nothing beyond its line's range.
    gistText = e.lod === 1 ? shownBlockGist(doc, e.index, BLOCK_WORDS) : groupGistText(doc, e.index, GROUP_CHILDREN);
    cost = e.lod === 1 && gistText === '' ? 0 : countPromptTokens(gistText) + 1;
  } else {
    const line = e.fold ? foldLine({ ...e.fold, head: true }) : (barePart ?? rootLine(doc, path, e.bare));
    gistText = line.replace(/\n$/, '').trimStart();
    cost = countPromptTokens(line);
  }
  return { lod: e.lod, start: e.start, end: e.end, startLine, endLine, score: roundScore(e.score), gistText, truncated, pinned: e.held === true, cost };
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
