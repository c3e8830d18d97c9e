// Issue #18 item 7, the command line's share: each bad input gets a one-line error (or, where the answer
// can still be given, a warning) and loses nothing. Everything runs in-process through `main`, except the
// read-only store, which runs as an unprivileged user when the tests run as root (CI does): root writes
// into a read-only folder, so chmod alone would test nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { run } from './support/cliRun';
import { runAsNobody } from './support/unprivileged';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, realpathSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';


function workspace(): string {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'mc-cli-inputs-')));
  writeFileSync(join(dir, 'a.py'), 'def zebra_ledger():\n    return "zebra_marker"\n');
  writeFileSync(join(dir, 'b.md'), '# Notes\n\nnothing to see\n');
  return dir;
}

/** Lexical-only (no models to load): fast, and the warning it prints is a known first line. */
const LEXICAL = (dir: string) => ['--models', join(dir, 'no-models'), '--quiet'];
const MODELS_WARNING = /^megacontext: warning: models not found: .*lexical-only mode/;

test('--help, -h and help print the usage on stdout and exit 0', async () => {
  for (const argv of [['--help'], ['-h'], ['help'], ['focus', '--help'], ['focus', '-h'], ['index', '-h']]) {
    const r = await run(argv);
    assert.equal(r.code, 0, `${argv.join(' ')}: ${r.err}`);
    assert.match(r.out, /^usage:\n {2}megacontext index/, argv.join(' '));
    assert.equal(r.err, '', argv.join(' '));
  }
  // No command at all is still a usage error.
  assert.equal((await run([])).code, 2);
});

test('integer options take decimal digits only: 0x10, 1e3, 16.0, "" and " " are errors', async () => {
  const dir = workspace();
  for (const v of ['0x10', '1e3', '16.0', '', ' ', '0b11', 'Infinity', '99999999999999999999']) {
    const r = await run(['focus', dir, '--query', 'x', '--budget', v]);
    assert.equal(r.code, 2, `--budget ${JSON.stringify(v)}: ${r.err}`);
    assert.equal(r.err.split('\n')[0], `megacontext: --budget must be an integer ≥ 1 in decimal digits, got ${JSON.stringify(v)}`);
  }
  assert.match((await run(['index', dir, '--max-file-bytes', '0x100'])).err, /^megacontext: --max-file-bytes must be an integer ≥ 1 in decimal digits, got "0x100"/);
});

test('--threads is bounded: 1 to 4 × the CPUs, a clear error otherwise (100000 hung and grew)', async () => {
  const dir = workspace();
  const max = availableParallelism() * 4;
  const t0 = performance.now();
  for (const v of ['100000', String(max + 1), '0', '-3']) {
    const r = await run(['focus', dir, '--query', 'x', '--threads', v]);
    assert.equal(r.code, 2, r.err);
    assert.equal(r.err.split('\n')[0], `megacontext: --threads must be an integer from 1 to ${max} in decimal digits, got "${v}"`);
  }
  assert.ok(performance.now() - t0 < 5000, 'refused before any model loads');
  const ok = await run(['focus', dir, '--query', 'zebra', '--threads', String(max), '--store', join(dir, '.store'), '--no-prompt']);
  assert.equal(ok.code, 0, ok.err);
});

test('an empty --store (or --queries, --models) is an error, not the current folder', async () => {
  const dir = workspace();
  const cwd = process.cwd();
  const scratch = mkdtempSync(join(tmpdir(), 'mc-cli-cwd-'));
  process.chdir(scratch);
  try {
    for (const [opt, argv] of [
      ['store', ['index', dir, '--store', '']],
      ['store', ['focus', dir, '--query', 'x', '--store=']],
      ['queries', ['focus', dir, '--queries', '']],
      ['models', ['focus', dir, '--query', 'x', '--models', ' ']],
    ] as const) {
      const r = await run([...argv]);
      assert.equal(r.code, 2, r.err);
      assert.equal(r.err.split('\n')[0], `megacontext: --${opt} needs a path, got an empty string`);
    }
    assert.ok(!existsSync(join(scratch, 'tree.mgc')) && !existsSync(join(scratch, 'lexical-only')), 'nothing written into the current folder');
  } finally {
    process.chdir(cwd);
  }
});

test('a queries file with a UTF-8 BOM reads; an object id is an error naming the query', async () => {
  const dir = workspace();
  const store = join(dir, '.store');
  const f = join(dir, 'q.jsonl');
  writeFileSync(f, '\uFEFF{"id":"first","query":"zebra marker"}\r\n{"id":7,"query":"notes"}\n');
  const r = await run(['focus', dir, '--queries', f, '--json', '--no-prompt', '--store', store, ...LEXICAL(dir)]);
  assert.equal(r.code, 0, r.err);
  assert.deepEqual(r.out.trim().split('\n').map((l) => (JSON.parse(l) as { id: string }).id), ['first', '7']);

  writeFileSync(f, '{"id":"a","query":"fine"}\n\n{"id":{"n":1},"query":"zebra"}\n');
  const bad = await run(['focus', dir, '--queries', f, '--store', store, ...LEXICAL(dir)]);
  assert.equal(bad.code, 1);
  assert.equal(bad.err.trim(), `megacontext: error: ${f}:3: query 2: "id" must be a string or a number, got an object`);
  writeFileSync(f, '{"id":["x"],"query":"zebra"}\n');
  assert.match((await run(['focus', dir, '--queries', f, '--store', store])).err, /q\.jsonl:1: query 1: "id" must be a string or a number, got an array/);
  writeFileSync(f, '{"id":null,"query":"zebra"}\n');
  assert.match((await run(['focus', dir, '--queries', f, '--store', store])).err, /q\.jsonl:1: query 1: "id" must be a string or a number, got null/);
});

test('--store /proc/self/st: a warning and the prompt within seconds (the recursive mkdir looped for minutes)', { timeout: 60_000 }, async () => {
  if (!existsSync('/proc/self')) return;
  const dir = workspace();
  const t0 = performance.now();
  const r = await run(['focus', dir, '--query', 'zebra marker', '--store', '/proc/self/st', ...LEXICAL(dir)]);
  const s = (performance.now() - t0) / 1000;
  assert.equal(r.code, 0, r.err);
  assert.ok(s < 20, `took ${s.toFixed(1)} s`);
  assert.ok(r.out.includes('zebra_marker'), 'the prompt is printed');
  const lines = r.err.trim().split('\n');
  assert.match(lines[0], MODELS_WARNING);
  assert.match(lines[1], /^megacontext: warning: could not save the store in \/proc\/self\/st\/lexical-only \(ENOENT\); the next run indexes again$/);
  assert.equal(lines.length, 2, r.err);
});

test('a store that cannot be written (a path under a regular file): the prompt, then a one-line warning', async () => {
  const dir = workspace();
  writeFileSync(join(dir, 'plain.txt'), 'not a folder\n');
  const r = await run(['focus', dir, '--query', 'zebra marker', '--store', join(dir, 'plain.txt', 'store'), ...LEXICAL(dir)]);
  assert.equal(r.code, 0, r.err);
  assert.ok(r.out.includes('zebra_marker'));
  assert.match(r.err.trim().split('\n')[1], /^megacontext: warning: could not save the store in .*plain\.txt\/store\/lexical-only \(ENOTDIR\); the next run indexes again$/);
});

test('a store file that cannot be read (a folder in its place): a one-line warning, the answer, and the store left alone', async () => {
  const dir = workspace();
  const store = join(dir, '.store');
  mkdirSync(join(store, 'lexical-only', 'tree.mgc'), { recursive: true });
  const r = await run(['focus', dir, '--query', 'zebra marker', '--store', store, ...LEXICAL(dir)]);
  assert.equal(r.code, 0, r.err);
  assert.ok(r.out.includes('zebra_marker'));
  const lines = r.err.trim().split('\n');
  assert.match(lines[1], /^megacontext: warning: cannot read store .*tree\.mgc: .*EISDIR.*; indexing without the store$/);
  assert.equal(lines.length, 2, r.err);
});

/**
 * Runs the CLI as `nobody`, for a permission test that root would pass trivially: the CLI is loaded (and
 * its parser and tokenizer warmed on a readable copy of `dir`) as root, then the child drops privileges.
 */
function runCliAsNobody(argv: string[], dir: string): { code: number; out: string; err: string } {
  const warm = mkdtempSync(join(tmpdir(), 'mc-cli-warm-'));
  writeFileSync(join(warm, 'warm.py'), 'def warm():\n    return 1\n');
  const r = runAsNobody(`
    const { main } = require(OUT + '/src/cli/main.js');
    const { Writable } = require('node:stream');
    const sink = new Writable({ write(_chunk, _enc, done) { done(); } });
    await main(['index', ${JSON.stringify(warm)}, '--store', ${JSON.stringify(join(warm, 'store'))}, ...${JSON.stringify(LEXICAL(dir))}], sink, sink);`, `
    process.exitCode = await main(JSON.parse(process.env.MC_ARGV));`,
  { MC_ARGV: JSON.stringify(argv), HOME: '/nonexistent', XDG_CACHE_HOME: '/nonexistent' });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

test('a read-only store folder: focus prints the prompt with a one-line warning (as an unprivileged user when root)', { timeout: 180_000 }, async () => {
  const dir = workspace();
  chmodSync(dir, 0o755); // readable by the unprivileged user
  const store = join(dir, 'store');
  mkdirSync(store);
  chmodSync(store, 0o555);
  const argv = ['focus', dir, '--query', 'zebra marker', '--store', store, ...LEXICAL(dir)];
  let r: { code: number; out: string; err: string } | undefined;
  // Root writes into a 0555 folder: as root, the same run happens as `nobody`, for whom the bits hold.
  if (process.getuid?.() === 0) r = runCliAsNobody(argv, dir);
  else r = await run(argv);
  assert.equal(r.code, 0, r.err);
  assert.ok(r.out.includes('zebra_marker'), `the prompt is printed: ${r.out}`);
  const lines = r.err.trim().split('\n');
  assert.match(lines[0], MODELS_WARNING);
  assert.match(lines[1], /^megacontext: warning: could not save the store in .*\/store\/lexical-only \(EACCES\); the next run indexes again$/);
  assert.equal(lines.length, 2, r.err);
});

test('unknown commands and options still fail with the usage', async () => {
  const r = await run(['frobnicate']);
  assert.equal(r.code, 2);
  assert.match(r.err, /^megacontext: unknown command frobnicate\nusage:/);
  assert.match((await run(['index', '--bogus'])).err, /unknown option --bogus/);
});
