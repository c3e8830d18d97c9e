// `npm run train` — the model-training recipe (see models/README.md and models/training/).
//
//   npm run train                      full recipe; writes models/*.onnx, models.json, reference.json
//   npm run train -- --smoke           tiny run (< ~1 min) into models/training/.data/smoke-models/
//   npm run train -- --reuse-gist      skip steps 1-2 when the GistNet ONNX + state already exist
//   npm run train -- --fake-lens       full run, but LensNet from SYNTHETIC data
//   npm run train -- --gist-v2         the earlier GistNet v2 LOD1 (a transformer trained on the stdlib pairs of
//                                      step 1) instead of v3, the default since round 11 (models/training/v3/:
//                                      mined pairs, bag-of-embeddings encoder); the later steps are the same.
//                                      --gist-v3 is accepted and changes nothing.
//   npm run train -- --out DIR         write the models folder to DIR instead of models/ (state and the
//                                      float32 LOD1 source then go to DIR/.state and DIR/fp32)
//
// `npm run train` builds first (the `pretrain` script): steps 3 and 5b run the compiled dataset builders in out/.
//
// Steps: (1) GistNet dataset (node; v3 then uses it for LOD2 and the in-document metrics), (1v3) GistNet v3
// pairs: apt installs, the pinned extra npm packages (npm pack), mining, tokenising, (2v3) GistNet v3 LOD1 training, checkpointed and resumable,
// (2) GistNet LOD2 training (v2: LOD1 too) + export (python), (2b) the shipped LOD1 GistNet: v3's int8
// rewrite from its PyTorch state (fast_gistnet_v3.py; v2: fast_gistnet.py from the float32 export, kept
// in models/training/fp32/), written as gistnet-lod1.onnx, (3) LensNet dataset
// (node out/models/training/lens-data.js), (4) LensNet training + export, (5) models.json +
// reference.json, (5b) LensNet v2, the plan's value model: its dataset from the development suites
// (node out/models/training/value-data.js) and its training + export (train_value.py, which adds it to
// models.json), (6) parity: onnxruntime-node vs the PyTorch reference (max abs diff <= 1e-4; the
// int8 LOD1 GistNet within its own tolerances, see make_reference.py), LensNet v2 included.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
process.chdir(root);
const argv = process.argv.slice(2);
const smoke = argv.includes('--smoke');
const reuseGist = argv.includes('--reuse-gist');
const fakeLens = argv.includes('--fake-lens');
const gistV3 = !argv.includes('--gist-v2');
const outArg = argv.includes('--out') ? argv[argv.indexOf('--out') + 1] : null;
const PY = '/usr/bin/python3';
const T = 'models/training';
const dataDir = `${T}/.data`;
const outDir = outArg ?? (smoke ? `${dataDir}/smoke-models` : 'models');
const stateDir = outArg ? `${outArg}/.state` : smoke ? `${dataDir}/smoke-models/.state` : `${dataDir}/state`;
const gistData = `${dataDir}/${smoke ? 'gist-smoke' : 'gist'}`;
const lensData = `${dataDir}/${smoke ? 'lens-smoke' : 'lens'}`;
// The float32 LOD1 export. For v2 it is the source of the shipped int8 model, committed for the full run
// (it is not shipped: the package carries models/*.onnx only). For v3 the int8 model is built from the
// PyTorch state (STATE/v3/lod1v3.pt), so the float32 export stays in the state folder, uncommitted.
const fp32Dir = outArg ? `${outArg}/fp32` : smoke || gistV3 ? `${stateDir}/fp32` : `${T}/fp32`;
const lod1Fp32 = `${fp32Dir}/gistnet-lod1.onnx`;
mkdirSync(stateDir, { recursive: true });

function die(msg) {
  console.error(`train: ERROR: ${msg}`);
  process.exit(1);
}
function run(cmd, args, env = {}) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', env: { ...process.env, PYTHONHASHSEED: '0', ...env } });
  if (r.error) die(`${cmd} ${args.join(' ')}: ${r.error.message}`);
  if (r.status !== 0) die(`${cmd} ${args.join(' ')} exited with ${r.status}`);
}
const timings = [];
function step(name, fn) {
  const t = Date.now();
  console.log(`\n=== ${name}`);
  fn();
  const s = (Date.now() - t) / 1000;
  timings.push([name, s]);
  console.log(`=== ${name}: ${s.toFixed(1)} s`);
}

const t0 = Date.now();
const probe = spawnSync(PY, ['-c', 'import torch, onnx, numpy'], { stdio: 'ignore' });
if (probe.error || probe.status !== 0) {
  die(`${PY} lacks torch/onnx/numpy: install Debian's python3-torch python3-onnx python3-numpy libopenblas0-pthread`);
}
console.log(`train: ${smoke ? 'SMOKE run' : 'full run'} -> ${outDir}`);
const smokeArg = smoke ? ['--smoke'] : [];

const haveGist = ['gistnet-lod1.onnx', 'gistnet-lod2.onnx'].every((f) => existsSync(join(outDir, f)))
  && ['lod1.pt', 'lod2.pt', 'gist-metrics.json'].every((f) => existsSync(join(stateDir, f)));
let freshGist = false;
if (reuseGist && haveGist) {
  console.log('train: --reuse-gist: keeping the existing GistNet ONNX files and state (steps 1-2 skipped)');
} else {
  if (reuseGist) console.log('train: --reuse-gist given but no GistNet state found; training it');
  step('1 GistNet dataset (node models/training/gist-data.mjs)', () =>
    run('node', [`${T}/gist-data.mjs`, '--out', gistData, ...smokeArg]));
  const v3Args = [];
  // The package-level dev split (manifest gistV3.devPackages) chooses the step; a smoke run mines too few
  // packages for it and keeps its file-level split.
  const v3Train = () => {
    if (smoke) return [];
    const dev = JSON.parse(readFileSync(`${T}/manifest.json`, 'utf8')).gistV3.devPackages;
    return ['--dev-packages', dev.join(','), '--select', 'package'];
  };
  if (gistV3) {
    // GistNet v3 (models/training/v3/): Debian packages named in manifest.json gistV3.debian (installed with apt
    // when missing and run as root; --smoke mines only what is installed), npm JSDoc, git history.
    const v3Data = `${dataDir}/${smoke ? 'gist-v3-smoke' : 'gist-v3'}`;
    const v3State = `${stateDir}/v3`;
    step('1v3 GistNet v3 pairs (apt packages, mine_pairs.py, tokenize-pairs.mjs)', () => {
      if (existsSync(`${v3Data}/tok.json`) && existsSync(`${v3Data}/keymap.i32`)) {
        console.log(`train: reusing the mined pairs in ${v3Data} (delete it to mine again)`);
        return;
      }
      if (!smoke) {
        const man = JSON.parse(readFileSync(`${T}/manifest.json`, 'utf8')).gistV3;
        const missing = man.debian.filter((p) => spawnSync('dpkg', ['-s', p], { stdio: 'ignore' }).status !== 0);
        if (missing.length) {
          if (process.getuid?.() !== 0) die(`install first: apt-get update && apt-get install --no-install-recommends ${missing.join(' ')}`);
          run('apt-get', ['update', '-q']);
          run('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...missing], { DEBIAN_FRONTEND: 'noninteractive' });
        }
      }
      // gistV3.npmExtra: pinned npm packages fetched with `npm pack` (not in --smoke, which mines only what is here)
      const extra = [];
      if (!smoke) {
        run('node', [`${T}/v3/fetch-npm.mjs`, `${dataDir}/npm-extra`]);
        extra.push('--extra-node-modules', `${dataDir}/npm-extra/node_modules`);
      }
      run(PY, [`${T}/v3/mine_pairs.py`, '--out', v3Data, ...extra, ...smokeArg]);
      run('node', [`${T}/v3/tokenize-pairs.mjs`, v3Data]);
      run('node', [`${T}/v3/keymap.mjs`, `${v3Data}/keymap.i32`]);
    });
    step('2v3 GistNet v3 LOD1 training (train_v3.py; resumes from its checkpoint)', () =>
      run(PY, [`${T}/v3/train_v3.py`, '--data', v3Data, '--state', v3State, '--keymap', `${v3Data}/keymap.i32`, '--final-eval', ...v3Train(), ...smokeArg]));
    v3Args.push('--lod1-v3', `${v3State}/lod1v3.pt`);
  }
  step(gistV3 ? '2 GistNet v3 LOD1 evaluation + LOD2 training + ONNX export' : '2 GistNet training + ONNX export', () =>
    run(PY, [`${T}/train_gistnet.py`, '--data', gistData, '--out', outDir, '--state', stateDir, ...v3Args, ...smokeArg]));
  freshGist = true;
}
step('2b LOD1 GistNet int8 rewrite (fast_gistnet.py)', () => {
  // A fresh export (or a models folder from before this step) holds the float32 model: keep it as the
  // source. fast_gistnet.py refuses its own output, so a rerun cannot quantize twice.
  if (freshGist || !existsSync(lod1Fp32)) {
    mkdirSync(fp32Dir, { recursive: true });
    copyFileSync(join(outDir, 'gistnet-lod1.onnx'), lod1Fp32);
  }
  if (gistV3) run(PY, [`${T}/v3/fast_gistnet_v3.py`, join(stateDir, 'lod1.pt'), join(outDir, 'gistnet-lod1.onnx')]);
  else run(PY, [`${T}/fast_gistnet.py`, lod1Fp32, join(outDir, 'gistnet-lod1.onnx')]);
});

let synthetic = false;
step('3 LensNet dataset', () => {
  const builder = 'out/models/training/lens-data.js';
  if (existsSync(builder)) {
    run('node', [builder, '--models', outDir, '--gist-data', gistData, '--out', lensData, ...smokeArg]);
  } else if (fakeLens) {
    synthetic = true;
    console.log('!'.repeat(100));
    console.log(`!!! ${builder} not found (run \`npm run build\` once models/training/lens-data.ts exists).`);
    console.log('!!! FALLING BACK TO SYNTHETIC LensNet DATA (fake_lens_data.py): the LensNet trained here is NOT a product model.');
    console.log('!'.repeat(100));
    run(PY, [`${T}/fake_lens_data.py`, '--out', lensData, ...(smoke ? ['--examples', '24', '--max-n', '48'] : ['--examples', '160', '--max-n', '200'])]);
  } else {
    die(`${builder} not found: run \`npm run build\` first (or pass --fake-lens to train LensNet on SYNTHETIC data)`);
  }
});
step('4 LensNet training + ONNX export', () =>
  run(PY, [`${T}/train_lensnet.py`, '--data', lensData, '--out', outDir, '--state', stateDir, ...smokeArg]));
step('5 models.json + reference.json', () =>
  run(PY, [`${T}/make_reference.py`, '--out', outDir, '--state', stateDir, ...(gistV3 ? [] : ['--lod1-fp32', lod1Fp32])]));
const valueData = `${dataDir}/${smoke ? 'value-smoke' : 'value'}`;
const valueRef = smoke ? `${stateDir}/value-reference.json` : `${T}/value-reference.json`;
step('5b LensNet v2 (the plan\'s value model): dataset + training + export', () => {
  const builder = 'out/models/training/value-data.js';
  if (!existsSync(builder)) die(`${builder} not found: run \`npm run build\` first`);
  // --issue-history: the development repositories' other eligible commits join the issue suite (round 17).
  run('node', [builder, '--models', outDir, '--out', valueData, '--issue-history', ...smokeArg]);
  run(PY, [`${T}/train_value.py`, '--data', valueData, '--out', outDir, '--state', stateDir, '--reference', valueRef, ...smokeArg]);
});
step('6 parity (onnxruntime-node vs PyTorch reference)', () => run('node', [`${T}/parity.mjs`, outDir, valueRef]));

console.log('\ntrain: timings');
for (const [n, s] of timings) console.log(`  ${s.toFixed(1).padStart(7)} s  ${n}`);
console.log(`  ${((Date.now() - t0) / 1000).toFixed(1).padStart(7)} s  total`);
if (synthetic) console.log('train: NOTE lensnet.onnx was trained on SYNTHETIC data (fake_lens_data.py).');
console.log(`train: done -> ${outDir}`);
