/**
 * Peak memory of the command line on a workspace of many tiny files (issue #18: 100,000 of them took
 * 1.3 GB; target ≤ 600 MB). Each phase runs in a fresh Node process so its peak RSS is its own:
 *   1. `megacontext index <root>`: cold index of N one-line files and the store write;
 *   2. `megacontext focus <root> --query …`: warm start from that store, an index that reads nothing
 *      (all files unchanged), one focus.
 * Both use the lexical-only runtime (a models folder that does not exist), so the figure is the tree's
 * own, not onnxruntime's. Not a test: nothing asserts; bench.ts prints the rows.
 *
 *   node out/test/bench/manyFiles.js [--files 100000] [--json]
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface ManyFilesResult {
  files: number;
  createS: number;
  index: PhaseResult;
  focus: PhaseResult;
}

export interface PhaseResult {
  code: number;
  /** Peak resident set size of the process, MB (process.resourceUsage().maxRSS). */
  peakMB: number;
  seconds: number;
  /** The CLI's summary line (index) or focus line. */
  line: string;
  error?: string;
}

const MAIN_JS = path.join(__dirname, '..', '..', 'src', 'cli', 'main.js');

/** Runs the CLI in a child process; its peak RSS comes back with the exit code. */
function runCli(argv: string[]): PhaseResult {
  const script = `
    const { Writable } = require('node:stream');
    const chunks = [];
    const out = new Writable({ write(c, _e, cb) { chunks.push(String(c)); cb(); } });
    const t0 = performance.now();
    require(${JSON.stringify(MAIN_JS)}).main(JSON.parse(process.env.MC_ARGV), out, process.stderr).then((code) => {
      const text = chunks.join('');
      const line = text.split('\\n').find((l) => l.startsWith('indexed') || l.startsWith('--- focus')) || text.slice(0, 200);
      process.stdout.write(JSON.stringify({ code, peakMB: process.resourceUsage().maxRSS / 1024, seconds: (performance.now() - t0) / 1000, line }) + '\\n');
    });`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', env: { ...process.env, MC_ARGV: JSON.stringify(argv) }, maxBuffer: 1 << 26, timeout: 900_000 });
  try {
    return JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as PhaseResult;
  } catch {
    return { code: r.status ?? -1, peakMB: NaN, seconds: NaN, line: '', error: (r.stderr || String(r.error)).split('\n').slice(-3).join(' ') };
  }
}

export function manyFiles(files: number, log: (s: string) => void = () => undefined): ManyFilesResult {
  const root = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'mgc-bench-files-')));
  const ws = path.join(root, 'ws');
  const store = path.join(root, 'store');
  const PER_DIR = 1000;
  const t0 = performance.now();
  mkdirSync(ws);
  for (let d = 0; d * PER_DIR < files; d++) {
    const dir = path.join(ws, `pkg${d}`);
    mkdirSync(dir);
    for (let i = 0; i < PER_DIR && d * PER_DIR + i < files; i++) writeFileSync(path.join(dir, `m${i}.py`), `v_${d}_${i} = ${i}\n`);
  }
  const createS = (performance.now() - t0) / 1000;
  log(`  many files: ${files} created in ${createS.toFixed(1)} s`);
  const common = ['--store', store, '--models', path.join(root, 'no-models'), '--quiet'];
  const index = runCli(['index', ws, ...common]);
  log(`  many files: index peak RSS ${index.peakMB.toFixed(0)} MB in ${index.seconds.toFixed(1)} s${index.error ? ` (${index.error})` : ''}`);
  const focus = runCli(['focus', ws, '--query', 'v_12_345', '--budget', '2048', '--no-prompt', ...common]);
  log(`  many files: warm focus peak RSS ${focus.peakMB.toFixed(0)} MB in ${focus.seconds.toFixed(1)} s${focus.error ? ` (${focus.error})` : ''}`);
  // Removing 100k files takes a while: a detached rm does it after the bench has moved on.
  const rm = spawn('rm', ['-rf', root], { detached: true, stdio: 'ignore' });
  rm.on('error', () => undefined);
  rm.unref();
  return { files, createS, index, focus };
}

if (require.main === module) {
  const argv = process.argv.slice(2);
  const at = argv.indexOf('--files');
  const files = at >= 0 ? Number(argv[at + 1]) : 100_000;
  if (!Number.isInteger(files) || files < 1) throw new Error('--files takes a positive integer');
  const r = manyFiles(files, (s) => console.error(s));
  console.log(argv.includes('--json') ? JSON.stringify(r) : `${files} tiny files, lexical runtime: index peak RSS ${r.index.peakMB.toFixed(0)} MB (${r.index.seconds.toFixed(1)} s; ${r.index.line}); warm focus peak RSS ${r.focus.peakMB.toFixed(0)} MB (${r.focus.seconds.toFixed(1)} s)`);
}
