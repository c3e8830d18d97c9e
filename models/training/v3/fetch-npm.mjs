// Fetches the extra npm packages of the GistNet v3 corpus (manifest.json gistV3.npmExtra, pinned name@version)
// into DIR/node_modules/<name>, as mine_pairs.py --extra-node-modules reads them:
//   node models/training/v3/fetch-npm.mjs DIR
// `npm pack` downloads each package's published tarball (sources as published; no dependencies are installed and
// no install script runs), then tar unpacks it. A package already unpacked at its pinned version is kept.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: node models/training/v3/fetch-npm.mjs DIR');
  process.exit(2);
}
const here = dirname(fileURLToPath(import.meta.url));
const specs = JSON.parse(readFileSync(join(here, '..', 'manifest.json'), 'utf8')).gistV3.npmExtra ?? [];
const nm = join(dir, 'node_modules');
const tgz = join(dir, 'tgz');
mkdirSync(nm, { recursive: true });
mkdirSync(tgz, { recursive: true });

const parse = (spec) => {
  const at = spec.lastIndexOf('@');
  return { name: spec.slice(0, at), version: spec.slice(at + 1) };
};
const installed = (name) => {
  try {
    return JSON.parse(readFileSync(join(nm, name, 'package.json'), 'utf8')).version;
  } catch {
    return undefined;
  }
};
const notPinned = () => specs.filter((s) => installed(parse(s).name) !== parse(s).version);
const missing = notPinned();
if (missing.length) {
  console.log(`fetch-npm: npm pack ${missing.length} of ${specs.length} packages`);
  const out = execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', tgz, ...missing], { encoding: 'utf8', maxBuffer: 256 << 20 });
  const packed = JSON.parse(out);
  for (const p of packed) {
    const dest = join(nm, p.name);
    const tmp = `${dest}.tmp`;
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    execFileSync('tar', ['-xzf', join(tgz, p.filename), '-C', tmp, '--strip-components=1', '--no-same-owner']);
    rmSync(dest, { recursive: true, force: true });
    mkdirSync(dirname(dest), { recursive: true });
    renameSync(tmp, dest);
  }
}
const bad = notPinned();
if (bad.length) {
  console.error(`fetch-npm: not unpacked at the pinned version: ${bad.join(' ')}`);
  process.exit(1);
}
console.log(`fetch-npm: ${specs.length} packages in ${nm}`);
