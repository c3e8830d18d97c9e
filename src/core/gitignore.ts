/**
 * .gitignore semantics (https://git-scm.com/docs/gitignore) and the glob dialect of include/exclude
 * settings, compiled to regular expressions. Paths are relative and use '/'.
 */

export interface GlobRule {
  /** The pattern as written (after trimming), for reports. */
  source: string;
  re: RegExp;
  /** No '/' in the pattern: it is tested against the last path segment at any depth. */
  basename: boolean;
  /** Ends with '/': matches directories only. */
  dirOnly: boolean;
  /** Starts with '!': a match re-includes. */
  negate: boolean;
}

const POSIX_CLASSES: Record<string, string> = {
  alnum: 'A-Za-z0-9', alpha: 'A-Za-z', digit: '0-9', lower: 'a-z', upper: 'A-Z',
  space: ' \\t\\n\\r\\f\\v', xdigit: '0-9A-Fa-f', punct: '!-\\/:-@\\[-`{-~',
};

/** Parses `[...]` starting at `i` (the '['). Returns the regex class and the index after ']', or null. */
function charClass(p: string, i: number): [string, number] | null {
  let j = i + 1;
  let negate = false;
  if (p[j] === '!' || p[j] === '^') { negate = true; j++; }
  let body = '';
  let first = true;
  for (; j < p.length; j++) {
    const c = p[j];
    if (c === ']' && !first) return [negate ? `[^/${body}]` : `[${body}]`, j + 1];
    first = false;
    if (c === '[' && p[j + 1] === ':') {
      const end = p.indexOf(':]', j + 2);
      const cls = end > 0 ? POSIX_CLASSES[p.slice(j + 2, end)] : undefined;
      if (cls !== undefined) { body += cls; j = end + 1; continue; }
    }
    if (c === '\\' && j + 1 < p.length) { j++; body += '\\' + p[j]; continue; }
    body += c === '\\' || c === ']' || c === '[' || c === '^' ? '\\' + c : c;
  }
  return null;
}

/** Splits the inside of `{...}` at top-level commas; null when the brace is not closed. */
function braceAlternatives(p: string, i: number): [string[], number] | null {
  let depth = 0;
  let start = i + 1;
  const alts: string[] = [];
  for (let j = i + 1; j < p.length; j++) {
    const c = p[j];
    if (c === '\\') { j++; continue; }
    if (c === '{') depth++;
    else if (c === '}' && depth > 0) depth--;
    else if (c === '}' || (c === ',' && depth === 0)) {
      alts.push(p.slice(start, j));
      if (c === '}') return [alts, j + 1];
      start = j + 1;
    }
  }
  return null;
}

/** Translates a glob body to regex source. `**` only spans directories as a whole segment. */
function globSource(p: string, braces: boolean): string {
  let out = '';
  for (let i = 0; i < p.length; ) {
    const c = p[i];
    if (c === '*') {
      let j = i;
      while (p[j] === '*') j++;
      const wholeSegment = j - i >= 2 && (i === 0 || p[i - 1] === '/') && (j === p.length || p[j] === '/');
      if (!wholeSegment) out += '[^/]*';
      else if (j === p.length) out += '.*';
      else { out += '(?:.*/)?'; j++; } // "**/": zero or more directories
      i = j;
    } else if (c === '?') {
      out += '[^/]'; i++;
    } else if (c === '[') {
      const cls = charClass(p, i);
      if (cls) { out += cls[0]; i = cls[1]; } else { out += '\\['; i++; }
    } else if (c === '{' && braces) {
      const alts = braceAlternatives(p, i);
      if (alts) { out += `(?:${alts[0].map((a) => globSource(a, true)).join('|')})`; i = alts[1]; } else { out += '\\{'; i++; }
    } else if (c === '\\' && i + 1 < p.length) {
      out += escapeChar(p[i + 1]); i += 2;
    } else {
      out += escapeChar(c); i++;
    }
  }
  return out;
}

const escapeChar = (c: string): string => (/[.*+?^${}()|[\]\\/]/.test(c) ? '\\' + c : c);

function compile(pattern: string, negate: boolean, braces: boolean, ignoreCase: boolean): GlobRule | null {
  let p = pattern;
  let dirOnly = false;
  if (p.endsWith('/') && !p.endsWith('\\/')) { dirOnly = true; p = p.replace(/\/+$/, ''); }
  if (p.startsWith('./')) p = p.slice(2);
  if (p === '') return null;
  const anchored = p.includes('/');
  if (p.startsWith('/')) p = p.slice(1);
  if (p === '') return null;
  const re = new RegExp(`^${globSource(p, braces)}$`, ignoreCase ? 'i' : '');
  return { source: pattern, re, basename: !anchored, dirOnly, negate };
}

/** Compiles the lines of one .gitignore file, in order. */
export function parseGitignore(text: string, ignoreCase = false): GlobRule[] {
  const rules: GlobRule[] = [];
  for (const raw of text.split(/\r?\n/)) {
    let line = raw;
    if (line === '' || line.startsWith('#')) continue;
    // Trailing spaces are dropped unless escaped with a backslash.
    while (line.endsWith(' ') && !line.endsWith('\\ ')) line = line.slice(0, -1);
    let negate = false;
    if (line.startsWith('!')) { negate = true; line = line.slice(1); }
    const rule = compile(line, negate, false, ignoreCase);
    if (rule) rules.push({ ...rule, source: raw.trim() });
  }
  return rules;
}

/** Compiles an include/exclude setting: gitignore-like globs plus `{a,b}` alternatives, no negation. */
export function compileGlob(pattern: string, ignoreCase = false): GlobRule | null {
  return compile(pattern.trim().replace(/\\/g, '/'), false, true, ignoreCase);
}

function ruleMatches(rule: GlobRule, rel: string, isDir: boolean, viaContents: boolean): boolean {
  if (rule.dirOnly && !isDir) return false;
  if (rule.basename) return rule.re.test(rel.slice(rel.lastIndexOf('/') + 1));
  // "dir/**" names everything inside dir: for exclude settings that prunes dir itself.
  return rule.re.test(rel) || (viaContents && isDir && rule.re.test(rel + '/'));
}

/** Whether any of the (non-negated) globs matches. */
export function anyGlobMatches(rules: readonly GlobRule[], rel: string, isDir: boolean): GlobRule | undefined {
  return rules.find((r) => ruleMatches(r, rel, isDir, true));
}

/**
 * The .gitignore files in force at one directory, outermost first. Each level maps a path
 * relative to the walk's root to a path relative to its own directory.
 */
export interface IgnoreLevel {
  rules: GlobRule[];
  /** undefined when `rel` is not below this level's directory. */
  toLocal: (rel: string) => string | undefined;
}

/** A level whose directory is `levelRel` below the root (or `''` for the root itself). */
export function levelBelowRoot(levelRel: string, rules: GlobRule[]): IgnoreLevel {
  const prefix = levelRel === '' ? '' : levelRel + '/';
  return { rules, toLocal: (rel) => (rel.startsWith(prefix) ? rel.slice(prefix.length) : undefined) };
}

/** A level whose directory lies above the root; `rootFromLevel` is the root relative to it. */
export function levelAboveRoot(rootFromLevel: string, rules: GlobRule[]): IgnoreLevel {
  return { rules, toLocal: (rel) => (rootFromLevel === '' ? rel : `${rootFromLevel}/${rel}`) };
}

/** Git's precedence: the deepest level with a matching rule decides; within a level, the last rule. */
export function isGitignored(levels: readonly IgnoreLevel[], rel: string, isDir: boolean): GlobRule | undefined {
  for (let l = levels.length - 1; l >= 0; l--) {
    const local = levels[l].toLocal(rel);
    if (local === undefined || local === '') continue;
    const rules = levels[l].rules;
    for (let i = rules.length - 1; i >= 0; i--) {
      if (ruleMatches(rules[i], local, isDir, false)) return rules[i].negate ? undefined : rules[i];
    }
  }
  return undefined;
}
