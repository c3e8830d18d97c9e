/**
 * The structure of a document as runs of blocks: definition scopes (a def/class line and its body) and
 * sections (a conversation's session, a Markdown heading's span, a top-level definition), computed once
 * per document version from its text.
 */
import type { TreeDocument } from './tree';

/** Index of the block holding character `c`. */
function blockAtChar(doc: TreeDocument, c: number): number {
  let lo = 0;
  let hi = doc.nBlocks - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if (doc.blockChar[mid] <= c) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

const DEFINITION_LINE = /^([ \t]*)(?:export\s+)?(?:default\s+)?(?:async\s+)?(?:def|class|function|interface|struct|enum|fn|func)\s+[A-Za-z_$]/gm;

/** Definition scopes of a document, as [definition block, last block of its body] pairs (computed once). */
const scopeCache = new WeakMap<TreeDocument, Uint32Array>();

export function definitionScopes(doc: TreeDocument): Uint32Array {
  let out = scopeCache.get(doc);
  if (out) return out;
  const pairs: number[] = [];
  const text = doc.text;
  const blockAt = (c: number) => blockAtChar(doc, c);
  for (const m of text.matchAll(DEFINITION_LINE)) {
    const indent = m[1].replace(/\t/g, '    ').length;
    // The body: following lines until a non-blank line indented no deeper (Python), or a line that
    // closes at the definition's indentation (brace languages end with `}` there: included).
    let pos = text.indexOf('\n', m.index!);
    let end = pos < 0 ? text.length : pos;
    while (pos >= 0 && pos + 1 < text.length) {
      const next = text.indexOf('\n', pos + 1);
      const line = text.slice(pos + 1, next < 0 ? text.length : next);
      if (line.trim() !== '') {
        const ind = (/^[ \t]*/.exec(line)![0]).replace(/\t/g, '    ').length;
        if (ind <= indent) {
          if (/^[ \t]*[}\])]/.test(line)) end = next < 0 ? text.length : next;
          break;
        }
        end = next < 0 ? text.length : next;
      }
      pos = next;
    }
    const b0 = blockAt(m.index! + m[1].length);
    const b1 = blockAt(Math.max(m.index!, end - 1));
    if (b1 > b0) pairs.push(b0, b1);
  }
  out = Uint32Array.from(pairs);
  scopeCache.set(doc, out);
  return out;
}

/** A section is cut after this many blocks (512 tokens) even without a heading. */
export const SECTION_BLOCKS = 16;

const SECTION_START = /^(?:#{1,6}[ \t]|(?:export\s+)?(?:default\s+)?(?:async\s+)?(?:def|class|function|interface|struct|enum|fn|func)\s+[A-Za-z_$])/gm;

const sectionCache = new WeakMap<TreeDocument, Uint32Array>();

/**
 * Each block's section number (0, 1, … in order): a section starts at the block holding a heading
 * line or a top-level definition, and at most SECTION_BLOCKS blocks after the previous start.
 */
export function sectionOfBlocks(doc: TreeDocument): Uint32Array {
  let out = sectionCache.get(doc);
  if (out) return out;
  const starts = new Uint8Array(doc.nBlocks);
  for (const m of doc.text.matchAll(SECTION_START)) starts[blockAtChar(doc, m.index!)] = 1;
  out = new Uint32Array(doc.nBlocks);
  let s = 0;
  let since = 0;
  for (let b = 0; b < doc.nBlocks; b++) {
    if (b > 0 && (starts[b] || since >= SECTION_BLOCKS)) { s++; since = 0; }
    out[b] = s;
    since++;
  }
  sectionCache.set(doc, out);
  return out;
}
