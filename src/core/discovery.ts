/**
 * Finding the documents of a folder: every text file under the roots that is not gitignored,
 * excluded, binary, oversized, secret or behind a symlink, each skip reported with its reason.
 *
 * Rules, in order, for each entry below a root folder:
 *  - symlinks are never followed ('symlink'), so loops are impossible; a root itself may be one;
 *  - `.git` is always skipped ('excluded'); a folder holding `.git` starts a fresh ignore context
 *    (its own `.git/info/exclude` and `.gitignore` files), as git does for nested repositories;
 *  - `.gitignore` files apply to their subtree, deeper files overriding shallower ones; when a
 *    root has no `.git`, the `.gitignore` files between it and its repository's top apply too; all are
 *    matched as git does (gitignore.ts: the `ignore` package, linear in the path); a broken line is
 *    skipped alone, with a warning (`warnings`, `onWarning`);
 *  - exclude globs (default DEFAULT_EXCLUDES), then include globs (files only) — relative to the root;
 *  - ignored and excluded folders are pruned without descending: one skip for the folder;
 *  - files: secret by name, larger than maxFileBytes (not read), unreadable, binary by their first
 *    8 KiB (the indexer decides again on the whole content when it reads a file: `binaryText`), secret
 *    by content (`secretContentRule`: a kubeconfig or Docker config.json under any name, a service-account
 *    key in the first 8 KiB, a `.npmrc`/`.pypirc`/kubeconfig holding a credential) — a private key block
 *    inside an ordinary file is redacted at tokenization, not a reason to skip the file;
 *  - names that are not valid UTF-8 ('unreadable-name', see SkipReason).
 * A root that is a file is taken as explicitly chosen: gitignore and globs do not apply to it,
 * the file checks do. Other secrets inside kept files are for `redactSecrets` at tokenization.
 */
import { constants as fsc, promises as fsp, type Dirent, type Stats } from 'node:fs';
import * as path from 'node:path';
import { anyGlobMatches, compileGlob, IgnoreContext, MATCHER_CACHE_PATHS, renewMatcher, type GlobRule, type IgnoreRules, type IgnoreWarning } from './gitignore';
import { needsCredentialCheck, secretContentRule, secretPathRule } from './secrets';

export { detectSecrets, isSecretPath, redactSecrets, secretPathRule, type SecretFinding } from './secrets';

/**
 * 'vanished': listed by its folder, then gone (deleted or renamed) before it could be read.
 * 'unreadable-name': a name that is not valid UTF-8 (Linux allows any bytes). Skipped rather than
 * indexed under an escaped name: a document's id is its path as a string, which every later step
 * (re-reading, change detection, the editor's URIs, the store) must be able to open again, and such a
 * name decodes lossily (bytes become U+FFFD), so it would point at no file or at another one.
 */
export type SkipReason = 'gitignored' | 'excluded' | 'binary' | 'too-large' | 'secret' | 'unreadable' | 'symlink' | 'vanished' | 'unreadable-name';

/** What change detection compares (indexer.ts): a file's size, times and inode as fstat reported them. */
export interface FileVersion { size: number; mtimeMs: number; ctimeMs: number; ino: number }
/**
 * `text`: the file's whole text (UTF-8), when it was small enough to be read whole and `wantContent`
 * asked for it; already found not binary over all its bytes. A string, not the Buffer: a Buffer per
 * file of a 100k-file walk held ~30 MB more until the indexer took them.
 */
export interface DiscoveredFile extends FileVersion { path: string; text?: string }
export interface SkippedPath { path: string; reason: SkipReason; detail?: string }
/** `warnings`: ignore-file lines and globs that were skipped as broken (`path:line: pattern: reason`). */
export interface DiscoveryResult { files: DiscoveredFile[]; skipped: SkippedPath[]; warnings: string[] }

export interface DiscoverOptions {
  /** Files above this many bytes are skipped as 'too-large' (default 1,000,000). */
  maxFileBytes?: number;
  /** When given, only files matching one of these globs are kept. */
  include?: string[];
  /** Globs to skip; replaces DEFAULT_EXCLUDES when given (spread it to extend). */
  exclude?: string[];
  /** Symlinks are never followed. */
  followSymlinks?: false;
  signal?: AbortSignal;
  /** Case-insensitive matching of ignore files and globs (default: on Windows and macOS). */
  ignoreCase?: boolean;
  /** Asked for each kept file of at most 8 KiB: true keeps its text in `text` (already read). */
  wantContent?: (path: string, version: FileVersion) => boolean;
  /** Told of each broken ignore-file line or glob, which is skipped (the rest of its file applies). */
  onWarning?: (message: string) => void;
}

export const DEFAULT_MAX_FILE_BYTES = 1_000_000;

/**
 * Skipped unless `exclude` is given: dependency and tool folders, build outputs, lockfiles and
 * minified or generated bundles — large, duplicated or machine-written, so worth no tokens.
 * Same dialect as .gitignore (plus `{a,b}`): `x/` = folder x at any depth, `/out/` = only at the
 * root (a `src/out/` folder is source), `*.map` = by file name at any depth. `build/` is not here:
 * too many projects keep sources there; .gitignore usually covers real build outputs.
 */
export const DEFAULT_EXCLUDES: readonly string[] = [
  'node_modules/', 'bower_components/', 'jspm_packages/', '.hg/', '.svn/',
  '.venv/', 'venv/', '__pycache__/', '.tox/', '.mypy_cache/', '.pytest_cache/', '.ruff_cache/', '.gradle/',
  '.next/', '.nuxt/', '.turbo/', '.parcel-cache/', '.vscode-test/', '.megacontext/',
  '/out/', '/dist/', 'coverage/',
  'package-lock.json', 'yarn.lock', 'pnpm-lock.yaml', '*.min.js', '*.min.css', '*.map',
];

const HEAD_BYTES = 8192;
const CONCURRENCY = 16;

/** Walks `roots` and sorts out what to index. Rejects with an AbortError when `signal` aborts. */
export async function discoverFiles(roots: string[], options: DiscoverOptions = {}): Promise<DiscoveryResult> {
  const ignoreCase = options.ignoreCase ?? (process.platform === 'win32' || process.platform === 'darwin');
  const warnings: string[] = [];
  const warn = (w: IgnoreWarning): void => {
    const msg = `${w.file}${w.line > 0 ? `:${w.line}` : ''}: ignored pattern ${JSON.stringify(w.pattern)}: ${w.reason}`;
    warnings.push(msg);
    options.onWarning?.(msg);
  };
  const walk = new Walk(
    options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES,
    new GlobSet(options.exclude ?? DEFAULT_EXCLUDES, ignoreCase, warn),
    options.include ? new GlobSet(options.include, ignoreCase, warn) : undefined,
    ignoreCase,
    options.signal,
    options.wantContent,
    warn,
  );
  for (const root of roots) {
    options.signal?.throwIfAborted();
    await walk.root(path.resolve(root));
  }
  const byPath = <T extends { path: string }>(m: Map<string, T>): T[] =>
    [...m.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { files: byPath(walk.files), skipped: byPath(walk.skipped), warnings };
}

type Glob = GlobRule & IgnoreRules;

/**
 * Include or exclude globs of one walk. The `ignore` package keeps the result of every path a matcher
 * ever tested (and of its folders), one matcher per glob: over a 100k-file walk the ~30 default excludes
 * held ~350 MB of such results until the walk ended (the walk alone peaked at 528 MB RSS). Fresh
 * matchers every MATCHER_CACHE_PATHS paths, sharing the compiled rules, bound that at no measurable cost,
 * and so few results die young rather than in the old generation (every 4,096 paths still peaked at
 * 272 MB; every 256 at 173 MB, as a walk without globs). The rules, and so the answers, are the same.
 */
class GlobSet {
  private globs: Glob[];
  private tested = 0;

  constructor(patterns: readonly string[], private readonly ignoreCase: boolean, onWarning: (w: IgnoreWarning) => void) {
    this.globs = patterns.map((g) => compileGlob(g, { ignoreCase, file: 'setting', onWarning })).filter((r): r is Glob => r !== null);
  }

  /** The first glob matching `rel`, or undefined. */
  match(rel: string, isDir: boolean): GlobRule | undefined {
    if (++this.tested > MATCHER_CACHE_PATHS) {
      this.globs = this.globs.map((g) => ({ ...g, matcher: renewMatcher(g.matcher, this.ignoreCase) }));
      this.tested = 1;
    }
    return anyGlobMatches(this.globs, rel, isDir);
  }
}

class Walk {
  readonly files = new Map<string, DiscoveredFile>();
  readonly skipped = new Map<string, SkippedPath>();

  constructor(
    private readonly maxBytes: number,
    private readonly exclude: GlobSet,
    private readonly include: GlobSet | undefined,
    private readonly ignoreCase: boolean,
    private readonly signal: AbortSignal | undefined,
    private readonly wantContent: ((path: string, version: FileVersion) => boolean) | undefined,
    private readonly onWarning: (w: IgnoreWarning) => void,
  ) {}

  private skip(p: string, reason: SkipReason, detail?: string): void {
    if (!this.files.has(p)) this.skipped.set(p, detail === undefined ? { path: p, reason } : { path: p, reason, detail });
  }

  /** A file that failed to stat or open: gone since its folder was listed, or unreadable. */
  private skipFailed(p: string, err: unknown): void {
    const code = errorCode(err);
    if (code === 'ENOENT' || code === 'ENOTDIR') this.skip(p, 'vanished', 'deleted or renamed during indexing');
    else this.skip(p, 'unreadable', code);
  }

  async root(abs: string): Promise<void> {
    let st: Stats;
    try {
      st = await fsp.stat(abs);
    } catch (err) {
      return this.skip(abs, 'unreadable', errorCode(err));
    }
    if (st.isFile()) return this.file(abs, st);
    if (!st.isDirectory()) return this.skip(abs, 'unreadable', 'not a regular file or folder');
    await this.dir(abs, '', await this.levelsAbove(abs));
  }

  /** The ignore files above `root` up to its repository's top (none when it is the top or in no repository). */
  private async levelsAbove(root: string): Promise<IgnoreContext> {
    const none = IgnoreContext.below('', this.ignoreCase);
    if (await exists(path.join(root, '.git'))) return none;
    const chain: string[] = [];
    for (let d = path.dirname(root); ; d = path.dirname(d)) {
      chain.unshift(d);
      if (await exists(path.join(d, '.git'))) break;
      if (path.dirname(d) === d) return none; // not inside a repository
    }
    const top = chain[0];
    const rel = (d: string): string => path.relative(top, d).split(path.sep).join('/');
    let ctx = IgnoreContext.above(rel(root), this.ignoreCase);
    ctx = await this.withFile(ctx, path.join(top, '.git', 'info', 'exclude'), '');
    for (const d of chain) ctx = await this.withFile(ctx, path.join(d, '.gitignore'), rel(d));
    return ctx;
  }

  /** `ctx` plus one ignore file found in `dir` (relative to the context's top); a broken line is skipped with a warning. */
  private async withFile(ctx: IgnoreContext, file: string, dir: string): Promise<IgnoreContext> {
    let text: string;
    try {
      text = await fsp.readFile(file, 'utf8');
    } catch {
      return ctx; // absent or unreadable: no rules
    }
    return ctx.with(text, dir, { file, onWarning: this.onWarning });
  }

  private async dir(abs: string, rel: string, inherited: IgnoreContext): Promise<void> {
    this.signal?.throwIfAborted();
    let entries: Dirent[];
    try {
      entries = await fsp.readdir(abs, { withFileTypes: true });
    } catch (err) {
      return this.skip(abs, 'unreadable', errorCode(err));
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const badNames = entries.some((e) => e.name.includes('\uFFFD')) ? await undecodableNames(abs) : undefined;
    let levels = inherited;
    if (entries.some((e) => e.name === '.git')) {
      levels = await this.withFile(IgnoreContext.below(rel, this.ignoreCase), path.join(abs, '.git', 'info', 'exclude'), '');
    }
    if (entries.some((e) => e.name === '.gitignore' && e.isFile())) {
      levels = await this.withFile(levels, path.join(abs, '.gitignore'), levels.dirOf(rel));
    }

    const files: [string, string][] = [];
    for (const e of entries) {
      const childAbs = path.join(abs, e.name);
      const childRel = rel === '' ? e.name : `${rel}/${e.name}`;
      const badName = badNames?.get(e.name);
      if (badName !== undefined) { this.skip(childAbs, 'unreadable-name', `not valid UTF-8: ${badName}`); continue; }
      if (e.isSymbolicLink()) { this.skip(childAbs, 'symlink'); continue; }
      let isDir = e.isDirectory();
      if (!isDir && !e.isFile()) {
        const kind = await entryKind(childAbs, e);
        if (kind === 'symlink') { this.skip(childAbs, 'symlink'); continue; }
        if (kind !== 'file' && kind !== 'dir') { this.skip(childAbs, 'unreadable', kind); continue; }
        isDir = kind === 'dir';
      }
      if (e.name === '.git') { this.skip(childAbs, 'excluded', 'always skipped'); continue; }
      const ignoredBy = levels.ignored(childRel, isDir);
      if (ignoredBy) { this.skip(childAbs, 'gitignored', ignoredBy.source); continue; }
      const excludedBy = this.exclude.match(childRel, isDir);
      if (excludedBy) { this.skip(childAbs, 'excluded', excludedBy.source); continue; }
      if (isDir) {
        await this.dir(childAbs, childRel, levels);
      } else if (this.include && !this.include.match(childRel, false)) {
        this.skip(childAbs, 'excluded', 'not matched by include');
      } else {
        files.push([childAbs, childRel]);
      }
    }
    for (let i = 0; i < files.length; i += CONCURRENCY) {
      this.signal?.throwIfAborted();
      await Promise.all(files.slice(i, i + CONCURRENCY).map(([p]) => this.file(p)));
    }
  }

  /**
   * Checks one file; `known` is the stat of an explicitly named root (already followed). One open, one
   * fstat and one read per file (a 200k-file workspace is bound by these calls): the name decides
   * secrets before any IO, O_NOFOLLOW refuses a symlink that replaced the file, O_NONBLOCK a FIFO.
   */
  private async file(abs: string, known?: Stats): Promise<void> {
    const secret = secretPathRule(abs);
    if (secret) return this.skip(abs, 'secret', secret);
    let fh: fsp.FileHandle;
    try {
      fh = await fsp.open(abs, known ? OPEN_FLAGS : OPEN_FLAGS | NO_FOLLOW);
    } catch (err) {
      if (errorCode(err) === 'ELOOP' && !known) return this.skip(abs, 'symlink');
      return this.skipFailed(abs, err);
    }
    let st: Stats;
    let head: Buffer;
    try {
      st = known ?? (await fh.stat());
      if (!st.isFile()) return this.skip(abs, 'unreadable', 'not a regular file');
      if (st.size > this.maxBytes) return this.skip(abs, 'too-large', `${st.size} bytes > ${this.maxBytes}`);
      head = await readAll(fh, Math.min(st.size, HEAD_BYTES));
    } catch (err) {
      return this.skipFailed(abs, err);
    } finally {
      await fh.close().catch(() => undefined);
    }
    const binary = binaryReason(head, st.size > head.length);
    if (binary) return this.skip(abs, 'binary', binary);
    // Secret by content: a kubeconfig, Docker config or service-account key in the head, or a config file holding a credential (read whole).
    let text = head.toString('latin1');
    if (needsCredentialCheck(abs)) {
      try {
        text = head.length === st.size ? head.toString('utf8') : await fsp.readFile(abs, 'utf8');
      } catch (err) {
        return this.skip(abs, 'unreadable', errorCode(err));
      }
    }
    const byContent = secretContentRule(abs, text);
    if (byContent) return this.skip(abs, 'secret', byContent);
    // The whole file is in hand: pass it on rather than have the indexer read it again.
    const version: FileVersion = { size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, ino: st.ino };
    const whole = head.length === st.size && st.size <= HEAD_BYTES && (this.wantContent?.(abs, version) ?? false);
    this.files.set(abs, whole ? { path: abs, ...version, text: head.toString('utf8') } : { path: abs, ...version });
    this.skipped.delete(abs);
  }
}

/**
 * The names in `dir` that are not valid UTF-8, by the lossy string readdir gives for them, each with
 * its bytes shown escaped (`caf\xe9.py`). Asked only when a name holds U+FFFD, which such names do.
 */
async function undecodableNames(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  let raw: Buffer[];
  try {
    raw = await fsp.readdir(dir, { encoding: 'buffer' });
  } catch {
    return out;
  }
  for (const name of raw) {
    const lossy = name.toString('utf8');
    if (Buffer.from(lossy, 'utf8').equals(name)) continue;
    out.set(lossy, [...name].map((b) => (b >= 0x20 && b < 0x7f && b !== 0x5c ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`)).join(''));
  }
  return out;
}

/** Shared: one decoder per file was a measurable share of a 200k-file walk (non-streaming calls keep no state). */
const LENIENT_UTF8 = new TextDecoder('utf-8', { fatal: false });

/**
 * A whole file's bytes as text, or why they are binary: a NUL byte anywhere, or too much invalid UTF-8
 * over the whole content (not only its first 8 KiB: a file can be text for 8 KiB and binary after).
 * Decodes once; a UTF-8 BOM is kept in the text (offsets refer to the file as it is on disk).
 */
export function binaryText(bytes: Uint8Array): { text: string } | { binary: string } {
  if (bytes.includes(0)) return { binary: 'NUL byte' };
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  let bad = 0;
  for (let i = text.indexOf('\uFFFD'); i !== -1; i = text.indexOf('\uFFFD', i + 1)) bad++;
  return bad > text.length * 0.1 ? { binary: 'invalid UTF-8' } : { text };
}

/**
 * Why a file's first bytes look binary, or null: a NUL byte, or more than 10% of the text in
 * invalid UTF-8 (a legacy 8-bit encoding with a few accents stays text).
 */
export function binaryReason(head: Uint8Array, truncated: boolean): string | null {
  if (head.includes(0)) return 'NUL byte';
  let bytes = head;
  if (truncated) {
    // Do not count a character cut by the 8 KiB boundary as invalid.
    let cut = bytes.length;
    for (let k = 1; k <= 3 && cut - k >= 0; k++) {
      const b = bytes[cut - k];
      if ((b & 0xc0) === 0xc0) { cut -= k; break; }
      if ((b & 0x80) === 0) break;
    }
    bytes = bytes.subarray(0, cut);
  }
  if (bytes.length === 0) return null;
  const text = LENIENT_UTF8.decode(bytes);
  let bad = 0;
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 0xfffd) bad++;
  return bad > text.length * 0.1 ? 'invalid UTF-8' : null;
}

/** Opening a FIFO that replaced a file must not block a thread of the pool forever. */
const OPEN_FLAGS = fsc.O_RDONLY | (fsc.O_NONBLOCK ?? 0);

const NO_FOLLOW = fsc.O_NOFOLLOW ?? 0;

async function readAll(fh: fsp.FileHandle, n: number): Promise<Buffer> {
  const buf = Buffer.alloc(n);
  let done = 0;
  while (done < n) {
    const { bytesRead } = await fh.read(buf, done, n - done, done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return buf.subarray(0, done);
}

async function entryKind(abs: string, e: Dirent): Promise<string> {
  if (e.isFIFO() || e.isSocket() || e.isBlockDevice() || e.isCharacterDevice()) return 'not a regular file';
  try {
    const st = await fsp.lstat(abs); // the file system did not report a type
    return st.isSymbolicLink() ? 'symlink' : st.isDirectory() ? 'dir' : st.isFile() ? 'file' : 'not a regular file';
  } catch (err) {
    return errorCode(err);
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await fsp.lstat(p);
    return true;
  } catch {
    return false;
  }
}

function errorCode(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e.code ?? e.message ?? String(err);
}
