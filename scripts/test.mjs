// `npm test` (after `npm run build` via pretest): typecheck, layer rules, unit tests in plain Node, then the
// in-VS-Code tier (real VS Code from code-server, driven by Chromium). Every step runs even if an
// earlier one failed, so one run shows everything; the exit code is non-zero if any step failed.
// MEGACONTEXT_SKIP_VSCODE=1 skips the VS Code tier for quick local loops (CI never sets it).
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const tsc = require.resolve('typescript/bin/tsc');

/** Compiled unit test files (support modules beside them are not tests). */
function unitTestFiles() {
  if (!existsSync('out/test/unit')) return [];
  return readdirSync('out/test/unit').filter((n) => n.endsWith('.test.js')).sort().map((n) => `out/test/unit/${n}`);
}

const steps = [
  { name: 'typecheck', command: process.execPath, args: [tsc, '-p', '.', '--noEmit'] },
  { name: 'typecheck (webview app)', command: process.execPath, args: [tsc, '-p', 'media', '--noEmit'] },
  // The layer rules (.dependency-cruiser.cjs; README, "Layers"): core pure, the extension on protocols only.
  { name: 'layer rules (dependency-cruiser)', command: process.execPath, args: ['scripts/lintLayers.mjs'] },
  {
    name: 'unit tests',
    command: process.execPath,
    args: ['--test', '--test-reporter=spec', ...unitTestFiles()],
    skip: () => (unitTestFiles().length > 0 ? undefined : 'no compiled unit tests under out/test/unit'),
  },
  { name: 'focus viewer in Chromium', command: process.execPath, args: ['out/test/e2e/viewer.e2e.js'] },
  {
    name: 'VS Code tests (code-server + Chromium)',
    command: process.execPath,
    args: ['out/test/vscode/runCodeServer.js'],
    skip: () => (process.env.MEGACONTEXT_SKIP_VSCODE === '1' ? 'MEGACONTEXT_SKIP_VSCODE=1' : undefined),
  },
  {
    // The same runner with workspace trust on and the workspace untrusted: restricted mode reads nothing.
    name: 'VS Code tests, untrusted workspace (restricted mode)',
    command: process.execPath,
    args: ['out/test/vscode/runCodeServer.js'],
    env: { MEGACONTEXT_UNTRUSTED: '1' },
    skip: () => (process.env.MEGACONTEXT_SKIP_VSCODE === '1' ? 'MEGACONTEXT_SKIP_VSCODE=1' : undefined),
  },
  {
    // After the suite above: it reuses the code-server that runner installed.
    name: 'focus viewer in VS Code (code-server + Chromium, as a user)',
    command: process.execPath,
    args: ['out/test/e2e/vscodeViewer.e2e.js'],
    skip: () => (process.env.MEGACONTEXT_SKIP_VSCODE === '1' ? 'MEGACONTEXT_SKIP_VSCODE=1' : undefined),
  },
];

/** Test counts read from each tier's own closing lines (node's spec reporter, the VS Code suite). */
const counts = { passed: 0, failed: 0 };
function scan(text) {
  for (const m of text.matchAll(/^\S*\s*(?:ℹ|#) (pass|fail) (\d+)\s*$/gm)) counts[m[1] === 'pass' ? 'passed' : 'failed'] += Number(m[2]);
  for (const m of text.matchAll(/^(\d+) passed, (\d+) failed\s*$/gm)) { counts.passed += Number(m[1]); counts.failed += Number(m[2]); }
}

function run(command, args, env) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['inherit', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let tail = '';
    const pass = (stream, out) => stream.on('data', (chunk) => {
      out.write(chunk);
      tail = (tail + chunk.toString()).slice(-4096);
      const lines = tail.split('\n');
      scan(lines.slice(0, -1).join('\n'));
      tail = lines[lines.length - 1];
    });
    pass(child.stdout, process.stdout);
    pass(child.stderr, process.stderr);
    child.on('error', (err) => { console.error(err.message); resolve(1); });
    child.on('exit', (code, signal) => { scan(tail); resolve(code ?? (signal ? 1 : 0)); });
  });
}

const results = [];
for (const step of steps) {
  const skipped = step.skip?.();
  if (skipped) {
    results.push({ name: step.name, status: `skipped (${skipped})` });
    continue;
  }
  console.log(`\n=== ${step.name} ===`);
  const started = Date.now();
  const code = await run(step.command, step.args, step.env);
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  results.push({ name: step.name, status: code === 0 ? `ok (${seconds} s)` : `FAILED with exit code ${code} (${seconds} s)`, failed: code !== 0 });
}

console.log('\n=== summary ===');
for (const r of results) console.log(`  ${r.name}: ${r.status}`);
const failed = results.filter((r) => r.failed).length;
const skipped = results.filter((r) => r.status.startsWith('skipped')).length;
process.exitCode = failed > 0 ? 1 : 0;
console.log(`steps: ${results.length - failed - skipped} ok, ${failed} failed, ${skipped} skipped`);
console.log(`${counts.passed} passed, ${counts.failed} failed`);
