import { BLOCK_TOKENS } from './constants';
import type { Entry } from './entry';
import { unescapeExact, type Rendered } from './render';
import type { TreeDocument } from './tree';

/**
 * Whether an exact run may start at `c`: at a line start, or where an over-long line was cut (the block
 * before is a full BLOCK_TOKENS-token piece that does not end its line).
 */
function lineTrueStart(doc: TreeDocument, text: string, c: number): boolean {
  if (c === 0 || text[c - 1] === '\n') return true;
  const b = doc.blockAtChar(c);
  return b > 0 && doc.blockChar[b] === c && doc.blockTok[b] - doc.blockTok[b - 1] === BLOCK_TOKENS;
}

/** Whether an exact run may end at `c`: at a line end (or the text's end), or where an over-long line was cut. */
function lineTrueEnd(doc: TreeDocument, text: string, c: number): boolean {
  if (c === text.length || text[c - 1] === '\n') return true;
  const b = doc.blockAtChar(c);
  return doc.blockChar[b] === c && b > 0 && doc.blockTok[b] - doc.blockTok[b - 1] === BLOCK_TOKENS;
}

/** A broken invariant of DESIGN.md, named by number. */
export interface Violation {
  invariant: 'coverage' | 'alignment' | 'budget' | 'exactness' | 'legality';
  message: string;
}

/**
 * Checks coverage, alignment, budget and exactness of a working context and its rendering.
 * Legality of individual actions is enforced by construction in the allocator and checked by its tests;
 * here an entry that is not a node of its level (e.g. an LOD2 entry of an appending document's
 * unfinished group) is reported as a legality violation.
 */
export function checkWorkingContext(perDoc: Entry[][], rendered: Rendered | undefined, budget: number): Violation[] {
  const out: Violation[] = [];
  for (const entries of perDoc) {
    if (entries.length === 0) continue;
    const doc = entries[0].doc;
    const n = doc.tokenCount;
    let pos = 0;
    for (const e of entries) {
      if (e.doc !== doc) out.push({ invariant: 'coverage', message: `${doc.id}: entry of another document in its list` });
      if (e.start !== pos) out.push({ invariant: 'coverage', message: `${doc.id}: gap or overlap at token ${pos} (entry starts at ${e.start})` });
      pos = e.end;
      if (e.lod === 3) {
        if (e.start !== 0 || e.end !== n || entries.length !== 1) out.push({ invariant: 'alignment', message: `${doc.id}: a root entry must be the document's only entry` });
        continue;
      }
      const [s0, s1] = doc.span(e.lod, e.index);
      if (e.start !== s0 || e.end !== s1) out.push({ invariant: 'alignment', message: `${doc.id}: LOD${e.lod} entry ${e.index} spans tokens ${e.start}-${e.end}, its node ${s0}-${s1}` });
      if (e.lod === 1 && e.index >= doc.nLod1) out.push({ invariant: 'legality', message: `${doc.id}: block ${e.index} has no LOD1 node` });
      if (e.lod === 2 && e.index >= doc.nLod2) out.push({ invariant: 'legality', message: `${doc.id}: group ${e.index} has no LOD2 node` });
    }
    if (pos !== n) out.push({ invariant: 'coverage', message: `${doc.id}: entries end at ${pos}, document has ${n} tokens` });
  }
  if (rendered) {
    if (rendered.tokens > budget) out.push({ invariant: 'budget', message: `rendered ${rendered.tokens} tokens > budget ${budget}` });
    const texts = new Map<Entry['doc'], string>();
    for (const r of rendered.exactRuns) {
      let text = texts.get(r.doc);
      if (text === undefined) texts.set(r.doc, (text = r.doc.text));
      if (unescapeExact(rendered.prompt.slice(r.promptStart, r.promptEnd)) !== text.slice(r.charStart, r.charEnd)) {
        out.push({ invariant: 'exactness', message: `${r.doc.id}: exact text at chars ${r.charStart}-${r.charEnd} differs in the prompt` });
      }
      if (!lineTrueStart(r.doc, text, r.charStart) || !lineTrueEnd(r.doc, text, r.charEnd)) {
        out.push({ invariant: 'alignment', message: `${r.doc.id}: exact text at chars ${r.charStart}-${r.charEnd} is not whole lines` });
      }
    }
  }
  return out;
}
