/**
 * Cutting a document into blocks of whole lines (DESIGN.md, invariant 2): a block is a run of whole
 * lines of at most BLOCK_TOKENS tokens, a line longer than that is cut into BLOCK_TOKENS-token pieces
 * (the only place a block boundary falls inside a line), and every unit's first line starts a block.
 * So an exact run in the prompt, a sequence of whole blocks, starts at a line start and ends at a line end.
 *
 * Greedy from the start: a block closes only when the next line does not fit or starts a unit. Appending
 * text to a document therefore never moves an earlier boundary, only the last block's end (chat
 * transcripts rely on this: their closed blocks keep their gists).
 */
import { BLOCK_TOKENS } from './constants';
import { tokenLineFeeds } from './tokenizer';
import type { Unit } from './units';

/**
 * Token offsets of block boundaries: [0, …, tokens.length] (just [0] for an empty document).
 * `breaks`: ascending 0-based line numbers that must start a block (units' first lines). Tokens come
 * from tokenizeDocument, so each line start is a token boundary (apart from lines inside a run of
 * line feeds, which hold no tokens of their own).
 */
export function cutBlocks(tokens: Uint32Array, breaks: ArrayLike<number>, max = BLOCK_TOKENS): Uint32Array {
  const out: number[] = [0];
  let blockStart = 0;
  let next = 0; // index into breaks
  let line = 0; // the line that starts at token `lineStart`
  let lineStart = 0;
  const place = (end: number): void => {
    while (next < breaks.length && breaks[next] < line) next++;
    const forced = next < breaks.length && breaks[next] === line;
    if (lineStart > blockStart && (forced || end - blockStart > max)) {
      out.push(lineStart);
      blockStart = lineStart;
    }
    while (end - blockStart > max) {
      blockStart += max;
      out.push(blockStart);
    }
  };
  for (let i = 0; i < tokens.length; i++) {
    const feeds = tokenLineFeeds(tokens[i]);
    if (feeds === 0) continue;
    place(i + 1);
    line += feeds;
    lineStart = i + 1;
  }
  if (lineStart < tokens.length) place(tokens.length);
  if (tokens.length > out[out.length - 1]) out.push(tokens.length);
  return Uint32Array.from(out);
}

/** Kinds of units whose first line starts a block: every kind the parser names (fallback paragraphs only at the top level). */
function breaksBlock(u: Unit): boolean {
  return u.kind !== 'block' || u.parent < 0;
}

/** The ascending, distinct first lines of the units that start blocks. */
export function unitBreaks(units: readonly Unit[]): Uint32Array {
  const lines = new Set<number>();
  for (const u of units) if (breaksBlock(u)) lines.add(u.start);
  return Uint32Array.from([...lines].sort((a, b) => a - b));
}

/** LOD1/LOD2 node counts of `nBlocks` blocks: a complete file gists its last block too; an appending one waits for it to close. */
export function blockNodeCounts(nBlocks: number, appending: boolean, groupBlocks: number): { lod1: number; lod2: number } {
  const lod1 = appending ? Math.max(0, nBlocks - 1) : nBlocks;
  const lod2 = appending ? Math.floor(lod1 / groupBlocks) : Math.ceil(lod1 / groupBlocks);
  return { lod1, lod2 };
}
