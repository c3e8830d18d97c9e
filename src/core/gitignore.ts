/**
 * .gitignore semantics (https://git-scm.com/docs/gitignore) and the glob dialect of include/exclude
 * settings, matched by the `ignore` package (the matcher eslint and many others use), which is
 * tested against `git check-ignore` and compiles wildcards to regular expressions that do not
 * backtrack (`*a*a*b` takes each literal at its first occurrence; runs of `**` collapse), so a
 * match costs time linear in the path. Paths are relative and use '/'.
 *
 * Each line is checked on its own first: a line git would treat as broken (an unterminated
 * character class, an unknown `[:class:]`, a trailing backslash) never matches in git, so it is
 * skipped here, with a warning naming its file and line; the other lines still apply. (A reversed
 * range such as `[z-a]` is not broken for git: it matches its first character only, as here.)
 */
import ignore, { type Ignore } from 'ignore';

export interface GlobRule {
  /** The pattern as written (after trimming), for reports. */
  source: string;
  /** 1-based line in its ignore file (0 for a setting's glob). */
  line: number;
  /** Starts with '!': a match re-includes. */
  negate: boolean;
}

/** One ignore file (or one glob setting), compiled. */
export interface IgnoreRules {
  rules: GlobRule[];
  /** @internal the compiled matcher; `mark` of each pattern is its index in `rules`. */
  matcher: Ignore;
}

export interface IgnoreWarning {
  /** The ignore file (as given to `parseGitignore`), or `'setting'` for a glob. */
  file: string;
  line: number;
  pattern: string;
  reason: string;
}

export interface ParseOptions {
  ignoreCase?: boolean;
  /** Named in warnings. */
  file?: string;
  onWarning?: (w: IgnoreWarning) => void;
}

const POSIX_CLASSES = new Set(['alnum', 'alpha', 'blank', 'cntrl', 'digit', 'graph', 'lower', 'print', 'punct', 'space', 'upper', 'xdigit']);

/**
 * Why git would never match `p` (a pattern after the `!` and trailing-space handling), or null.
 * Follows git's wildmatch: `[` starts a class closed by a later `]` (a `]` right after `[` or `[!`
 * is literal); inside, `\` escapes, `[:name:]` names a class, `a-b` is a range.
 */
export function patternProblem(p: string): string | null {
  for (let i = 0; i < p.length; i++) {
    const c = p[i];
    if (c === '\\') {
      if (i === p.length - 1) return 'trailing backslash';
      i++;
      continue;
    }
    if (c !== '[') continue;
    let j = i + 1;
    if (p[j] === '!' || p[j] === '^') j++;
    let prev = -1; // code of the previous literal, for ranges
    let first = true;
    for (; ; j++) {
      if (j >= p.length) return 'unterminated character class';
      let ch = p[j];
      if (ch === ']' && !first) break;
      first = false;
      if (ch === '\\') {
        if (++j >= p.length) return 'unterminated character class';
        ch = p[j];
        prev = ch.charCodeAt(0);
        continue;
      }
      if (ch === '[' && p[j + 1] === ':') {
        const end = p.indexOf(':]', j + 2);
        if (end < 0) { prev = ch.charCodeAt(0); continue; }
        const name = p.slice(j + 2, end);
        if (!POSIX_CLASSES.has(name)) return `unknown character class [:${name}:]`;
        j = end + 1;
        prev = -1;
        continue;
      }
      if (ch === '-' && prev >= 0 && j + 1 < p.length && p[j + 1] !== ']') {
        if (p[++j] === '\\' && ++j >= p.length) return 'unterminated character class';
        prev = -1;
        continue;
      }
      prev = ch.charCodeAt(0);
    }
    i = j;
  }
  return null;
}

/** Git's line handling: comments, trailing spaces (unless escaped), `!`. Null for no pattern. */
function linePattern(raw: string): { body: string; negate: boolean } | null {
  let line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
  if (line === '' || line.startsWith('#')) return null;
  while (line.endsWith(' ') && !line.endsWith('\\ ')) line = line.slice(0, -1);
  if (line === '') return null;
  const negate = line.startsWith('!');
  const body = negate ? line.slice(1) : line;
  return body === '' || body === '/' ? null : { body, negate };
}

function compileOne(pattern: string, ignoreCase: boolean): boolean {
  try {
    ignore({ ignorecase: ignoreCase }).add(pattern).test('x');
    return true;
  } catch {
    return false;
  }
}

/** Compiles the lines of one .gitignore file, in order; a broken line is skipped with a warning. */
export function parseGitignore(text: string, opts: ParseOptions | boolean = {}): IgnoreRules {
  const o: ParseOptions = typeof opts === 'boolean' ? { ignoreCase: opts } : opts;
  const ignoreCase = o.ignoreCase ?? false;
  const rules: GlobRule[] = [];
  const patterns: { pattern: string; mark: string }[] = [];
  const lines = text.replace(/^\uFEFF/, '').split('\n');
  for (let n = 0; n < lines.length; n++) {
    const lp = linePattern(lines[n]);
    if (!lp) continue;
    const source = lines[n].trim();
    const problem = patternProblem(lp.body) ?? (compileOne(source, ignoreCase) ? null : 'not a valid pattern');
    if (problem) {
      o.onWarning?.({ file: o.file ?? '.gitignore', line: n + 1, pattern: source, reason: problem });
      continue;
    }
    patterns.push({ pattern: lines[n].endsWith('\r') ? lines[n].slice(0, -1) : lines[n], mark: String(rules.length) });
    rules.push({ source, line: n + 1, negate: lp.negate });
  }
  return { rules, matcher: ignore({ ignorecase: ignoreCase }).add(patterns) };
}

/** `{a,b}` alternatives (nested allowed, at most 256 results); a brace without a partner is literal. */
export function expandBraces(p: string, limit = 256): string[] {
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '\\') { i++; continue; }
    if (p[i] !== '{') continue;
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
        start = j + 1;
        if (c === '}') {
          if (alts.length < 2) break; // "{x}": literal braces
          const head = p.slice(0, i);
          const out: string[] = [];
          for (const tail of expandBraces(p.slice(j + 1), limit)) {
            for (const a of alts) {
              for (const e of expandBraces(a, limit)) {
                if (out.length >= limit) return out;
                out.push(head + e + tail);
              }
            }
          }
          return out;
        }
      }
    }
  }
  return [p];
}

/**
 * Compiles an include/exclude setting: gitignore-like globs plus `{a,b}` alternatives, no negation.
 * `dir/**` also names `dir` itself, so an exclude prunes the folder. Null for an empty or broken glob.
 */
export function compileGlob(pattern: string, opts: ParseOptions | boolean = {}): (GlobRule & IgnoreRules) | null {
  const o: ParseOptions = typeof opts === 'boolean' ? { ignoreCase: opts } : opts;
  let p = pattern.trim().replace(/\\/g, '/');
  if (p.startsWith('./')) p = p.slice(2);
  if (p === '' || p === '/' || p.startsWith('#') || p.startsWith('!')) return null;
  const alts = expandBraces(p).flatMap((a) => {
    if (!/.\/\*\*$/.test(a)) return [a];
    const dir = a.slice(0, -3); // "x/**" names folder x (anchored as "x/**" is) as well
    return [a, (dir.includes('/') ? dir : '/' + dir) + '/'];
  });
  const kept = alts.filter((a) => a !== '/' && patternProblem(a) === null && compileOne(a, o.ignoreCase ?? false));
  if (kept.length === 0) {
    o.onWarning?.({ file: o.file ?? 'setting', line: 0, pattern, reason: 'not a valid glob' });
    return null;
  }
  const rule: GlobRule = { source: pattern.trim(), line: 0, negate: false };
  return { ...rule, rules: [rule], matcher: ignore({ ignorecase: o.ignoreCase ?? false }).add(kept) };
}

/** `rel` as the matcher wants it: folders end with '/'. */
const asked = (rel: string, isDir: boolean): string => (isDir ? rel + '/' : rel);

function safeTest(m: Ignore, p: string): ignore.TestResult {
  try {
    return m.test(p);
  } catch {
    return { ignored: false, unignored: false }; // a path `ignore` refuses (cannot happen for walk paths)
  }
}

/** Whether any of the (non-negated) globs matches. */
export function anyGlobMatches(rules: readonly (GlobRule & IgnoreRules)[], rel: string, isDir: boolean): GlobRule | undefined {
  return rules.find((r) => safeTest(r.matcher, asked(rel, isDir)).ignored);
}

/** A path segment as a literal inside a pattern. */
const escapeSegment = (seg: string): string => seg.replace(/[\\*?[\]!#]/g, (c) => '\\' + c).replace(/ $/, '\\ ');

/**
 * One line of an ignore file found in `dir` (relative to the context's top, '' for the top), as the
 * equivalent pattern relative to the top: git matches a nested file's patterns relative to its own
 * folder, and a pattern without a slash (but a trailing one) at any depth below it.
 */
function rebase(raw: string, dir: string): string {
  const lp = linePattern(raw);
  if (!lp || dir === '') return raw;
  // Trailing spaces were dropped by linePattern unless escaped; what is left is the pattern.
  const prefix = dir.split('/').map(escapeSegment).join('/');
  const inner = lp.body.replace(/\/$/, '');
  const anchored = inner.includes('/');
  const body = anchored ? `${prefix}/${lp.body.replace(/^\//, '')}` : `${prefix}/**/${lp.body}`;
  return (lp.negate ? '!' : '') + body;
}

/**
 * The ignore rules in force at one folder of a walk: `.git/info/exclude` and every `.gitignore` from
 * the repository's top down to the folder, as one ordered list relative to the top (git's precedence:
 * a later list, deeper file or later line wins). A folder holding `.git` starts a fresh context.
 * Immutable: `with` returns a new context, so sibling folders never see each other's files.
 */
/**
 * Paths a matcher tests before it starts afresh (renewMatcher). The `ignore` package keeps the answer
 * for every path a matcher ever tested (and for its folders): over a 100,000-file walk, the exclude
 * globs (discovery.ts GlobSet) held ~350 MB of them, and a repository's root `.gitignore`, asked about
 * every path, would hold as much.
 */
export const MATCHER_CACHE_PATHS = 256;

/** A matcher with `m`'s compiled rules as they are and an empty cache: the same answers. */
export function renewMatcher(m: Ignore, ignoreCase: boolean): Ignore {
  return ignore({ ignorecase: ignoreCase }).add(m);
}

export class IgnoreContext {
  private constructor(
    /** The context's top relative to the walk's root ('' when it is the root, null when above it). */
    private readonly topBelowRoot: string | null,
    /** The walk's root relative to the top, when the top lies above the root. */
    private readonly rootFromTop: string,
    private readonly ignoreCase: boolean,
    private matcher: Ignore,
    readonly rules: readonly GlobRule[],
  ) {}

  /** Paths tested since the matcher last started afresh (see MATCHER_CACHE_PATHS). */
  private tested = 0;

  /** A context whose top is `topRel` below the walk's root ('' for the root itself). */
  static below(topRel: string, ignoreCase: boolean): IgnoreContext {
    return new IgnoreContext(topRel, '', ignoreCase, ignore({ ignorecase: ignoreCase }), []);
  }

  /** A context whose top lies above the walk's root; `rootFromTop` is the root relative to it. */
  static above(rootFromTop: string, ignoreCase: boolean): IgnoreContext {
    return new IgnoreContext(null, rootFromTop, ignoreCase, ignore({ ignorecase: ignoreCase }), []);
  }

  /**
   * This context plus the lines of one ignore file found in `dir` (relative to the top; '' for the
   * top's own `.gitignore` and for `.git/info/exclude`). Broken lines are skipped with a warning.
   */
  with(text: string, dir: string, opts: ParseOptions = {}): IgnoreContext {
    const parsed = parseGitignore(text, { ...opts, ignoreCase: this.ignoreCase });
    if (parsed.rules.length === 0) return this;
    const lines = text.replace(/^\uFEFF/, '').split('\n');
    const rules = [...this.rules];
    const patterns = parsed.rules.map((r) => {
      rules.push(r);
      return { pattern: rebase(lines[r.line - 1].replace(/\r$/, ''), dir), mark: String(rules.length - 1) };
    });
    return new IgnoreContext(this.topBelowRoot, this.rootFromTop, this.ignoreCase, ignore({ ignorecase: this.ignoreCase }).add(this.matcher).add(patterns), rules);
  }

  /** A folder `rel` of the walk (relative to its root) relative to the top: where its `.gitignore` applies. */
  dirOf(rel: string): string {
    if (this.topBelowRoot === null) return rel === '' ? this.rootFromTop : `${this.rootFromTop}/${rel}`;
    return rel === this.topBelowRoot ? '' : this.local(rel) ?? rel;
  }

  /** `rel` (relative to the walk's root) relative to the top, or undefined when outside the context. */
  private local(rel: string): string | undefined {
    if (this.topBelowRoot === null) return this.rootFromTop === '' ? rel : `${this.rootFromTop}/${rel}`;
    if (this.topBelowRoot === '') return rel;
    return rel.startsWith(this.topBelowRoot + '/') ? rel.slice(this.topBelowRoot.length + 1) : undefined;
  }

  /** The rule that ignores `rel` (or one of its folders), or undefined when it is not ignored. */
  ignored(rel: string, isDir: boolean): GlobRule | undefined {
    if (this.rules.length === 0) return undefined;
    const local = this.local(rel);
    if (local === undefined || local === '') return undefined;
    if (++this.tested > MATCHER_CACHE_PATHS) {
      this.matcher = renewMatcher(this.matcher, this.ignoreCase);
      this.tested = 1;
    }
    const r = safeTest(this.matcher, asked(local, isDir));
    if (!r.ignored) return undefined;
    return this.rules[Number(r.rule?.mark)] ?? { source: r.rule?.pattern ?? '', line: 0, negate: false };
  }
}
