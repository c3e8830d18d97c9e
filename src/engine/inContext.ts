// "What does the model see, and why?": the exact runs of a working context as the prompt renders them
// (rendered.exactRuns), each with the units it shows (the outline) and why it is there (the query's
// words it contains, the scorer's best score, a pin); the unit names a span covers, for tooltips; and
// the order the viewer lists documents in. Derived from core's existing exports only.
import { GROUP_BLOCKS } from '../core/constants';
import { terms } from '../core/lexical';
import { mapName, outline, outlineNames, unitChain } from '../core/outline';
import { lineOf } from '../core/tokenizer';
import type { TreeDocument } from '../core/tree';
import type { FocusDocument, InContextItem } from '../webview/protocol';
import type { FocusedEntry, FocusView } from './focusView';

/** Units that name the code or section around a span (turns, statements and sessions name nothing useful there). */
const NAMED_AROUND = new Set(['function', 'method', 'class', 'interface', 'type', 'section']);

/** Unit names a tooltip or an In-context row shows at most. */
const MAX_NAMES = 8;

/** Blocks [b0, b1] of an entry (a root covers the whole document). */
function entryBlocks(f: FocusedEntry): [number, number] {
  const doc = f.doc;
  const last = Math.max(0, doc.nBlocks - 1);
  if (f.lod === 3) return [0, last];
  if (f.lod === 2) return [f.entry.index * GROUP_BLOCKS, Math.min(last, (f.entry.index + 1) * GROUP_BLOCKS - 1)];
  return [f.entry.index, f.entry.index];
}

/**
 * The units of blocks [b0, b1] as `name L12` items: those whose name line lies in the range, or, when
 * none does, the innermost named unit around it (`in name L40-120`). Empty for text without units.
 */
export function unitNamesOf(doc: TreeDocument, b0: number, b1: number): string[] {
  if (doc.nBlocks === 0) return [];
  const named = outlineNames(doc, b0, b1);
  if (named.length > 0) {
    const items = named.slice(0, MAX_NAMES).map((n) => `${mapName(n.name)} L${n.line}`);
    if (named.length > MAX_NAMES) items.push(`and ${named.length - MAX_NAMES} more`);
    return items;
  }
  const units = outline(doc).units;
  for (const u of unitChain(doc, b0)) {
    const unit = units[u];
    if (unit.name && NAMED_AROUND.has(unit.kind)) return [`in ${mapName(unit.name)} L${unit.start + 1}-${unit.end + 1}`];
  }
  return [];
}

export function spanNames(f: FocusedEntry): string[] {
  const [b0, b1] = entryBlocks(f);
  return unitNamesOf(f.doc, b0, b1);
}

/** The query's words, each with its search terms (lower-cased, lightly stemmed identifier parts). */
export function queryWords(query: string): { word: string; terms: string[] }[] {
  const seen = new Set<string>();
  const out: { word: string; terms: string[] }[] = [];
  for (const m of query.matchAll(/[\p{L}\p{N}_]+/gu)) {
    const ts = terms(m[0]);
    const key = m[0].toLowerCase();
    if (ts.length === 0 || seen.has(key)) continue;
    seen.add(key);
    out.push({ word: m[0], terms: ts });
  }
  return out;
}

/** The query's words (as typed) whose search terms occur in `text`, in the query's order. */
export function matchedWords(words: readonly { word: string; terms: string[] }[], text: string): string[] {
  if (words.length === 0) return [];
  const found = new Set(terms(text));
  return words.filter((w) => w.terms.some((t) => found.has(t))).map((w) => w.word);
}

/**
 * Relevance order of documents (indices into `documents`): most exact text first, then other detail by best
 * score, then documents shown only by their root line; ties keep the prompt's order (by path, folder lines intact).
 */
export function relevanceOrder(documents: readonly FocusDocument[]): number[] {
  const key = documents.map((d) => {
    let exact = 0;
    let detail = 0;
    let best = -Infinity;
    for (const s of d.spans) {
      if (s.lod === 0) exact += s.cost;
      else if (s.lod < 3) detail += s.cost;
      if (s.lod < 3) best = Math.max(best, s.score);
    }
    return { exact, detail, best };
  });
  return documents.map((_, i) => i).sort((a, b) => {
    const ka = key[a];
    const kb = key[b];
    const tier = (k: typeof ka) => (k.exact > 0 ? 0 : k.detail > 0 ? 1 : 2);
    return tier(ka) - tier(kb) ||
      (tier(ka) === 0 ? kb.exact - ka.exact : 0) ||
      (tier(ka) < 2 ? kb.best - ka.best || kb.detail - ka.detail : 0) ||
      a - b;
  });
}

/**
 * One row per exact run of the prompt, in the order of `docIndex` (the snapshot's document order), then by
 * line. `docIndex` maps a tree document id to its index in the snapshot.
 */
export function inContextItems(view: FocusView, docIndex: ReadonlyMap<string, number>): InContextItem[] {
  const words = queryWords(view.wc.query);
  const entriesOf = new Map<string, FocusedEntry[]>();
  for (const entries of view.perDoc) if (entries.length > 0) entriesOf.set(entries[0].doc.id, entries);
  const items: InContextItem[] = [];
  for (const run of view.wc.rendered.exactRuns) {
    const doc = run.doc;
    const index = docIndex.get(doc.id);
    if (index === undefined || run.charEnd <= run.charStart) continue;
    const startLine = lineOf(doc.lines, run.charStart);
    const endLine = lineOf(doc.lines, run.charEnd - 1);
    const b0 = doc.blockAtChar(run.charStart);
    const b1 = doc.blockAtChar(run.charEnd - 1);
    let score = -Infinity;
    let pinned = false;
    let tokens = 0;
    for (const f of entriesOf.get(doc.id) ?? []) {
      if (f.lod !== 0 || f.charEnd <= run.charStart || f.charStart >= run.charEnd) continue;
      score = Math.max(score, f.score);
      pinned ||= f.held;
      tokens += f.cost;
    }
    items.push({
      doc: index,
      path: view.displayPath(doc),
      startLine,
      endLine,
      names: unitNamesOf(doc, b0, b1),
      matched: matchedWords(words, doc.text.slice(run.charStart, run.charEnd)),
      score: Number.isFinite(score) ? Math.round(score * 1000) / 1000 : 0,
      pinned,
      tokens,
    });
  }
  return items.sort((a, b) => a.doc - b.doc || a.startLine - b.startLine);
}
