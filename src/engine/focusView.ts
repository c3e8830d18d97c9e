// The one projection of a working context: every entry described once (path, LOD, token, char and line
// span, score) and priced once, by the allocator's own CostModel. The `focus --json` output
// (focusJson.ts), the viewer snapshot (snapshot.ts), the protocol's FocusResult (memory.ts) and
// the report text (report.ts) are all derived from it, so they cannot disagree.
import type { FocusEngine, FocusRequest, WorkingContext } from '../core/engine';
import type { Lod } from '../core/constants';
import type { Entry } from '../core/entry';
import type { Violation } from '../core/invariants';
import { CostModel } from '../core/cost';
import { lineOf } from '../core/tokenizer';
import type { TreeDocument } from '../core/tree';
import { lexicalOnlyReason } from './runtimeChoice';

export interface FocusedEntry {
  entry: Entry;
  doc: TreeDocument;
  /** Path as rendered in the prompt (the display path). */
  display: string;
  lod: Lod;
  start: number;
  end: number;
  /** JavaScript string offsets into the document's text; a document root covers all of it. */
  charStart: number;
  charEnd: number;
  /** 1-based, inclusive. */
  startLine: number;
  endLine: number;
  held: boolean;
  score: number;
  /** The entry's own rendered cost in tokens (CostModel: LOD0 its tokens, a gist its share of its line, a root or bare path its line or part of one). */
  cost: number;
}

export interface FocusView {
  wc: WorkingContext;
  /** Entries per document, in rendering order (every document exactly once). */
  perDoc: FocusedEntry[][];
  displayPath: (doc: TreeDocument) => string;
  /** Set when the learned models are not in use: why. */
  lexicalOnly?: string;
  /** Invariant violations that made the engine rebuild this context from a cold start (DESIGN: logged, never sent broken). */
  rebuilds: Violation[];
}

export function viewOf(
  wc: WorkingContext,
  displayPath: (doc: TreeDocument) => string,
  options: { lexicalOnly?: string; rebuilds?: Violation[] } = {},
): FocusView {
  const costs = new CostModel(displayPath);
  const perDoc = wc.perDoc.map((entries, i) => entries.map((e): FocusedEntry => {
    const doc = e.doc;
    const [charStart, charEnd] = e.lod === 3 ? [0, doc.textLength] : doc.charRange(e.start, e.end);
    return {
      entry: e,
      doc,
      display: displayPath(doc),
      lod: e.lod,
      start: e.start,
      end: e.end,
      charStart,
      charEnd,
      startLine: lineOf(doc.lines, charStart),
      endLine: lineOf(doc.lines, Math.max(charStart, charEnd - 1)),
      held: e.held === true,
      score: e.score,
      // A bare path also carries what its neighbours on the folder line make it cost (the `· folder/:`
      // prefix of the first name, or a line of its own): its whole part of the prompt, as rendered.
      cost: costs.entryCost(e) + (e.lod === 3 ? costs.bareRunExtra(wc.perDoc, i) : 0),
    };
  }));
  return { wc, perDoc, displayPath, ...(options.lexicalOnly !== undefined ? { lexicalOnly: options.lexicalOnly } : {}), rebuilds: options.rebuilds ?? [] };
}

/** The one line a cold-start rebuild is logged with (output channel, CLI stderr). */
export function rebuildNotice(query: string, violations: readonly Violation[]): string {
  const shown = violations.slice(0, 3).map((v) => `${v.invariant}: ${v.message}`).join('; ');
  const more = violations.length > 3 ? `; and ${violations.length - 3} more` : '';
  return `cold-start rebuild: the working context for ${JSON.stringify(query)} broke ${violations.length} invariant check(s) (${shown}${more}); it was rebuilt from the tree and the broken one never sent`;
}

/**
 * Focuses `engine`'s tree for `req` and projects the result: the one way the host, the CLI and the MCP
 * server run a focus. A cold-start rebuild is reported to `onRebuild` (one line) and kept in the view.
 */
export async function focusView(
  engine: FocusEngine,
  req: FocusRequest & { displayPath: (doc: TreeDocument) => string },
  onRebuild: (line: string) => void,
): Promise<FocusView> {
  const rebuilds: Violation[] = [];
  const wc = await engine.focus({
    ...req,
    onViolation: (violations) => {
      rebuilds.push(...violations);
      req.onViolation?.(violations);
      onRebuild(rebuildNotice(req.query, violations));
    },
  });
  return viewOf(wc, req.displayPath, { lexicalOnly: lexicalOnlyReason(engine.runtime), rebuilds });
}
