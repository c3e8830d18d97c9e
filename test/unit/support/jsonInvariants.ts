import { readFileSync } from 'node:fs';
import { escapeExact } from '../../../src/core/render';
import { countPromptTokens } from '../../../src/core/tokenizer';

interface JsonEntry { path: string; lod: number; start: number; end: number; charStart: number; charEnd: number; cost: number; score: number }
export interface FocusJson {
  id: string;
  query: string;
  budget: number;
  usedTokens: number;
  documents: { path: string; tokens: number; chars: number }[];
  entries: JsonEntry[];
  prompt?: string;
  telemetry: Record<string, number>;
  timings: Record<string, number>;
}

/**
 * Checks DESIGN.md's invariants on the CLI's JSON alone (plus the files on disk), as an outside
 * consumer would: coverage, alignment, budget, exactness. Returns the violations found.
 */
export function checkFocusJson(j: FocusJson, readText: (path: string) => string = (p) => readFileSync(p, 'utf8')): string[] {
  const bad: string[] = [];
  if (j.prompt !== undefined && countPromptTokens(j.prompt) !== j.usedTokens) bad.push(`usedTokens ${j.usedTokens} is not the prompt's token count`);
  if (j.usedTokens > j.budget) bad.push(`usedTokens ${j.usedTokens} > budget ${j.budget}`);
  const byDoc = new Map<string, JsonEntry[]>();
  for (const e of j.entries) {
    if (!byDoc.has(e.path)) byDoc.set(e.path, []);
    byDoc.get(e.path)!.push(e);
  }
  for (const d of j.documents) {
    const es = byDoc.get(d.path) ?? [];
    if (es.length === 0) bad.push(`${d.path}: not in the working context`);
    let pos = 0;
    let charPos = 0;
    for (const e of es) {
      if (e.start !== pos) bad.push(`${d.path}: coverage gap/overlap at token ${pos}`);
      if (e.charStart !== charPos) bad.push(`${d.path}: char coverage gap at ${charPos}`);
      pos = e.end;
      charPos = e.charEnd;
      // A block is at most 32 tokens of whole lines (a piece of a longer line is exactly 32), a group at most 32 blocks.
      const w = e.lod === 2 ? 1024 : e.lod === 3 ? d.tokens : 32;
      if (e.lod === 3 && (es.length !== 1 || e.start !== 0 || e.end !== d.tokens)) bad.push(`${d.path}: root entry must cover the document alone`);
      if (e.lod < 3 && (e.end <= e.start || e.end - e.start > w)) bad.push(`${d.path}: LOD${e.lod} [${e.start},${e.end}) is not a node's span`);
    }
    if (pos !== d.tokens) bad.push(`${d.path}: entries end at ${pos} of ${d.tokens} tokens`);
    if (charPos !== d.chars) bad.push(`${d.path}: entries end at char ${charPos} of ${d.chars}`);
    if (j.prompt !== undefined) {
      const text = readText(d.path);
      // Runs of consecutive LOD0 entries appear verbatim in the prompt.
      for (let i = 0; i < es.length; i++) {
        if (es[i].lod !== 0) continue;
        let k = i;
        while (k + 1 < es.length && es[k + 1].lod === 0) k++;
        const exact = text.slice(es[i].charStart, es[k].charEnd);
        // Verbatim up to the documented escape (a line starting like structure has one backslash added).
        if (!j.prompt.includes(escapeExact(exact))) bad.push(`${d.path}: exact text [${es[i].charStart},${es[k].charEnd}) is not verbatim in the prompt`);
        const pieceStart = es[i].end - es[i].start === 32 || (i > 0 && es[i - 1].end - es[i - 1].start === 32);
        if (es[i].charStart > 0 && text[es[i].charStart - 1] !== '\n' && !pieceStart) bad.push(`${d.path}: exact text starts mid-line at char ${es[i].charStart}`);
        if (es[k].charEnd < text.length && text[es[k].charEnd - 1] !== '\n' && es[k].end - es[k].start !== 32) bad.push(`${d.path}: exact text ends mid-line at char ${es[k].charEnd}`);
        i = k;
      }
    }
  }
  return bad;
}
