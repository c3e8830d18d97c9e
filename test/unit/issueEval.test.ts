import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { definitionEnd, findDefinitions, innermostDefinition, maskJs } from '../../src/eval/definitions';
import { exactLines, formatIssueTable, loadIssueInstances, materializeBase, RepoHaystacks, runIssueSuite, scoreIssue, selectInstances, type IssueGold } from '../../src/eval/issues';
import { BASELINES, BM25_FILES, megacontext, type MapLine } from '../../src/eval/harness';
import { packageRoot } from '../../src/core/packageRoot';
import { FakeRuntime } from './support/fakeRuntime';

// From pallets/click (src/click/core.py and decorators.py, abridged only between functions): a
// decorator, a multi-line signature, a nested function, a docstring holding `def`, a string holding `#`.
const PYTHON = `import typing as t


class Context:
    """The context.

    def not_a_function():
        pass
    """

    def __init__(
        self,
        command: "Command",
        parent: "Context | None" = None,
    ) -> None:
        #: the parent context or \`None\` if none exists.
        self.parent = parent
        self.command = command

        self.info_name = "#" + str(command)

    @property
    def command_path(self) -> str:
        rv = ""
        if self.info_name is not None:
            rv = self.info_name
        # trailing comment

    def find_root(self) -> "Context":
        node = self
        while node.parent is not None:
            node = node.parent
        return node


def pass_context(f):
    def new_func(*args, **kwargs):
        return f(get_current_context(), *args, **kwargs)

    return update_wrapper(new_func, f)
`;

test('Python definitions end where indentation says, whatever strings and comments hold', () => {
  const defs = findDefinitions(PYTHON, 'python');
  const byName = new Map(defs.map((d) => [d.name, d]));
  assert.deepEqual([...byName.keys()], ['Context', '__init__', 'command_path', 'find_root', 'pass_context', 'new_func'], 'no def inside the docstring');
  const lines = PYTHON.split('\n');
  const line = (n: string) => lines.findIndex((l) => l.includes(n));
  assert.deepEqual(byName.get('Context'), { name: 'Context', head: line('class Context'), end: line('return node') });
  assert.deepEqual(byName.get('__init__'), { name: '__init__', head: line('def __init__'), end: line('self.info_name = "#"') });
  // A trailing comment after the last statement is not part of the body.
  assert.equal(byName.get('command_path')!.end, line('rv = self.info_name'));
  assert.equal(byName.get('new_func')!.end, line('return f(get_current_context()'));
  assert.equal(byName.get('pass_context')!.end, line('return update_wrapper'));
  assert.equal(definitionEnd(PYTHON, 'python', line('def find_root')), line('return node'));
  // The innermost definition around a line of __init__'s body, and none around the import.
  assert.equal(innermostDefinition(defs, line('self.parent = parent'), line('self.command = command'))!.name, '__init__');
  assert.equal(innermostDefinition(defs, 0, 0), undefined);
});

// From expressjs/express (lib/response.js, lib/router/index.js) and sindresorhus/ky (source/core/Ky.ts):
// assigned and nested functions, a regex and a string holding braces, a template literal, a class with
// private and generic methods, an anonymous callback.
const JS = `'use strict';

var charsetRegExp = /;\\s*charset\\s*=/;

res.send = function send(body) {
  var chunk = body;
  if (typeof chunk === 'string' && !/^\\s*{/.test(chunk)) {
    this.set('Content-Type', '{ not a brace');
  }
  // a comment with a } brace
  return this;
};

proto.handle = function handle(req, res, out) {
  var self = this;
  next();

  function next(err) {
    var path = \`\${req.url}/{x}\`;
    self.stack.forEach(function (layer) {
      layer.handle(path);
    });
  }
};

export class Ky {
\tstatic create(input: Input, options: Options): ResponsePromise {
\t\tconst ky = new Ky(input, options);
\t\tconst function_ = async (): Promise<Response | void> => {
\t\t\treturn ky.#fetch();
\t\t};
\t\treturn function_();
\t}

\tasync #retry<T extends (...arguments_: any) => Promise<any>>(function_: T): Promise<ReturnType<T> | void> {
\t\ttry {
\t\t\treturn await function_();
\t\t} catch (error) {
\t\t\treturn this.#retryFromError(error, function_);
\t\t}
\t}
}

export const isObject = (value: unknown): value is object => value !== null && typeof value === 'object';
`;

test('JS/TS definitions end at their matching brace, skipping strings, comments, regexes and templates', () => {
  const masked = maskJs(JS);
  assert.equal(masked.length, JS.length);
  assert.equal(masked.split('\n').length, JS.split('\n').length);
  assert.ok(!masked.includes('not a brace') && !masked.includes('a comment'));
  const lines = JS.split('\n');
  const line = (n: string) => lines.findIndex((l) => l.includes(n));
  /** The first line after `from` that is exactly `text`: a closing brace. */
  const close = (text: string, from: number) => lines.findIndex((l, i) => i > from && l === text);
  const defs = findDefinitions(JS, 'js');
  assert.deepEqual(defs.map((d) => [d.name, d.head, d.end]), [
    ['send', line('res.send ='), close('};', line('res.send ='))],
    ['handle', line('proto.handle ='), close('};', line('proto.handle ='))],
    ['next', line('function next'), close('  }', line('function next'))],
    ['Ky', line('export class Ky'), close('}', line('export class Ky'))],
    ['create', line('static create'), close('\t}', line('static create'))],
    ['function_', line('const function_'), close('\t\t};', line('const function_'))],
    ['#retry', line('async #retry'), close('\t}', line('async #retry'))],
  ]);
  // The anonymous callback is no definition: its body belongs to `next`.
  assert.equal(innermostDefinition(defs, line('layer.handle'), line('layer.handle'))!.name, 'next');
  // An arrow function with an expression body ends with its statement.
  assert.equal(definitionEnd(JS, 'js', line('export const isObject')), line('export const isObject'));
});

const FILE = 'def alpha(x):\n    y = x + 1\n\n    return y\n\n\ntop = 1\n';

test('exact lines: a line counts when all of it is exact; an empty line when a run holds or touches it', () => {
  const at = (n: number) => FILE.split('\n').slice(0, n).join('\n').length + (n > 0 ? 1 : 0); // offset of line n (0-based)
  const shown = exactLines(FILE, [[at(0), at(2)]]); // lines 0-1, ending after line 1's break
  assert.equal(shown.exact(0), true);
  assert.equal(shown.exact(1), true);
  assert.equal(shown.exact(2), true, 'the blank line right after the run touches it');
  assert.equal(shown.exact(3), false);
  assert.equal(shown.exact(5), false, 'a blank line away from every run');
  const part = exactLines(FILE, [[at(1), at(1) + 5]]);
  assert.equal(part.exact(1), false, 'part of a line is not the line');
  assert.equal(part.any(), false);
  assert.equal(exactLines(FILE, [[at(3), at(4)]]).exact(2), true, 'the blank line right before a run');
});

test('issue metrics: exact hunk, missed hunk, a hunk the map points to, a blank gold line', () => {
  const texts = new Map([['a.py', FILE]]);
  const at = (n: number) => FILE.split('\n').slice(0, n).join('\n').length + (n > 0 ? 1 : 0);
  const gold: IssueGold[] = [{ path: 'a.py', lines: [[2, 3]] }]; // `y = x + 1` and the blank line after it
  const none: MapLine[] = [];
  // Lines 2-3 exact (line 3 is blank, at the run's edge), but not the def line.
  assert.deepEqual(scoreIssue(gold, texts, new Map([['a.py', [[at(1), at(2)]]]]), none), { lines: true, def: false, files: true, pointer: true });
  // The whole function: every metric.
  assert.deepEqual(scoreIssue(gold, texts, new Map([['a.py', [[at(0), at(4)]]]]), none), { lines: true, def: true, files: true, pointer: true });
  // Another line of the file only: the file is found, the hunk is not.
  const other = new Map([['a.py', [[at(6), at(7)]] as [number, number][]]]);
  assert.deepEqual(scoreIssue(gold, texts, other, none), { lines: false, def: false, files: true, pointer: false });
  // The map names the enclosing function with its line (1-based): a pointer, not an exact hunk.
  const named: MapLine[] = [{ docId: 'a.py', startLine: 1, endLine: 7, names: [{ name: 'alpha', line: 1 }] }];
  assert.deepEqual(scoreIssue(gold, texts, other, named), { lines: false, def: false, files: true, pointer: true });
  const wrongLine: MapLine[] = [{ docId: 'a.py', startLine: 1, endLine: 7, names: [{ name: 'alpha', line: 2 }] }];
  assert.equal(scoreIssue(gold, texts, other, wrongLine).pointer, false);
  // A hunk outside every definition is pointed to by a short enough map line covering it.
  const topGold: IssueGold[] = [{ path: 'a.py', lines: [[7, 7]] }];
  assert.equal(scoreIssue(topGold, texts, new Map(), [{ docId: 'a.py', startLine: 5, endLine: 8, names: [] }]).pointer, true);
  assert.equal(scoreIssue(topGold, texts, new Map(), [{ docId: 'a.py', startLine: 1, endLine: 60, names: [] }]).pointer, false, 'a map line over 50 lines');
  // A gold file the haystack lacks fails everything.
  assert.deepEqual(scoreIssue([{ path: 'b.py', lines: [[1, 1]] }], texts, new Map(), named), { lines: false, def: false, files: false, pointer: false });
});

const DATA = join(packageRoot(), '..', 'shared', 'data', 'issue-loc-dev');
const NO_DATA = !existsSync(DATA) && `no data in ${DATA}`;
/** One materialization cache for the tests that need the bundles. */
const CACHE = mkdtempSync(join(tmpdir(), 'issue-loc-'));
after(() => rmSync(CACHE, { recursive: true, force: true }));

test('a ky instance materializes from its bundle with the gold lines where the fix changed them', { skip: NO_DATA }, async () => {
  const inst = selectInstances(loadIssueInstances(DATA), 'test').find((i) => i.id === 'sindresorhus+ky@af77f30f42')!;
  const root = materializeBase(DATA, CACHE, inst);
  assert.equal(materializeBase(DATA, CACHE, inst), root, 'reused');
  const [gold] = inst.gold;
  const lines = readFileSync(join(root, gold.path), 'utf8').split('\n');
  // The fix's pre-image lines (git diff -U0), at the positions the instance states.
  const diff = execFileSync('git', ['--git-dir', join(CACHE, 'git', 'sindresorhus+ky.git'), 'diff', '--no-renames', '-U0', inst.base, inst.fix, '--', gold.path], { encoding: 'utf8' });
  const removed: [number, string][] = [];
  let at = 0;
  for (const l of diff.split('\n')) {
    const h = /^@@ -(\d+)/.exec(l);
    if (h) at = Number(h[1]);
    else if (l.startsWith('-') && !l.startsWith('---')) removed.push([at++, l.slice(1)]);
  }
  assert.ok(removed.length > 0);
  for (const [n, text] of removed) {
    assert.equal(lines[n - 1], text, `line ${n}`);
    assert.ok(gold.lines.some(([a, b]) => a <= n && n <= b), `line ${n} is gold`);
  }
  // The product's view of the tree names the file by its path relative to the root.
  const p = await new RepoHaystacks(new FakeRuntime(16)).checkout(inst.id, root);
  const doc = p.h.docs.find((d) => d.id === gold.path);
  assert.ok(doc && doc.text.split('\n')[gold.lines[0][0] - 1] === lines[gold.lines[0][0] - 1]);
});

test('the issue suite scores every method on the first instance of each test repository', { skip: NO_DATA }, async () => {
  const methods = [BM25_FILES, BASELINES.find((m) => m.name === 'bm25-chunks')!, megacontext('mc-lexical', 'lexical')];
  const { rows, timing } = await runIssueSuite({ dataDir: DATA, cacheDir: CACHE, runtime: new FakeRuntime(16), methods, budgets: [8192], splits: ['test'], limit: 1 });
  assert.equal(rows.length, 1);
  assert.equal(rows[0].n, 2);
  for (const m of methods) for (const v of Object.values(rows[0].metrics[m.name])) assert.ok(v >= 0 && v <= 1);
  // bm25-files shows whole files: a file it shows has every line exact.
  const f = rows[0].metrics['bm25-files'];
  assert.equal(f.lines, f.files);
  assert.deepEqual(timing.goldMissing, []);
  assert.match(formatIssueTable(rows, timing), /\| test \| 8192 \| 2 \| [\d.]+ \/ [\d.]+ \/ [\d.]+ \/ [\d.]+ \|/);
});

test('instances are selected per split, the first N of each repository', () => {
  const mk = (repo: string, k: number) => ({ id: `${repo}@${k}`, repo, bundle: '', base: '', fix: '', query: '', gold: [] });
  const all = [mk('pallets/click', 1), mk('sindresorhus/ky', 1), mk('pallets/click', 2), mk('encode/httpx', 1), mk('pallets/click', 3)];
  assert.deepEqual(selectInstances(all, 'dev', 2).map((i) => i.id), ['pallets/click@1', 'pallets/click@2', 'encode/httpx@1']);
  assert.deepEqual(selectInstances(all, 'test').map((i) => i.id), ['sindresorhus/ky@1']);
});
