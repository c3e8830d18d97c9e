/**
 * Natural-language queries mined from code: a function's documentation (first paragraph of a Python
 * docstring or a JSDoc block) is the query, the function's definition line is the gold evidence, and
 * the documentation is removed from the haystack so the answer cannot be found by copying it.
 */

export interface CodeQuery {
  name: string;
  query: string;
  /** String offsets of the definition line in the stripped text. */
  defStart: number;
  defEnd: number;
}

interface Found {
  name: string;
  query: string;
  /** Text removed from the haystack: the documentation and its line breaks. */
  cutStart: number;
  cutEnd: number;
  defStart: number;
  defEnd: number;
}

const MIN_WORDS = 6;

function firstParagraph(doc: string): string {
  const para = doc.trim().split(/\n\s*\n/)[0] ?? '';
  return para.replace(/\s+/g, ' ').trim();
}

function wordCount(s: string): number {
  return s.split(/\s+/).filter((w) => /[A-Za-z]/.test(w)).length;
}

function lineEnd(text: string, pos: number): number {
  const i = text.indexOf('\n', pos);
  return i < 0 ? text.length : i + 1;
}

const PY_DEF = /^([ \t]*)(?:async[ \t]+)?def[ \t]+([A-Za-z]\w*)[ \t]*\(/gm;

/** Python: public functions (name not starting with `_`) with a docstring right after the signature. */
function pythonFunctions(text: string): Found[] {
  const out: Found[] = [];
  for (const m of text.matchAll(PY_DEF)) {
    const defStart = m.index!;
    // The signature ends at the first ':' at bracket depth 0 followed by a newline.
    let depth = 0;
    let i = defStart + m[0].length - 1;
    for (; i < text.length; i++) {
      const c = text[i];
      if (c === '(' || c === '[' || c === '{') depth++;
      else if (c === ')' || c === ']' || c === '}') depth--;
      else if (c === ':' && depth === 0) break;
    }
    const bodyStart = lineEnd(text, i);
    const doc = /^([ \t]*)[rRuU]?("""|''')([\s\S]*?)\2[ \t]*\r?\n/.exec(text.slice(bodyStart));
    if (!doc) continue;
    const query = firstParagraph(doc[3]);
    if (wordCount(query) < MIN_WORDS) continue;
    out.push({ name: m[2], query, cutStart: bodyStart, cutEnd: bodyStart + doc[0].length, defStart, defEnd: lineEnd(text, defStart) });
  }
  return out;
}

const JS_DEF = /\/\*\*((?:[^*]|\*(?!\/))*)\*\/[ \t]*\r?\n[ \t]*((?:export\s+)?(?:default\s+)?(?:async\s+)?function\s*\*?\s*([A-Za-z_$][\w$]*)|(?:public\s+|static\s+|async\s+)*([A-Za-z_$][\w$]*)\s*\([^)]*\)\s*(?::[^{]+)?\{|(?:export\s+)?(?:const|let|var)\s+([A-Za-z_$][\w$]*)\s*=\s*(?:async\s*)?(?:function|\())/g;

/** JavaScript/TypeScript: functions and methods with a JSDoc block right above. */
function jsFunctions(text: string): Found[] {
  const out: Found[] = [];
  for (const m of text.matchAll(JS_DEF)) {
    const name = m[3] ?? m[4] ?? m[5];
    if (!name || name.startsWith('_') || ['if', 'for', 'while', 'switch', 'catch', 'function'].includes(name)) continue;
    const body = m[1]
      .split('\n')
      .map((l) => l.replace(/^\s*\*?\s?/, ''))
      .filter((l) => !l.startsWith('@'))
      .join('\n');
    const query = firstParagraph(body);
    if (wordCount(query) < MIN_WORDS) continue;
    const cutStart = m.index!;
    const defStart = m.index! + m[0].indexOf(m[2]);
    // Remove the whole comment including the indentation before it and its line break.
    const lineStart = text.lastIndexOf('\n', cutStart - 1) + 1;
    const cutFrom = /^[ \t]*$/.test(text.slice(lineStart, cutStart)) ? lineStart : cutStart;
    const defLineStart = text.lastIndexOf('\n', defStart - 1) + 1;
    out.push({ name, query, cutStart: cutFrom, cutEnd: defLineStart, defStart: defLineStart, defEnd: lineEnd(text, defStart) });
  }
  return out;
}

/**
 * Mines queries from a source file and returns the haystack with every mined documentation block
 * removed, plus each query's definition line located in that haystack.
 */
export function mineCodeQueries(path: string, text: string): { text: string; queries: CodeQuery[] } {
  const found = /\.py$/.test(path) ? pythonFunctions(text) : /\.(m|c)?[jt]sx?$/.test(path) ? jsFunctions(text) : [];
  found.sort((a, b) => a.cutStart - b.cutStart);
  let out = '';
  let pos = 0;
  let removed = 0;
  const queries: CodeQuery[] = [];
  for (const f of found) {
    if (f.cutStart < pos) continue;
    out += text.slice(pos, f.cutStart);
    pos = f.cutEnd;
    // The definition precedes the docstring in Python and follows the JSDoc in JS.
    const shift = f.defStart >= f.cutEnd ? removed + (f.cutEnd - f.cutStart) : removed;
    removed += f.cutEnd - f.cutStart;
    queries.push({ name: f.name, query: f.query, defStart: f.defStart - shift, defEnd: f.defEnd - shift });
  }
  out += text.slice(pos);
  return { text: out, queries };
}
