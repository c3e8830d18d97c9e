// `npm run lint:layers`: the layer rules of .dependency-cruiser.cjs (README, "Layers") over src/ and the
// webview app, failing on any violation. dependency-cruiser 18 runs on Node 22+ only; on an older Node it
// runs under the Node 24 the VS Code test runner keeps in .vscode-test/node24 (the npm package
// node-<platform>-<arch>@24, installed there on first use, as test/vscode/runCodeServer.ts does).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const NODE_MAJOR = 24;
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function node22() {
  if (Number(process.versions.node.split('.')[0]) >= 22) return process.execPath;
  const platform = process.platform === 'win32' ? 'win' : process.platform;
  const pkg = `node-${platform}-${process.arch}`;
  const prefix = join(repoRoot, '.vscode-test', 'node24');
  const node = join(prefix, 'node_modules', pkg, 'bin', process.platform === 'win32' ? 'node.exe' : 'node');
  if (existsSync(node)) return node;
  console.log(`lint:layers: dependency-cruiser needs Node 22+; installing ${pkg}@${NODE_MAJOR} into ${prefix}`);
  mkdirSync(prefix, { recursive: true });
  const npmCli = process.env.npm_execpath && /npm-cli\.js$/.test(process.env.npm_execpath) ? process.env.npm_execpath : undefined;
  const args = ['install', '--prefix', prefix, '--no-save', '--no-package-lock', '--no-audit', '--no-fund', `${pkg}@${NODE_MAJOR}`];
  const r = npmCli
    ? spawnSync(process.execPath, [npmCli, ...args], { cwd: prefix, stdio: 'inherit' })
    : spawnSync('npm', args, { cwd: prefix, stdio: 'inherit', shell: process.platform === 'win32' });
  if (r.status !== 0 || !existsSync(node)) {
    console.error(`lint:layers: could not install ${pkg}@${NODE_MAJOR} (npm exit ${r.status ?? r.signal}); dependency-cruiser needs Node 22+`);
    process.exit(1);
  }
  return node;
}

// The package's own bin (its exports map hides package.json; the bin path is its documented entry).
const cruiser = join(repoRoot, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruiser.mjs');
if (!existsSync(cruiser)) {
  console.error(`lint:layers: ${cruiser} is missing: run npm install (dependency-cruiser is a devDependency)`);
  process.exit(1);
}
const r = spawnSync(node22(), [cruiser, '--config', '.dependency-cruiser.cjs', '--', 'src', 'media/src'], { cwd: repoRoot, stdio: 'inherit' });
process.exitCode = r.status ?? 1;
