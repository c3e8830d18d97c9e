// Ignore rules against git itself: a seeded corpus of generated patterns (negations, anchors, `**`,
// character classes, escapes, trailing spaces, nested .gitignore files, .git/info/exclude) and paths,
// compared with `git ls-files --others --exclude-standard` (what a walk keeps) and `git check-ignore`
// (file by file); broken lines skip only themselves; pathological patterns finish and agree with git.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { discoverFiles } from '../../src/core/discovery';
import { IgnoreContext, parseGitignore, patternProblem, type IgnoreWarning } from '../../src/core/gitignore';
import { seededRandom } from './support/seededText';

const hasGit = spawnSync('git', ['--version']).status === 0;

const rng = seededRandom;

const DIRS = ['a', 'b', 'ab', 'foo', 'x1', 'Build', 'lib'];
const FILES = ['a', 'b.log', 'ab.txt', 'foo', 'x1.md', 'x2.md', 'keep.log', 'c.tmp', 'a b', '#h', '!bang', 'star*', 'q?', 'zz', 'A.LOG', 'br[a]'];

function generate(seed: number): { files: string[]; ignores: Record<string, string> } {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
  const files = new Set<string>();
  while (files.size < 70) {
    const depth = Math.floor(r() * 4);
    const parts = Array.from({ length: depth }, () => pick(DIRS));
    files.add([...parts, pick(FILES)].join('/'));
  }
  const segment = (): string => pick([
    () => pick(DIRS), () => pick(FILES.filter((f) => !/[*?[\]!# ]/.test(f))), () => '*', () => '*.log', () => '*.md', () => 'x?.md',
    () => '[ab]', () => '[!a]*', () => 'x[0-9].md', () => '[[:digit:]]', () => '[[:upper:]]*', () => 'a*b*', () => '?b', () => 'star\\*',
    () => 'q\\?', () => 'a\\ b', () => '\\#h', () => 'br\\[a]', () => 'br[[]a]', () => '*.[lt][oxm][gtp]', () => 'A.[Ll]OG',
  ])();
  const pattern = (): string => {
    const n = 1 + Math.floor(r() * 3);
    const segs: string[] = [];
    for (let i = 0; i < n; i++) segs.push(r() < 0.2 ? '**' : segment());
    let p = segs.join('/');
    if (r() < 0.2) p = '/' + p;
    if (r() < 0.15) p += '/';
    if (r() < 0.25) p = '!' + p;
    if (p.startsWith('#') || p.startsWith('!#')) p = p.replace('#', '\\#');
    if (r() < 0.1) p += '   ';
    if (r() < 0.05) p = '\\!' + p.replace(/^!/, '');
    return p;
  };
  const lines = (k: number): string => Array.from({ length: k }, pattern).join('\n') + '\n';
  // A name cannot be both a file and a folder.
  const dirs = [...new Set([...files].flatMap((f) => f.split('/').slice(0, -1).map((_, i, segs) => segs.slice(0, i + 1).join('/'))))].sort();
  const ignores: Record<string, string> = { '.gitignore': '# generated\n' + lines(12), '.git/info/exclude': lines(3) };
  for (let i = 0; i < 3; i++) ignores[`${pick(dirs.filter((d) => !d.includes('/')))}/.gitignore`] = lines(6);
  for (let i = 0; i < 2; i++) ignores[`${pick(dirs.filter((d) => d.includes('/')))}/.gitignore`] = lines(4);
  return { files: [...files].filter((f) => !dirs.includes(f)), ignores };
}

async function materialise(files: readonly string[], ignores: Record<string, string>): Promise<string> {
  const root = await fsp.realpath(await fsp.mkdtemp(path.join(os.tmpdir(), 'mgc-ign-')));
  assert.equal(spawnSync('git', ['init', '-q'], { cwd: root }).status, 0);
  for (const f of files) {
    await fsp.mkdir(path.join(root, path.dirname(f)), { recursive: true });
    await fsp.writeFile(path.join(root, f), 'x');
  }
  for (const [f, text] of Object.entries(ignores)) {
    await fsp.mkdir(path.join(root, path.dirname(f)), { recursive: true });
    await fsp.writeFile(path.join(root, f), text);
  }
  return root;
}

const gitKeeps = (root: string): string[] => {
  const out = spawnSync('git', ['-c', 'core.ignoreCase=false', 'ls-files', '--others', '--exclude-standard', '-z'], { cwd: root, encoding: 'utf8', maxBuffer: 1 << 26 });
  assert.equal(out.status, 0, out.stderr);
  return out.stdout.split('\0').filter((s) => s !== '').sort();
};

const gitIgnores = (root: string, paths: readonly string[]): Set<string> => {
  const out = spawnSync('git', ['-c', 'core.ignoreCase=false', 'check-ignore', '--stdin', '-z'], { cwd: root, input: paths.join('\0') + '\0', encoding: 'utf8', maxBuffer: 1 << 26 });
  assert.ok(out.status === 0 || out.status === 1, out.stderr);
  return new Set(out.stdout.split('\0').filter((s) => s !== ''));
};

async function ours(root: string): Promise<{ files: string[]; warnings: string[] }> {
  const res = await discoverFiles([root], { ignoreCase: false, exclude: [] });
  return {
    files: res.files.map((f) => path.relative(root, f.path).split(path.sep).join('/')).sort(),
    warnings: res.warnings,
  };
}

test('a seeded corpus of generated patterns and paths: the walk keeps what git keeps', { skip: !hasGit && 'git is not installed' }, async () => {
  let paths = 0;
  let ignoredByGit = 0;
  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
    const { files, ignores } = generate(seed);
    const root = await materialise(files, ignores);
    const expected = gitKeeps(root);
    const got = await ours(root);
    const all = [...files, ...Object.keys(ignores).filter((f) => !f.startsWith('.git/'))];
    paths += all.length;
    ignoredByGit += all.length - expected.length;
    assert.deepEqual(got.files, expected, `seed ${seed}:\n${Object.entries(ignores).map(([f, t]) => `--- ${f}\n${t}`).join('')}`);
    // check-ignore, file by file: whatever the walk left out for ignore rules, git ignores too.
    const ignoredByUs = all.filter((f) => !got.files.includes(f));
    const ancestors = (f: string): string[] => f.split('/').slice(0, -1).map((_, i, segs) => segs.slice(0, i + 1).join('/'));
    const gitSays = gitIgnores(root, [...new Set([...all, ...all.flatMap(ancestors)])]);
    for (const f of ignoredByUs) {
      assert.ok(gitSays.has(f) || ancestors(f).some((d) => gitSays.has(d)), `seed ${seed}: ${f} left out, git check-ignore keeps it`);
    }
    for (const f of got.files) assert.ok(!gitSays.has(f), `seed ${seed}: ${f} kept, git check-ignore ignores it`);
    await fsp.rm(root, { recursive: true, force: true });
  }
  assert.ok(paths >= 400, `${paths} paths`);
  assert.ok(ignoredByGit > 50 && ignoredByGit < paths - 50, `git ignored ${ignoredByGit} of ${paths}: the corpus should exercise both sides`);
});

test('one broken line skips only itself, with a warning naming file and line; git agrees', { skip: !hasGit && 'git is not installed' }, async () => {
  const root = await materialise(['private/notes.md', 'a.secret.json', 'src/a.ts', 'z', 'a', 'x\\', 'y'], {
    '.gitignore': 'private/\n*.secret.json\n[z-a]\ny\\\n[[:nope:]]\n[unterminated\n',
  });
  const got = await ours(root);
  assert.deepEqual(got.files, gitKeeps(root));
  // The two ignored files stay out; "[z-a]" matches "z" only, as in git; the broken lines match nothing.
  assert.deepEqual(got.files, ['.gitignore', 'a', 'src/a.ts', 'x\\', 'y']);
  const gi = path.join(root, '.gitignore');
  assert.deepEqual(got.warnings, [
    `${gi}:4: ignored pattern "y\\\\": trailing backslash`,
    `${gi}:5: ignored pattern "[[:nope:]]": unknown character class [:nope:]`,
    `${gi}:6: ignored pattern "[unterminated": unterminated character class`,
  ]);
  const seen: IgnoreWarning[] = [];
  const rules = parseGitignore('ok\n[[:nope:]]x   \n', { file: 'f', onWarning: (w) => seen.push(w) });
  assert.deepEqual(seen, [{ file: 'f', line: 2, pattern: '[[:nope:]]x', reason: 'unknown character class [:nope:]' }]);
  assert.equal(rules.rules.length, 1);
  assert.equal(patternProblem('[]a]'), null);
  assert.equal(patternProblem('[!]-]'), null);
  assert.equal(patternProblem('[a-]'), null);
  assert.equal(patternProblem('\\[z-a]'), null);
  assert.equal(patternProblem('[z-a]'), null);
  assert.equal(patternProblem('[a-\\'), 'unterminated character class');
});

test('pathological patterns complete and agree with git', { skip: !hasGit && 'git is not installed', timeout: 120_000 }, async () => {
  // Backtracking matchers take exponential time on these; ignore's regexes take each literal at its
  // first occurrence and fold runs of "**", so both are linear in the path.
  const stars = await materialise(['a'.repeat(48), 'a'.repeat(48) + 'b', 'ba'.repeat(30), 'keep.txt'], { '.gitignore': '*a*a*a*a*a*a*a*a*a*a*b\n' });
  const s = await ours(stars);
  assert.deepEqual(s.files, gitKeeps(stars));
  assert.deepEqual(s.files, ['.gitignore', 'a'.repeat(48), 'ba'.repeat(30), 'keep.txt']);

  const deep = Array.from({ length: 500 }, (_, i) => `d${i % 10}`).join('/');
  const globstars = await materialise([`${deep}/zz`, `${deep}/y`, 'zz', 'top.txt'], { '.gitignore': '**/**/**/**/**/**/**/**/zz\n' });
  const g = await ours(globstars);
  // git's own wildmatch backtracks on this one (over 30 s at this depth), so git is asked about the
  // equivalent "**/zz" ("**/" repeated means "**/" once).
  await fsp.writeFile(path.join(globstars, '.gitignore'), '**/zz\n');
  assert.deepEqual(g.files, gitKeeps(globstars));
  assert.deepEqual(g.files, ['.gitignore', `${deep}/y`, 'top.txt']);

  // The matcher alone, on long names.
  const level = IgnoreContext.below('', false).with('*a*a*a*a*a*a*a*a*a*a*b\n**/**/**/**/**/**/**/**/zz\n', '');
  assert.equal(level.ignored('a'.repeat(5000), false), undefined);
  assert.ok(level.ignored('a'.repeat(5000) + 'b', false));
  assert.ok(level.ignored('x/'.repeat(2000) + 'zz', false));
  assert.equal(level.ignored('x/'.repeat(2000) + 'zzz', false), undefined);
  // Nested folders' files rebased: a pattern deep below keeps its own anchoring.
  const nested = IgnoreContext.below('', false).with('*.log\n', '').with('!keep.log\n/x.tmp\n', 'we[i]rd dir');
  assert.ok(nested.ignored('we[i]rd dir/a.log', false) && !nested.ignored('we[i]rd dir/sub/keep.log', false));
  assert.ok(nested.ignored('we[i]rd dir/x.tmp', false) && !nested.ignored('we[i]rd dir/sub/x.tmp', false) && !nested.ignored('x.tmp', false));
});
