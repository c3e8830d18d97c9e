// A clean build: tests write screenshots to test-results/ (a build folder), never over the tracked
// media/screenshots/ (only `npm run screenshots` refreshes the README's image); and installing offline
// without npm warnings: onnxruntime-node's CUDA download is skipped through the
// variable its install script reads (ONNXRUNTIME_NODE_INSTALL=skip), not through a project .npmrc key
// that npm does not know (it warned `Unknown project config "onnxruntime-node-install"` on every run, and
// a future npm refuses it). Checked against the installed onnxruntime-node's own parser.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const repo = join(__dirname, '..', '..', '..');

test('onnxruntime-node reads ONNXRUNTIME_NODE_INSTALL=skip as "skip the download"', () => {
  const utils = require(join(repo, 'node_modules', 'onnxruntime-node', 'script', 'install-utils.js')) as { parseInstallFlag(): unknown };
  const saved = { ...process.env };
  try {
    for (const k of Object.keys(process.env)) if (/onnxruntime_node_install/i.test(k)) delete process.env[k];
    process.env.ONNXRUNTIME_NODE_INSTALL = 'skip';
    assert.equal(utils.parseInstallFlag(), false);
  } finally {
    process.env = saved;
  }
});

test('no project .npmrc key npm does not know, and CI installs with the variable set', () => {
  const npmrc = join(repo, '.npmrc');
  if (existsSync(npmrc)) assert.doesNotMatch(readFileSync(npmrc, 'utf8'), /^\s*onnxruntime-node-install/m);
  const ci = readFileSync(join(repo, '.ci', 'run'), 'utf8');
  const set = ci.indexOf('export ONNXRUNTIME_NODE_INSTALL=skip');
  assert.ok(set >= 0, '.ci/run does not set ONNXRUNTIME_NODE_INSTALL=skip');
  assert.ok(set < ci.search(/^npm ci\b/m), '.ci/run sets the variable after npm ci');
  // Every install command the README gives (`… npm install && …`) skips the download too.
  const readme = readFileSync(join(repo, 'README.md'), 'utf8');
  const installs = [...readme.matchAll(/(\S*)\s+npm install &&/g)];
  assert.ok(installs.length >= 2, 'the README gives no install command');
  for (const m of installs) assert.match(m[1], /ONNXRUNTIME_NODE_INSTALL=skip$/, `README installs without the variable: ${m[0]}`);
});

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

test('no test writes into media/screenshots, except the README screenshot when asked for with --readme-screenshot', () => {
  const writers: string[] = [];
  for (const file of sources(join(repo, 'test')).filter((f) => !f.endsWith('cleanBuild.test.ts'))) {
    readFileSync(file, 'utf8').split('\n').forEach((line, i) => {
      if (/^\s*\/\//.test(line)) return;
      if (/'media',\s*'screenshots'|media\/screenshots/.test(line) && !/^\s*if \(readmeScreenshot\) /.test(line)) writers.push(`${file.slice(repo.length + 1)}:${i + 1}`);
    });
  }
  assert.deepEqual(writers, []);
});
