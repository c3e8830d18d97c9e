// `megacontext focus --json`: one object per query (README, "focus --json output", a stable contract),
// derived from the focus view like every other surface.
import { redactPath } from '../core/secrets';
import type { TreeDocument } from '../core/tree';
import type { FocusView } from './focusView';

/** `documents`: every document of the tree in rendering order (core/engine.ts documentOrder). */
export function focusJson(view: FocusView, query: { id: string; query: string }, documents: readonly TreeDocument[], withPrompt: boolean) {
  const wc = view.wc;
  return {
    id: query.id,
    query: query.query,
    budget: wc.budget,
    usedTokens: wc.rendered.tokens,
    // A key in a file's name is masked here too (redactPath), as in the prompt's headers.
    documents: documents.map((d) => ({ path: redactPath(d.id), tokens: d.tokenCount, chars: d.textLength })),
    entries: view.perDoc.flat().map((e) => ({
      path: redactPath(e.doc.id), lod: e.lod, start: e.start, end: e.end, charStart: e.charStart, charEnd: e.charEnd, cost: e.cost, score: Math.round(e.score * 1e4) / 1e4,
    })),
    ...(withPrompt ? { prompt: wc.rendered.prompt, mapLines: wc.rendered.mapLines.map(({ docId, ...m }) => ({ path: redactPath(docId), ...m })) } : {}),
    ...(view.lexicalOnly !== undefined ? { lexicalOnly: view.lexicalOnly } : {}),
    // A cold-start rebuild says why in the telemetry (coldRebuilds counts them).
    telemetry: view.rebuilds.length > 0 ? { ...wc.telemetry, coldRebuildReasons: view.rebuilds.map((v) => `${v.invariant}: ${v.message}`) } : wc.telemetry,
    timings: wc.timings,
  };
}
