// `megacontext mcp` as an agent meets it: the real server (bin/megacontext.js → dist/cli.js, built by
// scripts/build.mjs) spawned over stdio and driven by the MCP SDK's own Client on a small temporary
// workspace: each tool's real answer, the workspace boundary, secrets, a note that outlives the server
// process, the structured focus map against its schema, and one-line errors for bad input.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv-provider.js';
import { TOOL_SCHEMAS, RECALL_TOOL, EXPAND_TOOL, REMEMBER_TOOL } from '../../src/tools/toolSchemas';
import { FOCUS_MAP_OUTPUT_SCHEMA, type FocusMap } from '../../src/mcp/tools';
import { EngineClient } from '../../src/extension/engineClient';
import { run } from './support/cliRun';

const repo = join(__dirname, '..', '..', '..');
const bin = join(repo, 'bin', 'megacontext.js');

/** A GitHub token shape, assembled at run time so no real-looking token is committed. */
const TOKEN = ['ghp', '_', 'McpFixture', 'Tok3n', 'q'.repeat(16)].join('');
const DOTENV = 'mcp-dotenv-secret-51c0de';
const OUTSIDE = 'outside-the-workspace-8d2b';
const LATE_FEE_LINE = '  return Math.round((balanceCents * LATE_FEE_BASIS_POINTS * daysOverdue) / (10_000 * 30));';

const tmp = mkdtempSync(join(tmpdir(), 'mc-mcp-'));
const ws = join(tmp, 'shop');
const store = join(tmp, 'store');

function write(rel: string, text: string): void {
  mkdirSync(join(ws, rel, '..'), { recursive: true });
  writeFileSync(join(ws, rel), text);
}

/** Filler modules, so a budget of 1024 cannot show everything exactly. */
function filler(i: number): string {
  const lines = [`// Module ${i} of the warehouse robot's route planner.`];
  for (let f = 0; f < 8; f++) {
    lines.push(`export function route${i}Step${f}(grid: number[][], x: number, y: number): number {`);
    lines.push(`  const weight${i}x${f} = grid[y]?.[x] ?? ${i * 10 + f};`);
    lines.push(`  return weight${i}x${f} * ${f + 1} + conveyorBelt${i}(${f});`, '}', '');
  }
  return lines.join('\n');
}

function buildWorkspace(): void {
  write('src/invoice.ts', [
    '// Invoices: totals, taxes and the late fee for overdue balances.',
    'export const LATE_FEE_BASIS_POINTS = 150;',
    '',
    'export function invoiceTotal(lines: { cents: number; qty: number }[]): number {',
    '  return lines.reduce((sum, l) => sum + l.cents * l.qty, 0);',
    '}',
    '',
    '/** The late fee charged on an overdue invoice balance, pro rata per 30 days. */',
    'export function computeLateFee(balanceCents: number, daysOverdue: number): number {',
    '  if (daysOverdue <= 0) return 0;',
    LATE_FEE_LINE,
    '}',
    '',
  ].join('\n'));
  for (let i = 0; i < 8; i++) write(`src/routes/route${i}.ts`, filler(i));
  write('docs/guide.md', '# Guide\n\nThe shop sends invoices monthly.\n\n## Refunds\n\nRefunds are issued to the original card.\n');
  write('src/leakyConfig.ts', `// Someone committed a token here.\nexport const githubToken = '${TOKEN}';\nexport const retries = 3;\n`);
  write('.env', `API_SECRET=${DOTENV}\n`);
  writeFileSync(join(tmp, 'outside.txt'), `${OUTSIDE}\n`);
  symlinkSync(join(tmp, 'outside.txt'), join(ws, 'docs', 'linked.txt'));
}

/** Every text a server sent back during this file's tests: none may hold a secret. */
const seen: string[] = [];

async function connect(storeDir = store): Promise<Client> {
  const transport = new StdioClientTransport({ command: process.execPath, args: [bin, 'mcp', ws, '--store', storeDir], stderr: 'pipe' });
  const client = new Client({ name: 'megacontext-unit-test', version: '1.0.0' });
  await client.connect(transport);
  return client;
}

type ToolResult = { content: { type: string; text?: string }[]; isError?: boolean; structuredContent?: Record<string, unknown> };

async function call(client: Client, name: string, args: Record<string, unknown>): Promise<{ text: string; isError: boolean; result: ToolResult }> {
  const result = (await client.callTool({ name, arguments: args })) as ToolResult;
  const text = result.content.map((c) => c.text ?? '').join('');
  seen.push(text, JSON.stringify(result.structuredContent ?? null));
  return { text, isError: result.isError === true, result };
}

let client: Client;

before(async () => {
  buildWorkspace();
  client = await connect();
});

after(async () => {
  await client?.close().catch(() => undefined);
  rmSync(tmp, { recursive: true, force: true });
});

test('the server lists recall, expand, remember and focus_map, with the language-model tools\' input schemas', async () => {
  const { tools } = await client.listTools();
  assert.deepEqual(tools.map((t) => t.name).sort(), ['expand', 'focus_map', 'recall', 'remember']);
  const byName = new Map(tools.map((t) => [t.name, t]));
  assert.deepEqual(byName.get('recall')!.inputSchema, TOOL_SCHEMAS[RECALL_TOOL]);
  assert.deepEqual(byName.get('expand')!.inputSchema, TOOL_SCHEMAS[EXPAND_TOOL]);
  assert.deepEqual(byName.get('remember')!.inputSchema, TOOL_SCHEMAS[REMEMBER_TOOL]);
  assert.deepEqual(byName.get('focus_map')!.outputSchema, FOCUS_MAP_OUTPUT_SCHEMA);
  assert.equal(byName.get('remember')!.annotations?.readOnlyHint, false);
});

test('recall returns the working context with the exact text of the function the query points to', async () => {
  const { text, isError } = await call(client, 'recall', { query: 'How is the late fee computed for an overdue invoice balance?', budget: 1024 });
  assert.equal(isError, false, text);
  assert.match(text, /^MegaContext working context/);
  assert.match(text, /^## src\/invoice\.ts /m);
  assert.ok(text.includes(`${LATE_FEE_LINE}\n`), 'computeLateFee is not shown exactly');
  // Every document is listed, but not everything fits exactly under 1024 tokens.
  for (let i = 0; i < 8; i++) assert.ok(text.includes(`route${i}`), `src/routes/route${i}.ts is missing from the map`);
  assert.ok(!text.includes('const weight7x5 = grid[y]?.[x] ?? 75;'), 'an unrelated function was shown exactly');
});

test('expand returns exact lines of a workspace file and refuses anything outside the workspace', async () => {
  const ok = await call(client, 'expand', { path: 'src/invoice.ts', startLine: 9, endLine: 12 });
  assert.equal(ok.isError, false, ok.text);
  const lines = readFileSync(join(ws, 'src/invoice.ts'), 'utf8').split('\n').slice(8, 12).join('\n');
  assert.equal(ok.text, `src/invoice.ts lines 9-12 of 13 (exact):\n${lines}\n`);
  const refusals: [Record<string, unknown>, RegExp][] = [
    [{ path: '../outside.txt', startLine: 1, endLine: 1 }, /^expand: invalid input: "\.\.\/outside\.txt" climbs out with "\.\.": give a path inside the workspace$/],
    [{ path: join(tmp, 'outside.txt'), startLine: 1, endLine: 1 }, /^expand: invalid input: ".*outside\.txt" is outside the workspace folders$/],
    [{ path: 'docs/linked.txt', startLine: 1, endLine: 1 }, /^expand: invalid input: "docs\/linked\.txt" leads outside the workspace folders through a symbolic link$/],
    [{ path: '~/.ssh/id_rsa', startLine: 1, endLine: 1 }, /home-directory path/],
  ];
  for (const [args, message] of refusals) {
    const r = await call(client, 'expand', args);
    assert.equal(r.isError, true, `${JSON.stringify(args)} was not refused`);
    assert.match(r.text, message);
  }
  assert.ok(!seen.some((t) => t.includes(OUTSIDE)), 'text from outside the workspace came back');
});

test('a secret never reaches an answer: not from a .env file, not from a token inside a source file', async () => {
  const env = await call(client, 'expand', { path: '.env', startLine: 1, endLine: 1 });
  assert.equal(env.isError, true);
  assert.match(env.text, /^expand: .*\.env is not in MegaContext's memory/);
  const leaky = await call(client, 'expand', { path: 'src/leakyConfig.ts', startLine: 1, endLine: 3 });
  assert.equal(leaky.isError, false, leaky.text);
  assert.match(leaky.text, /export const githubToken = '/);
  await call(client, 'recall', { query: 'githubToken API_SECRET leakyConfig token', budget: 4096 });
  await call(client, 'focus_map', { query: 'githubToken API_SECRET leakyConfig token', budget: 4096 });
  assert.ok(seen.length > 0);
  for (const t of seen) assert.ok(!t.includes(TOKEN) && !t.includes(DOTENV), `a secret came back: ${t.slice(0, 200)}`);
});

test('focus_map gives the map and the exact spans as structured content that satisfies its output schema', async () => {
  const { result, isError, text } = await call(client, 'focus_map', { query: 'late fee overdue invoice computeLateFee', budget: 1024 });
  assert.equal(isError, false, text);
  const validate = new AjvJsonSchemaValidator().getValidator<FocusMap>(FOCUS_MAP_OUTPUT_SCHEMA as unknown as Record<string, unknown>);
  const checked = validate(result.structuredContent);
  assert.ok(checked.valid, checked.valid ? '' : checked.errorMessage);
  const map = result.structuredContent as unknown as FocusMap;
  assert.deepEqual(JSON.parse(text), map, 'the text content is the structured content as JSON');
  assert.ok(map.usedTokens <= 1024 && map.budget === 1024);
  assert.ok(map.exact.some((s) => s.path === 'src/invoice.ts' && s.startLine <= 11 && s.endLine >= 11), JSON.stringify(map.exact));
  assert.ok(map.documents.length >= 11, 'every document is in the map');
  assert.ok(map.documents.some((d) => d.spans.some((s) => s.lod > 0)), 'something is a gist at this budget');
  // The same schema the SDK client enforced on the way in rejects a map that lies about its shape.
  assert.equal(validate({ ...map, exact: [{ path: 'x', startLine: 0, endLine: 1 }] }).valid, false);
});

test('bad input is refused with a one-line error naming the problem', async () => {
  const cases: [string, Record<string, unknown>, string][] = [
    ['recall', { query: 'late fee', budget: 0 }, 'recall: invalid input: "budget" must be at least 256, got 0'],
    ['recall', { budget: 1024 }, 'recall: invalid input: missing required property "query"'],
    ['focus_map', { query: '   ' }, 'focus_map: invalid input: "query" must not be empty'],
    ['expand', { path: 'src/invoice.ts', startLine: 5, endLine: 2 }, 'expand: invalid input: "endLine" (2) is before "startLine" (5)'],
    ['expand', { path: 'src/invoice.ts', startLine: 99, endLine: 100 }, 'expand: src/invoice.ts has 13 lines; startLine 99 is past its end'],
    ['remember', { note: 'x', tag: 'y' }, 'remember: invalid input: unknown property "tag" (allowed: note)'],
    ['forget', {}, 'unknown tool "forget" (tools: recall, expand, remember, focus_map)'],
  ];
  for (const [name, args, message] of cases) {
    const r = await call(client, name, args);
    assert.equal(r.isError, true, `${name} ${JSON.stringify(args)} was accepted`);
    assert.equal(r.text, message);
  }
});

test('the status resource says what the memory holds and where it is stored', async () => {
  const { resources } = await client.listResources();
  assert.deepEqual(resources.map((r) => r.uri), ['megacontext://status']);
  const { contents } = await client.readResource({ uri: 'megacontext://status' });
  const status = JSON.parse((contents[0] as { text: string }).text) as { files: number; storeDir: string; storeBytes: number; roots: string[] };
  assert.equal(status.files, 11, 'invoice, 8 routes, guide and leakyConfig; never .env');
  assert.equal(status.storeDir, store);
  assert.ok(status.storeBytes > 0);
  assert.deepEqual(status.roots, [ws]);
});

test('remember stores a note that recall finds, in this server and in a new one on the same store', async () => {
  const note = 'The team decided that invoices to the zebracorn account are sent quarterly.';
  const r = await call(client, 'remember', { note });
  assert.equal(r.isError, false, r.text);
  assert.match(r.text, /^Remembered in notes:memory \(\d+ tokens of notes\)\.$/);
  assert.ok((await call(client, 'recall', { query: 'zebracorn invoices', budget: 1024 })).text.includes(note));
  await client.close();
  // A second process (another agent, or the next session) reads the same store.
  client = await connect();
  const again = await call(client, 'recall', { query: 'When are zebracorn invoices sent?', budget: 1024 });
  assert.ok(again.text.includes(note), 'the note did not survive the server process');
});

test('megacontext mcp without a folder is a usage error', async () => {
  const r = await run(['mcp']);
  assert.equal(r.code, 2);
  assert.equal(r.err.split('\n')[0], 'megacontext: mcp needs at least one workspace folder');
  const bad = await run(['mcp', ws, '--include', 'src/**']);
  assert.equal(bad.code, 2);
  assert.equal(bad.err.split('\n')[0], 'megacontext: --include takes a JSON array of globs, e.g. ["src/**"]');
});

test('the extension\'s engine and the MCP server share one memory: notes from either reach the other, and no save drops them', { timeout: 120_000 }, async () => {
  const shared = join(tmp, 'shared-store');
  // The extension's engine host (dist/host.js) on the store the extension gives it, as in VS Code.
  const host = new EngineClient({ hostPath: join(repo, 'dist', 'host.js'), env: { MEGACONTEXT_STORE_DIR: shared } });
  let agent: Client | undefined;
  try {
    await host.request('index', { roots: [ws] });
    agent = await connect(shared);
    const fromAgent = 'Agent note: the okapi discount code expires in June.';
    assert.equal((await call(agent, 'remember', { note: fromAgent })).isError, false);
    const seenByHost = await host.request('focus', { query: 'okapi discount code expiry', budget: 2048, scorer: 'lexical' });
    assert.ok(seenByHost.prompt.includes(fromAgent), 'the engine host does not see the note remembered over MCP');
    const fromChat = 'Chat note: refunds for the pangolin store need two approvals.';
    await host.request('remember', { note: fromChat });
    await host.request('flush', {});
    const both = await call(agent, 'recall', { query: 'okapi discount pangolin refunds approvals', budget: 2048 });
    assert.ok(both.text.includes(fromChat), 'the MCP server does not see the note remembered in the extension');
    assert.ok(both.text.includes(fromAgent), 'the engine host\'s save dropped the note remembered over MCP');
  } finally {
    await agent?.close().catch(() => undefined);
    host.dispose();
  }
});
