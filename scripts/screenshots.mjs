// `npm run screenshots`: regenerates the README's screenshot (media/screenshots/vscode-viewer-dark.png),
// the one place a tracked image is written. It reuses the focus viewer's VS Code e2e
// (test/e2e/vscodeViewer.e2e.ts) with --readme-screenshot, on a realistic workspace: Python's `email`
// package by default (Debian's standard library, present on every machine), or the folder given.
//
//   node scripts/screenshots.mjs [--workspace DIR] [--query TEXT]
//
// Needs the build (it runs it) and code-server installed by `node out/test/vscode/runCodeServer.js`.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const workspace = resolve(arg('workspace') ?? '/usr/lib/python3.11/email');
const query = arg('query') ?? 'how does the parser split a multipart message at its boundary?';
if (!existsSync(workspace)) {
  console.error(`screenshots: workspace ${workspace} not found; give one with --workspace DIR`);
  process.exit(2);
}
const run = (args, env = {}) => spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } }).status ?? 1;
if (run(['scripts/build.mjs']) !== 0) process.exit(1);
const code = run(['out/test/e2e/vscodeViewer.e2e.js', '--readme-screenshot'], { MEGACONTEXT_E2E_WORKSPACE: workspace, MEGACONTEXT_E2E_QUERY: query });
if (code === 0) console.log(`screenshots: wrote ${join('media', 'screenshots', 'vscode-viewer-dark.png')} (workspace ${workspace})`);
process.exit(code);
