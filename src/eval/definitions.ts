import { lineOf, lineStarts } from '../core/tokenizer';

/**
 * Definitions (functions, methods, classes) as the evaluation sees them: found here, by indentation for
 * Python and by brace matching for JavaScript/TypeScript, never by the engine's parser, so that the
 * metrics that ask for a whole function or for a definition's head line do not grade the engine by its
 * own notion of a unit. Lines are 0-based throughout.
 */

export interface Definition {
  /** The defined name (`handle` for `proto.handle = function handle(…) {`); informational only. */
  name: string;
  /** The head line: the one holding `def`/`class`/`function` or a method's name and its opening `(`. */
  head: number;
  /** The body's last line (its closing `}` in JS; its last statement in Python). */
  end: number;
}

export type Language = 'python' | 'js';

export function languageOf(path: string): Language | undefined {
  if (/\.(py|pyi|pyx)$/.test(path)) return 'python';
  if (/\.([cm]?[jt]sx?)$/.test(path)) return 'js';
  return undefined;
}

export function findDefinitions(text: string, lang: Language): Definition[] {
  return lang === 'python' ? pythonDefinitions(text) : jsDefinitions(text);
}

/** The innermost definition whose lines hold all of lines [first, last]. */
export function innermostDefinition(defs: readonly Definition[], first: number, last: number): Definition | undefined {
  let best: Definition | undefined;
  for (const d of defs) {
    if (d.head > first || d.end < last) continue;
    if (!best || d.head > best.head || (d.head === best.head && d.end < best.end)) best = d;
  }
  return best;
}

// ---------------------------------------------------------------------------------------------------
// Python

interface PyLine {
  /** The line starts a logical line: not inside brackets, a string, or after a backslash continuation. */
  logical: boolean;
  /** It holds code, not only blanks and a comment. */
  code: boolean;
  indent: number;
}

/** Per physical line: whether it starts a logical line, holds code, and its indentation. */
function pythonLines(text: string): PyLine[] {
  const out: PyLine[] = [];
  let depth = 0;
  let quote = ''; // the open string's delimiter: ', ", ''' or """
  let raw = false;
  let continued = false;
  let pos = 0;
  while (pos <= text.length) {
    const nl = text.indexOf('\n', pos);
    const end = nl < 0 ? text.length : nl;
    const line = text.slice(pos, end);
    const logical = depth === 0 && quote === '' && !continued;
    let indent = 0;
    for (const ch of line) {
      if (ch === ' ') indent++;
      else if (ch === '\t') indent = indent + 8 - (indent % 8);
      else break;
    }
    let code = false;
    continued = false;
    for (let i = 0; i < line.length; i++) {
      const c = line[i];
      if (quote !== '') {
        if (c === '\\' && !raw) i++;
        else if (line.startsWith(quote, i)) {
          i += quote.length - 1;
          quote = '';
        }
        continue;
      }
      if (c === '#') break;
      if (c === ' ' || c === '\t' || c === '\r') continue;
      if (c === '\\' && i === line.length - 1) {
        continued = true;
        break;
      }
      code = true;
      if (c === '"' || c === "'") {
        const triple = line.startsWith(c.repeat(3), i);
        quote = triple ? c.repeat(3) : c;
        // Prefix letters (r, b, f, u in any mix) sit right before the quote.
        raw = /[rR][bBfFuU]?$|[bBfFuU][rR]$/.test(line.slice(Math.max(0, i - 2), i));
        i += quote.length - 1;
      } else if ('([{'.includes(c)) depth++;
      else if (')]}'.includes(c)) depth = Math.max(0, depth - 1);
    }
    // A one-quote string cannot span lines (an unterminated one is a syntax error): drop it.
    if (quote.length === 1) quote = '';
    out.push({ logical, code, indent });
    if (nl < 0) break;
    pos = nl + 1;
  }
  return out;
}

const PY_HEAD = /^[ \t]*(?:async[ \t]+)?(?:def|class)[ \t]+([A-Za-z_]\w*)/;

/** Every `def` and `class`: its body runs until the next logical line of code indented no deeper. */
function pythonDefinitions(text: string): Definition[] {
  const lines = pythonLines(text);
  const raw = text.split('\n');
  const out: Definition[] = [];
  for (let h = 0; h < lines.length; h++) {
    if (!lines[h].logical || !lines[h].code) continue;
    const m = PY_HEAD.exec(raw[h]);
    if (!m) continue;
    // The head's own logical line may continue over several physical lines (a long signature).
    let end = h;
    while (end + 1 < lines.length && !lines[end + 1].logical) end++;
    for (let j = end + 1; j < lines.length; j++) {
      const l = lines[j];
      if (l.logical && l.code && l.indent <= lines[h].indent) break;
      // Blank and comment-only lines belong to the body only between its statements.
      if (!l.logical || l.code) end = j;
    }
    out.push({ name: m[1], head: h, end });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// JavaScript / TypeScript

const REGEX_AFTER_WORD = new Set(['return', 'typeof', 'case', 'do', 'else', 'in', 'of', 'new', 'delete', 'void', 'throw', 'instanceof', 'yield', 'await']);

/**
 * `text` with comments blanked and the contents of strings, template literals and regular expressions
 * blanked (delimiters and line breaks kept, `${…}` expressions kept as code): brackets left in it are
 * code's own.
 */
export function maskJs(text: string): string {
  const out = text.split('');
  const blank = (i: number) => {
    if (out[i] !== '\n') out[i] = ' ';
  };
  // Open template literals, each with the brace depth of its current `${` expression (-1: in the text).
  const templates: number[] = [];
  let braces = 0;
  let prev = ''; // the last significant code character, for telling a regex from a division
  let prevWord = '';
  let i = 0;
  const n = text.length;
  const inTemplateText = () => templates.length > 0 && templates[templates.length - 1] === -1;
  while (i < n) {
    const c = text[i];
    if (inTemplateText()) {
      if (c === '\\') {
        blank(i);
        if (i + 1 < n) blank(i + 1);
        i += 2;
      } else if (c === '`') {
        templates.pop();
        prev = '`';
        i++;
      } else if (c === '$' && text[i + 1] === '{') {
        templates[templates.length - 1] = braces;
        braces++;
        i += 2;
        prev = '{';
      } else {
        blank(i);
        i++;
      }
      continue;
    }
    if (c === '/' && text[i + 1] === '/') {
      while (i < n && text[i] !== '\n') blank(i++);
      continue;
    }
    if (c === '/' && text[i + 1] === '*') {
      const close = text.indexOf('*/', i + 2);
      const stop = close < 0 ? n : close + 2;
      while (i < stop) blank(i++);
      continue;
    }
    if (c === '"' || c === "'") {
      i++;
      while (i < n && text[i] !== c && text[i] !== '\n') {
        if (text[i] === '\\') blank(i++);
        if (i < n) blank(i++);
      }
      i++;
      prev = c;
      continue;
    }
    if (c === '`') {
      templates.push(-1);
      i++;
      continue;
    }
    if (c === '/' && (prev === '' || '(,=:[!&|?{};+-*%<>~^'.includes(prev) || REGEX_AFTER_WORD.has(prevWord))) {
      i++;
      let inClass = false;
      while (i < n && text[i] !== '\n' && (inClass || text[i] !== '/')) {
        if (text[i] === '\\') blank(i++);
        else if (text[i] === '[') inClass = true;
        else if (text[i] === ']') inClass = false;
        if (i < n && text[i] !== '\n') blank(i++);
      }
      i++;
      prev = '/';
      prevWord = '';
      continue;
    }
    if (c === '{') braces++;
    else if (c === '}') {
      braces--;
      if (templates.length > 0 && templates[templates.length - 1] === braces) {
        // The `}` closing a `${…}` expression: back to the template's text.
        templates[templates.length - 1] = -1;
        i++;
        continue;
      }
    }
    if (/[A-Za-z0-9_$]/.test(c)) {
      let j = i;
      while (j < n && /[A-Za-z0-9_$]/.test(text[j])) j++;
      prevWord = text.slice(i, j);
      prev = 'a';
      i = j;
      continue;
    }
    if (!/\s/.test(c)) {
      prev = c;
      prevWord = '';
    }
    i++;
  }
  return out.join('');
}

const CONTROL = new Set(['if', 'for', 'while', 'switch', 'catch', 'with', 'return', 'function', 'typeof', 'else', 'do', 'try', 'finally', 'await', 'new', 'super']);
const MODIFIERS = '(?:(?:export|default|public|private|protected|static|async|get|set|override|readonly|abstract|declare)\\s+)*';
/** What ends a signature before its body's `{`: `)`, an optional return type, an optional `=>`. */
const SIGNATURE_END = /\)\s*(?::\s*[\w$.<>[\],|&\s'"?]+?)?\s*(=>)?\s*$/;
const FUNCTION_PREFIX = /\bfunction\b\s*\*?\s*([\w$]*)\s*(?:<.*>)?\s*$/;
const METHOD_PREFIX = new RegExp(`^\\s*${MODIFIERS}\\*?\\s*(#?[\\w$]+)\\s*\\??\\s*(?:<.*>)?\\s*$`);
const ASSIGNED_PREFIX = /(?:^|[^\w$])([\w$]+)\s*[:=]\s*(?:async\s*)?$/;
const ASSIGNED_FUNCTION = /(?:^|[^\w$])([\w$]+)\s*[:=]\s*(?:async\s+)?function\b/;
const CLASS_PREFIX = /\bclass\s+([\w$]+)[^{};]*$/;

/** 0-based line of offset `pos`. */
function lineAt(starts: Uint32Array, pos: number): number {
  return lineOf(starts, pos) - 1;
}

/**
 * Named functions, methods, arrow functions bound to a name, and classes whose body is a `{…}` block.
 * Anonymous callbacks are not definitions: a hunk inside one belongs to the named definition around it.
 */
function jsDefinitions(text: string): Definition[] {
  const code = maskJs(text);
  const starts = lineStarts(code);
  const out: Definition[] = [];
  const openOf = new Map<number, number>(); // `)` offset -> its `(`
  const stack: { ch: string; pos: number; def?: { name: string; head: number } }[] = [];
  for (let i = 0; i < code.length; i++) {
    const c = code[i];
    if (c === '(' || c === '[') stack.push({ ch: c, pos: i });
    else if (c === ')' || c === ']') {
      const top = stack.pop();
      if (c === ')' && top?.ch === '(') openOf.set(i, top.pos);
    } else if (c === '{') stack.push({ ch: c, pos: i, def: blockHead(code, starts, openOf, i) });
    else if (c === '}') {
      const top = stack.pop();
      if (top?.def) out.push({ ...top.def, end: lineAt(starts, i) });
    }
  }
  return out.sort((a, b) => a.head - b.head || b.end - a.end);
}

/** Whether the `{` at `at` opens a definition's body, and its name and head line when it does. */
function blockHead(code: string, starts: Uint32Array, openOf: Map<number, number>, at: number): { name: string; head: number } | undefined {
  const line = lineAt(starts, at);
  const before = code.slice(starts[Math.max(0, line - 2)], at);
  const cls = CLASS_PREFIX.exec(before);
  if (cls) return { name: cls[1], head: lineAt(starts, starts[Math.max(0, line - 2)] + cls.index) };
  const sig = SIGNATURE_END.exec(before);
  if (!sig) {
    // `x => {` bound to a name: `const f = x => {`, `f: async x => {`.
    const single = /(?:^|[^\w$])([\w$]+)\s*[:=]\s*(?:async\s+)?[\w$]+\s*=>\s*$/.exec(before);
    return single ? { name: single[1], head: lineAt(starts, starts[Math.max(0, line - 2)] + single.index) } : undefined;
  }
  const close = starts[Math.max(0, line - 2)] + sig.index;
  const open = openOf.get(close);
  if (open === undefined) return undefined;
  const head = lineAt(starts, open);
  const prefix = code.slice(starts[head], open);
  if (sig[1]) {
    const named = ASSIGNED_PREFIX.exec(prefix);
    return named ? { name: named[1], head } : undefined;
  }
  const fn = FUNCTION_PREFIX.exec(prefix);
  if (fn) {
    const name = fn[1] || ASSIGNED_FUNCTION.exec(prefix)?.[1];
    return name ? { name, head } : undefined;
  }
  const method = METHOD_PREFIX.exec(prefix);
  if (method && !CONTROL.has(method[1])) return { name: method[1], head };
  return undefined;
}

/**
 * The last line of the definition whose head is line `head`: its body's end for a definition the finder
 * knows, the end of the statement for a JS arrow function with an expression body, else the head itself.
 */
export function definitionEnd(text: string, lang: Language, head: number, defs: readonly Definition[] = findDefinitions(text, lang)): number {
  const own = defs.filter((d) => d.head === head).sort((a, b) => b.end - a.end)[0];
  if (own) return own.end;
  return lang === 'js' ? jsStatementEnd(text, head) : head;
}

/** The line where a statement starting on line `head` ends: brackets closed and nothing left dangling. */
function jsStatementEnd(text: string, head: number): number {
  const code = maskJs(text).split('\n');
  let depth = 0;
  for (let l = head; l < code.length; l++) {
    for (const c of code[l]) {
      if ('([{'.includes(c)) depth++;
      else if (')]}'.includes(c)) depth--;
    }
    const trimmed = code[l].trimEnd();
    if (depth <= 0 && trimmed !== '' && !/(=>|[=+\-*/%&|?:,(])$/.test(trimmed)) return l;
  }
  return head;
}
