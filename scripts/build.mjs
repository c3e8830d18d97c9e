// Three outputs:
//  - out/: every .ts file transpiled one-to-one (CommonJS), for tests and scripts;
//  - dist/: the shippable bundles (extension, engine host, CLI) with native and editor modules external;
//  - media/dist/viewer.js: the focus viewer's webview app (browser IIFE), inside media/ because the
//    webview may load only from there (localResourceRoots). Built, never committed.
import * as esbuild from 'esbuild';
import { existsSync, readdirSync, statSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { NOTICES_FILE, writeNotices } from './notices.mjs';

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
// Drop outputs whose source is gone, without ever removing out/ itself: other processes (tests,
// a second build) may be reading it, and a missing folder mid-run looks like a broken build.
function prune(dir) {
  let names;
  try { names = readdirSync(dir); } catch { return; }
  for (const name of names) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) { prune(p); continue; }
    const src = p.slice('out/'.length).replace(/\.js(\.map)?$/, '.ts');
    if (!existsSync(src)) rmSync(p, { force: true });
  }
}
prune('out');

const bundles = [
  { in: 'src/extension/extension.ts', out: 'extension' },
  { in: 'src/engine/host.ts', out: 'host' },
  { in: 'src/cli/main.ts', out: 'cli' },
].filter((b) => { try { statSync(b.in); return true; } catch { return false; } });
// gpt-tokenizer's o200k encoding is ~2.8 MB of the ~3.3 MB of a bundle: it gets a bundle of its own,
// dist/o200k.js, which the engine host and the CLI both require, instead of a copy in each (the VSIX
// ships both for the MCP server, and the Windows ARM one went over its 40 MB limit).
const TOKENIZER = 'gpt-tokenizer/encoding/o200k_base';
const sharedTokenizer = {
  name: 'shared-tokenizer',
  setup(build) {
    build.onResolve({ filter: /^gpt-tokenizer\/encoding\/o200k_base$/ }, () => ({ path: './o200k.js', external: true }));
  },
};
// Every bundle's metafile: the packages they inline get their licences in dist/THIRD_PARTY_NOTICES.txt.
const metafiles = [];
async function bundle(options) {
  metafiles.push((await esbuild.build({ ...options, metafile: true })).metafile);
}
await bundle({
  entryPoints: [{ in: createRequire(import.meta.url).resolve(TOKENIZER), out: 'o200k' }],
  outdir: 'dist',
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  minify: production,
  logLevel: 'warning',
});
await bundle({
  plugins: [sharedTokenizer],
  entryPoints: bundles.map((b) => ({ in: b.in, out: b.out })),
  outdir: 'dist',
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  // web-tree-sitter finds its own .wasm beside its script and the grammars are read from their package
  // folder, so both packages ship in the VSIX as they are (scripts/package.mjs RUNTIME_PACKAGES).
  external: ['vscode', 'onnxruntime-node', 'web-tree-sitter', '@vscode/tree-sitter-wasm'],
  sourcemap: !production,
  minify: production,
  logLevel: 'warning',
});
await bundle({
  entryPoints: ['media/src/viewer.ts'],
  outfile: 'media/dist/viewer.js',
  bundle: true,
  format: 'iife',
  platform: 'browser',
  target: 'es2022',
  sourcemap: !production,
  minify: production,
  logLevel: 'warning',
});
const notices = writeNotices(process.cwd(), metafiles);
const bare = notices.filter((n) => n.texts.length === 0).map((n) => n.name);
if (bare.length) console.warn(`build: ${NOTICES_FILE}: no licence file in ${bare.join(', ')} (their package.json licence id is listed instead)`);
