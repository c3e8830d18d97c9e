/**
 * More issue-localization instances for LensNet v2's ranking loss, mined from the development
 * repositories' own histories (click, httpx, attrs) by the selection rules of the evaluation set
 * (../shared/data/issue-loc-dev/README.md, "Selection"): PR merges and squash merges on the first-parent
 * history, bots, release branches, releases, bumps and reverts left out, the query built from the commit
 * message, the gold from `git diff --no-renames -U0 base fix` over source files, and the same filters.
 * The 200 evaluation commits are never taken (their fix commits are skipped), and neither is any
 * repository of the test split (ky, express): only ISSUE_SPLITS.dev is mined.
 *
 * The rules are checked against the data set itself: every development instance of instances.jsonl is
 * found by them with the same query and gold (`node out/models/training/issue-history.js --check`).
 */
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { bareRepository, ISSUE_SPLITS, loadIssueInstances, type IssueGold, type IssueInstance } from '../../src/eval/issues';

const BOT = /dependabot|pre-commit-ci|renovate|github-actions|\[bot\]|greenkeeper|snyk-bot|allcontributors/i;
const PR_MERGE = /^Merge pull request #(\d+) from (\S+)/;
const SQUASH = /\(#(\d+)\)\s*$/;
/** A release or maintenance branch name (of the project's own repository: `<owner>/stable`, `main`, `8.1.x`, …). */
const OWN_BRANCH = /^(?:stable|main|master|develop|\d+\.\d+\.x|\d+\.x|\d+\.\d+-maintenance|maintenance)$/i;
const RELEASE = /^(?:Version|Release|Releasing|Prepare release|Bump version \d)|^v?\d+(?:\.\d+)+\S*\s*$|^Revert "|^Bump \S+ (?:from|to)\b/i;
const TRAILER = /^(?:Co-authored-by|Signed-off-by|Reviewed-by|Acked-by|Tested-by|Reported-by|Suggested-by|Helped-by):/i;
const SOURCE_EXT = /\.(?:py|pyi|pyx|js|mjs|cjs|jsx|ts|mts|cts|tsx)$/;
const EXCLUDED_DIRS = new Set(['test', 'tests', 'testing', '__tests__', 'docs', 'doc', 'changelog', '.github', 'examples', 'example', 'bench', 'benchmark', 'benchmarks', 'typing_tests', 'typing-tests', 'typing-examples', 'cypress']);
const EXCLUDED_NAME = /^(?:test_.*\.py|.*_test\.py|conftest\.py|noxfile\.py|.*\.test\..*|.*\.spec\..*|.*\.test-d\..*)$|^(?:CHANGES|CHANGELOG|HISTORY|AUTHORS)/i;
const LOCK = /(?:^|\/)(?:package-lock\.json|yarn\.lock|pnpm-lock\.yaml|poetry\.lock|Pipfile\.lock|uv\.lock)$/;
const MAX_QUERY = 1500;

/** Whether a PR's head (`owner/branch`, or a bare branch) is one of the project's own release or maintenance branches. */
export function isOwnBranch(head: string, repo: string): boolean {
  const cut = head.indexOf('/');
  const owner = cut < 0 ? '' : head.slice(0, cut);
  if (owner !== '' && owner.toLowerCase() !== repo.split('/')[0].toLowerCase()) return false;
  return OWN_BRANCH.test(cut < 0 ? head : head.slice(cut + 1));
}

/** Whether a changed path is a source file by the data set's rules. */
export function isSourcePath(path: string): boolean {
  if (!SOURCE_EXT.test(path) || LOCK.test(path)) return false;
  const parts = path.split('/');
  const name = parts.pop()!;
  if (parts.some((p) => EXCLUDED_DIRS.has(p.toLowerCase()))) return false;
  return !EXCLUDED_NAME.test(name);
}

/** The query of a commit message by the data set's rules, or null when the commit is not a candidate. */
export function queryOf(message: string, parents: number): { query: string; pr: string; head?: string } | null {
  const lines = message.replace(/\r\n/g, '\n').split('\n');
  const subject = lines[0] ?? '';
  let body: string[];
  let pr: string;
  let head: string | undefined;
  const merge = PR_MERGE.exec(subject);
  if (merge && parents >= 2) {
    pr = merge[1];
    head = merge[2];
    body = lines.slice(1);
  } else {
    const squash = SQUASH.exec(subject);
    if (!squash || subject.startsWith('Merge ')) return null;
    pr = squash[1];
    body = [subject.replace(SQUASH, '').trimEnd(), ...lines.slice(1)];
  }
  const kept: string[] = [];
  for (let i = 0; i < body.length; i++) {
    const l = body[i];
    const t = l.trim();
    if (/^Merge pull request /.test(t) || TRAILER.test(t) || /^-{9,}$/.test(t) || /^\*\s*$/.test(t)) continue;
    if (/^(?:\*\s*)?\[pre-commit\.ci\] auto fixes/.test(t)) {
      if (/^for more information, see https:\/\/pre-commit\.ci/.test((body[i + 1] ?? '').trim())) i++;
      continue;
    }
    if (/^for more information, see https:\/\/pre-commit\.ci/.test(t)) continue;
    kept.push(l);
  }
  let query = kept.join('\n').replace(/\n(?:[ \t]*\n)+/g, '\n\n').trim();
  if (query.length > MAX_QUERY) {
    const cut = query.slice(0, MAX_QUERY + 1);
    const ws = cut.search(/\s\S*$/);
    query = (ws > 0 ? cut.slice(0, ws) : query.slice(0, MAX_QUERY)).trim();
  }
  return { query, pr, head };
}

/** Gold ranges of one file from `git diff -U0` hunks (pre-image lines; an insertion: the line before it, or 1). */
export function hunkRanges(diff: string): [number, number][] {
  const out: [number, number][] = [];
  for (const m of diff.matchAll(/^@@ -(\d+)(?:,(\d+))? \+\d+(?:,\d+)? @@/gm)) {
    const a = Number(m[1]);
    const b = m[2] === undefined ? 1 : Number(m[2]);
    out.push(b > 0 ? [a, a + b - 1] : [Math.max(1, a), Math.max(1, a)]);
  }
  out.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  const merged: [number, number][] = [];
  for (const r of out) {
    const last = merged[merged.length - 1];
    if (last && r[0] <= last[1]) last[1] = Math.max(last[1], r[1]);
    else merged.push([r[0], r[1]]);
  }
  return merged;
}

function git(gitDir: string, args: string[]): string {
  return execFileSync('git', ['--git-dir', gitDir, ...args], { encoding: 'utf8', maxBuffer: 1 << 30, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Every eligible commit of one repository's first-parent history, oldest first. */
export function mineRepository(dataDir: string, cache: string, repo: string): IssueInstance[] {
  const bundle = `${repo.replace('/', '+')}.bundle`;
  const gitDir = bareRepository(dataDir, cache, bundle);
  const log = git(gitDir, ['log', '--first-parent', '--reverse', '--format=%x00%H%x01%P%x01%an%x01%ae%x01%B', 'HEAD']);
  const out: IssueInstance[] = [];
  for (const rec of log.split('\x00').slice(1)) {
    const [sha, parentList, author, email, message] = rec.split('\x01');
    const parents = parentList.trim().split(/\s+/).filter(Boolean);
    if (parents.length === 0) continue;
    if (BOT.test(author) || BOT.test(email)) continue;
    const q = queryOf(message.replace(/\n+$/, ''), parents.length);
    if (!q) continue;
    if (q.head && (BOT.test(q.head) || isOwnBranch(q.head, repo))) continue;
    const first = q.query.split('\n')[0].trim();
    if (RELEASE.test(first)) continue;
    const words = q.query.split(/\s+/).filter((w) => w !== '' && w !== `#${q.pr}` && w !== `(#${q.pr})`);
    if (words.length < 6) continue;
    const base = parents[0];
    const status = git(gitDir, ['diff', '--no-renames', '--name-status', base, sha]).split('\n').filter(Boolean).map((l) => l.split('\t'));
    const source = status.filter(([, path]) => isSourcePath(path));
    if (source.length < 1 || source.length > 4 || source.some(([s]) => s.startsWith('A'))) continue;
    const gold: IssueGold[] = [];
    let total = 0;
    for (const [, path] of source) {
      const lines = hunkRanges(git(gitDir, ['diff', '--no-renames', '-U0', base, sha, '--', path]));
      if (lines.length === 0) continue;
      gold.push({ path, lines });
      total += lines.reduce((a, [x, y]) => a + y - x + 1, 0);
    }
    if (gold.length === 0 || total > 80) continue;
    const lower = q.query.toLowerCase();
    if (gold.some((g) => lower.includes(g.path.toLowerCase()) || lower.includes(g.path.split('/').pop()!.toLowerCase()))) continue;
    out.push({ id: `${repo.replace('/', '+')}@${sha.slice(0, 10)}`, repo, bundle, base, fix: sha, query: q.query, gold });
  }
  return out;
}

/**
 * The mined instances of the development repositories that are not evaluation instances: what
 * value-data.ts adds to the issue suite with --issue-history.
 */
export function historyInstances(dataDir: string, cache: string): IssueInstance[] {
  const evaluation = new Set(loadIssueInstances(dataDir).map((i) => i.fix));
  return ISSUE_SPLITS.dev.flatMap((repo) => mineRepository(dataDir, cache, repo).filter((i) => !evaluation.has(i.fix)));
}

if (require.main === module) {
  const arg = (name: string, fallback: string) => {
    const i = process.argv.indexOf(name);
    return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
  };
  const dataDir = resolve(arg('--issues', '../shared/data/issue-loc-dev'));
  const cache = resolve('.cache', 'issue-loc');
  const all = loadIssueInstances(dataDir);
  let same = 0;
  let missing = 0;
  for (const repo of ISSUE_SPLITS.dev) {
    const mined = mineRepository(dataDir, cache, repo);
    const byFix = new Map(mined.map((i) => [i.fix, i]));
    const dev = all.filter((i) => i.repo === repo);
    for (const inst of dev) {
      const m = byFix.get(inst.fix);
      if (m && m.query === inst.query && JSON.stringify(m.gold) === JSON.stringify(inst.gold)) same++;
      else {
        missing++;
        if (process.argv.includes('--check')) console.log(`differs: ${inst.id}${m ? '' : ' (not mined)'}\n  want ${JSON.stringify(inst.query).slice(0, 200)} ${JSON.stringify(inst.gold).slice(0, 200)}\n  got  ${m ? JSON.stringify(m.query).slice(0, 200) + ' ' + JSON.stringify(m.gold).slice(0, 200) : '-'}`);
      }
    }
    console.log(`issue-history: ${repo}: ${mined.length} eligible, ${mined.length - dev.filter((i) => byFix.has(i.fix)).length} beyond the evaluation set`);
  }
  console.log(`issue-history: development instances reproduced ${same} of ${same + missing}`);
}
