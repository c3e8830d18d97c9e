import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { join } from 'node:path';
import { ToolInputError, validateInput } from '../../src/tools/toolInput';
import { EXPAND_TOOL, RECALL_TOOL, REMEMBER_TOOL, TOOL_SCHEMAS } from '../../src/tools/toolSchemas';
import { PathOutsideWorkspaceError, resolveInWorkspace } from '../../src/tools/workspacePath';

const pkg = JSON.parse(readFileSync(join(__dirname, '..', '..', '..', 'package.json'), 'utf8')) as {
  contributes: { languageModelTools: { name: string; inputSchema: unknown; modelDescription: string }[] };
};

test('package.json declares each tool with exactly the schema toolSchemas.ts defines', () => {
  const declared = pkg.contributes.languageModelTools;
  assert.deepEqual(declared.map((t) => t.name).sort(), Object.keys(TOOL_SCHEMAS).sort());
  for (const tool of declared) {
    assert.deepEqual(tool.inputSchema, TOOL_SCHEMAS[tool.name as keyof typeof TOOL_SCHEMAS], `${tool.name}: package.json and toolSchemas.ts disagree`);
    assert.ok(tool.modelDescription.length > 40, `${tool.name} needs a model description`);
  }
});

test('valid tool inputs pass unchanged', () => {
  assert.deepEqual(validateInput({ query: 'q', budget: 1024 }, TOOL_SCHEMAS[RECALL_TOOL]), { query: 'q', budget: 1024 });
  assert.deepEqual(validateInput({ path: 'a.ts', startLine: 1, endLine: 3 }, TOOL_SCHEMAS[EXPAND_TOOL]), { path: 'a.ts', startLine: 1, endLine: 3 });
  assert.deepEqual(validateInput({ note: 'n' }, TOOL_SCHEMAS[REMEMBER_TOOL]), { note: 'n' });
});

test('malformed tool inputs are rejected with a message naming the problem', () => {
  const cases: [unknown, keyof typeof TOOL_SCHEMAS, RegExp][] = [
    [undefined, RECALL_TOOL, /the input must be an object, got a undefined/],
    [[], RECALL_TOOL, /must be an object, got an array/],
    [{}, RECALL_TOOL, /missing required property "query"/],
    [{ query: 3 }, RECALL_TOOL, /"query" must be a string, got a number/],
    [{ query: ' ' }, RECALL_TOOL, /"query" must not be empty/],
    [{ query: 'q', budget: 1.5 }, RECALL_TOOL, /"budget" must be an integer, got a non-integer number/],
    [{ query: 'q', budget: 10 }, RECALL_TOOL, /"budget" must be at least 256, got 10/],
    [{ query: 'q', budget: 10 ** 7 }, RECALL_TOOL, /"budget" must be at most 128000/],
    [{ query: 'q', extra: true }, RECALL_TOOL, /unknown property "extra" \(allowed: query, budget\)/],
    [{ path: 'a', startLine: 0, endLine: 1 }, EXPAND_TOOL, /"startLine" must be at least 1, got 0/],
    [{ path: 'a', startLine: 1 }, EXPAND_TOOL, /missing required property "endLine"/],
    [{ note: 'x'.repeat(4001) }, REMEMBER_TOOL, /"note" is longer than 4000 characters/],
  ];
  for (const [input, tool, message] of cases) assert.throws(() => validateInput(input, TOOL_SCHEMAS[tool]), (e: unknown) => e instanceof ToolInputError && message.test(e.message), JSON.stringify(input));
});

const roots = [{ name: 'shop', fsPath: '/work/shop' }];
const multi = [...roots, { name: 'docs', fsPath: '/work/docs' }];

test('relative paths resolve inside the workspace folder', () => {
  assert.equal(resolveInWorkspace('src/a.ts', roots, path.posix), '/work/shop/src/a.ts');
  assert.equal(resolveInWorkspace('./src/a.ts', roots, path.posix), '/work/shop/src/a.ts');
  assert.equal(resolveInWorkspace('/work/shop/src/a.ts', roots, path.posix), '/work/shop/src/a.ts');
  assert.equal(resolveInWorkspace('docs/guide.md', multi, path.posix), '/work/docs/guide.md');
  assert.equal(resolveInWorkspace('src/x.ts', multi, path.posix), '/work/shop/src/x.ts');
});

test('paths that leave the workspace are rejected', () => {
  const bad: [string, RegExp][] = [
    ['../secret.txt', /climbs out/],
    ['src/../../etc/passwd', /climbs out/],
    ['/etc/passwd', /outside the workspace folders/],
    ['/work/shopping/list.txt', /outside the workspace folders/],
    ['/work/shop/../other/x', /outside the workspace folders/],
    ['', /empty/],
    ['a\0b', /NUL/],
  ];
  for (const [input, message] of bad) {
    assert.throws(() => resolveInWorkspace(input, roots, path.posix), (e: unknown) => e instanceof PathOutsideWorkspaceError && message.test(e.message), input);
  }
  assert.throws(() => resolveInWorkspace('a.ts', [], path.posix), /no workspace folder is open/);
});

test('Windows paths are confined the same way', () => {
  const win = [{ name: 'shop', fsPath: 'C:\\work\\shop' }];
  assert.equal(resolveInWorkspace('src\\a.ts', win, path.win32), 'C:\\work\\shop\\src\\a.ts');
  assert.throws(() => resolveInWorkspace('..\\x', win, path.win32), /climbs out/);
  assert.throws(() => resolveInWorkspace('D:\\work\\shop\\a.ts', win, path.win32), /outside/);
});
