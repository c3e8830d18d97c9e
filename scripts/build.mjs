// Two outputs from one esbuild run:
//  - out/: every .ts file transpiled one-to-one (CommonJS), for tests and scripts;
//  - dist/: the shippable bundles (extension, engine host, CLI) with native and editor modules external.
import * as esbuild from 'esbuild';
import { readdirSync, statSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const roots = ['src', 'test', 'scripts', 'models/training'];
function tsFiles(dir) {
  let found = [];
  let names;
  try { names = readdirSync(dir); } catch { return found; }
  for (const name of names) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) found = found.concat(tsFiles(p));
    else if (p.endsWith('.ts') && !p.endsWith('.d.ts')) found.push(p);
  }
  return found;
}

rmSync('out', { recursive: true, force: true });
const production = process.argv.includes('--production');
await esbuild.build({
  entryPoints: roots.flatMap(tsFiles),
  outdir: 'out',
  outbase: '.',
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  logLevel: 'warning',
});
const bundles = [
  { in: 'src/extension/extension.ts', out: 'extension' },
  { in: 'src/models/host.ts', out: 'host' },
  { in: 'src/cli/main.ts', out: 'cli' },
].filter((b) => { try { statSync(b.in); return true; } catch { return false; } });
await esbuild.build({
  entryPoints: bundles.map((b) => ({ in: b.in, out: b.out })),
  outdir: 'dist',
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  external: ['vscode', 'onnxruntime-node'],
  sourcemap: !production,
  minify: production,
  logLevel: 'warning',
});
