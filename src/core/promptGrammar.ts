/**
 * The grammar of a rendered working context, read back: what a model (or a tool) can rely on. Every
 * structure line is a whole line of one of the forms below; inside an exact run a content line that
 * would start like one carries one extra leading backslash (render.ts escapeExact). parsePrompt checks
 * the whole prompt against the grammar and returns its structure, so a test can compare it with the
 * working context that was rendered (DESIGN.md invariant 7: nothing in a document's content or name
 * can produce structure).
 *
 *   preamble        the fixed PREAMBLE line
 *   header          `## <path> (<n> tokens, <m> lines)`
 *   exact run       `[[exact La-b]]`, content lines, `[[/exact]]`
 *   map line        `~ La-b` or `~ La-b: …`, `≈ La-b: …`, `⋮ La-b`
 *   root line       `· <path> (<n> tok)` or `· <path> (<n> tok): names`
 *   bare path(s)    `· <path>` or `· <folder>/: name | name …`
 *   folded folder   `· <folder>/ (<n> files, <t> tok)`
 */
import { PREAMBLE, unescapeExact } from './render';

export interface ParsedExact {
  /** The path of the document (its header) the run belongs to. */
  path: string;
  startLine: number;
  endLine: number;
  /** The document's text, unescaped (with the line break the renderer adds at the end when missing). */
  text: string;
}

export interface ParsedPrompt {
  /** Paths of the documents shown with a header (their map and exact text follow it). */
  headers: string[];
  exact: ParsedExact[];
  /** Map lines (`~`, `≈`, `⋮`) per header path, in order. */
  mapLines: { path: string; marker: string; startLine: number; endLine: number; text: string }[];
  /** `·` lines, verbatim without the marker. */
  rootLines: string[];
}

export class PromptSyntaxError extends Error {}

const HEADER = /^## (.*) \((\d+) tokens, (\d+) lines\)$/;
const OPEN = /^\[\[exact L(\d+)-(\d+)\]\]$/;
const CLOSE = '[[/exact]]';
const MAP = /^([~≈⋮]) L(\d+)-(\d+)(?:: (.*))?$/;

/** Parses a rendered prompt; throws PromptSyntaxError naming the first line that fits no form. */
export function parsePrompt(prompt: string): ParsedPrompt {
  if (!prompt.startsWith(PREAMBLE)) throw new PromptSyntaxError('the prompt does not start with the preamble');
  const body = prompt.slice(PREAMBLE.length);
  const lines = body.length === 0 ? [] : body.replace(/\n$/, '').split('\n');
  const out: ParsedPrompt = { headers: [], exact: [], mapLines: [], rootLines: [] };
  let path: string | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const where = `line ${i + 2}: ${JSON.stringify(line.slice(0, 80))}`;
    let m: RegExpExecArray | null;
    if ((m = HEADER.exec(line))) {
      path = m[1];
      out.headers.push(path);
    } else if ((m = OPEN.exec(line))) {
      if (path === undefined) throw new PromptSyntaxError(`${where}: exact text outside a document`);
      const content: string[] = [];
      for (i++; i < lines.length && lines[i] !== CLOSE; i++) {
        if (lines[i].startsWith(CLOSE.slice(0, 2)) || /^(?:##|[~≈·⋮])/.test(lines[i])) throw new PromptSyntaxError(`line ${i + 2}: unescaped structure inside exact text`);
        content.push(lines[i]);
      }
      if (i >= lines.length) throw new PromptSyntaxError(`${where}: exact run without its end`);
      out.exact.push({ path, startLine: Number(m[1]), endLine: Number(m[2]), text: unescapeExact(content.join('\n') + '\n') });
    } else if ((m = MAP.exec(line))) {
      if (path === undefined) throw new PromptSyntaxError(`${where}: map line outside a document`);
      out.mapLines.push({ path, marker: m[1], startLine: Number(m[2]), endLine: Number(m[3]), text: m[4] ?? '' });
    } else if (line.startsWith('· ')) {
      path = undefined;
      out.rootLines.push(line.slice(2));
    } else {
      throw new PromptSyntaxError(`${where}: not a line of the format`);
    }
  }
  return out;
}
