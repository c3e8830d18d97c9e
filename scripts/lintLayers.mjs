// `npm run lint:layers`: the layer rules of .dependency-cruiser.cjs (README, "Layers") over src/ and the
// webview app, failing on any violation. dependency-cruiser 17 runs on the Node the project supports
// (^20.12), so it runs in this process's Node.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

// The package's own bin (its exports map hides package.json; the bin path is its documented entry).
const cruiser = join(repoRoot, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');
if (!existsSync(cruiser)) {
  console.error(`lint:layers: ${cruiser} is missing: run npm install (dependency-cruiser is a devDependency)`);
  process.exit(1);
}
const r = spawnSync(process.execPath, [cruiser, '--config', '.dependency-cruiser.cjs', '--', 'src', 'media/src'], { cwd: repoRoot, stdio: 'inherit' });
process.exitCode = r.status ?? 1;
