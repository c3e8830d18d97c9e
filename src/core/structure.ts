/**
 * The structure of a document as runs of blocks: definition scopes (a def/class line and its body) and
 * sections (a conversation's session, a Markdown heading's span, a top-level definition), computed once
 * per document version from its text.
 */
import { termId, terms } from './lexical';
import { hasOutline, outline } from './outline';
import { lineStarts } from './tokenizer';
import type { TreeDocument } from './tree';

/** A definition's keyword and its name, captured (def, class, function, … with their modifiers). */
const DEFINITION = String.raw`(?:export\s+)?(?:default\s+)?(?:async\s+)?(?:def|class|function|interface|struct|enum|fn|func)\s+([A-Za-z_$][\w$]*)`;

/** A definition line at any indentation (the indentation captured, then the name). */
const DEFINITION_LINE = new RegExp(String.raw`^([ \t]*)` + DEFINITION, 'gm');

/**
 * A document's definition lines: the block holding each line's start, the line's search terms and its
 * definition's name. Flat arrays (a tree keeps one per document, and string arrays per line cost ~7
 * bytes per token of a 1M-token tree).
 */
export interface DefinitionLines {
  blocks: Uint32Array;
  /** Line k's search terms as term ids (lexical.ts termId), in order, from termStart[k] to termStart[k + 1]. */
  termIds: Uint32Array;
  termStart: Uint32Array;
  /** One (term id, line) pair per distinct term of each line, ordered by id, then line: the lines holding a term. */
  indexIds: Uint32Array;
  indexLines: Uint32Array;
  /** The definitions' names, lower-cased, one per line (nameStarts: lineStarts of it, so name k is its line k + 1). */
  nameText: string;
  nameStarts: Uint32Array;
}

/** Name k of a document's definition lines. */
export function definitionName(d: DefinitionLines, k: number): string {
  return d.nameText.slice(d.nameStarts[k], k + 1 < d.nameStarts.length ? d.nameStarts[k + 1] - 1 : d.nameText.length);
}

/** A definition name's parts between underscores, digits and `$`, of four letters or more. */
export function nameParts(name: string): string[] {
  return name.split(/[_\d$]+/).filter((p) => p.length >= 4);
}

/** Definition lines and scopes, from one scan of the text per document version. */
interface Definitions extends DefinitionLines {
  /** [definition block, last block of its body] pairs, for definitions whose body reaches past their block. */
  scopes: Uint32Array;
}

const cache = new WeakMap<TreeDocument, Definitions>();

/** (term id, line) pairs sort as id × LINE_KEY + line (exact in a double: ids and lines stay under 2^32 and 2^21). */
const LINE_KEY = 2 ** 21;

/** Definition scopes of a document, as [definition block, last block of its body] pairs (computed once). */
export function definitionScopes(doc: TreeDocument): Uint32Array {
  return definitions(doc).scopes;
}

/** The definition lines of a document (def, class, function, … lines at any indentation), computed once. */
export function definitionLines(doc: TreeDocument): DefinitionLines {
  return definitions(doc);
}

function definitions(doc: TreeDocument): Definitions {
  let out = cache.get(doc);
  if (out) return out;
  const pairs: number[] = [];
  const blocks: number[] = [];
  const termIds: number[] = [];
  const termStart: number[] = [0];
  const keys: number[] = [];
  const names: string[] = [];
  const text = doc.text;
  for (const m of text.matchAll(DEFINITION_LINE)) {
    const lineEnd = text.indexOf('\n', m.index!);
    const b0 = doc.blockAtChar(m.index! + m[1].length);
    blocks.push(b0);
    const line = blocks.length - 1;
    const ids = terms(text.slice(m.index!, lineEnd < 0 ? text.length : lineEnd)).map(termId);
    termIds.push(...ids);
    termStart.push(termIds.length);
    for (const id of new Set(ids)) keys.push(id * LINE_KEY + line);
    names.push(m[2].toLowerCase());
    const indent = m[1].replace(/\t/g, '    ').length;
    // The body: following lines until a non-blank line indented no deeper (Python), or a line that
    // closes at the definition's indentation (brace languages end with `}` there: included).
    let pos = lineEnd;
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
    const b1 = doc.blockAtChar(Math.max(m.index!, end - 1));
    if (b1 > b0) pairs.push(b0, b1);
  }
  const sorted = Float64Array.from(keys).sort();
  const nameText = names.join('\n');
  out = {
    scopes: Uint32Array.from(pairs), blocks: Uint32Array.from(blocks), termIds: Uint32Array.from(termIds), termStart: Uint32Array.from(termStart),
    indexIds: Uint32Array.from(sorted, (x) => Math.floor(x / LINE_KEY)), indexLines: Uint32Array.from(sorted, (x) => x % LINE_KEY),
    nameText, nameStarts: lineStarts(nameText),
  };
  cache.set(doc, out);
  return out;
}

/** A section is cut after this many blocks (512 tokens) even without a heading. */
export const SECTION_BLOCKS = 16;

/** A section starts at a Markdown heading or a top-level definition. */
const SECTION_START = new RegExp(String.raw`^(?:#{1,6}[ \t]|` + DEFINITION + ')', 'gm');

const sectionCache = new WeakMap<TreeDocument, Uint32Array>();

/**
 * Sections of a document, as [first block, last block] pairs covering it in order: a section starts at
 * the block holding a heading line or a top-level definition, and at most SECTION_BLOCKS blocks after
 * the previous start.
 */
export function sectionRanges(doc: TreeDocument): Uint32Array {
  let out = sectionCache.get(doc);
  if (out) return out;
  const starts = new Uint8Array(doc.nBlocks);
  for (const m of doc.text.matchAll(SECTION_START)) starts[doc.blockAtChar(m.index!)] = 1;
  const pairs: number[] = [];
  let first = 0;
  for (let b = 1; b <= doc.nBlocks; b++) {
    if (b === doc.nBlocks || starts[b] || b - first >= SECTION_BLOCKS) {
      pairs.push(first, b - 1);
      first = b;
    }
  }
  out = Uint32Array.from(pairs);
  sectionCache.set(doc, out);
  return out;
}

/**
 * Computes what the first focus reads of a document restored from the store (its outline, parsed by
 * tree-sitter; its definition lines and sections), so that an idle engine can do it before a question.
 */
export function warmDocument(doc: TreeDocument): void {
  outline(doc);
  definitions(doc);
  sectionRanges(doc);
}

/** True when warmDocument has nothing left to compute for the document. */
export function isWarm(doc: TreeDocument): boolean {
  return hasOutline(doc) && cache.has(doc) && sectionCache.has(doc);
}
