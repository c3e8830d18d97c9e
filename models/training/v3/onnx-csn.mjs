// GistNet LOD1 models in onnxruntime-node (as the product runs them): CodeSearchNet-protocol MRR on the v3
// held-out packages, and throughput on real 32-token blocks, for several models in the same run.
//
//   node models/training/v3/onnx-csn.mjs --data DIR --model NAME=PATH[,QUERY_PATH][@level] [--model ...] [--bench] [--reps 30]
//        [--threads 1] [--json OUT.json] [--kinds def,class,jsdoc|all] [--no-csn]
//
// CSN protocol: every held-out query (Python: the held-out Debian packages; TS/JS: the held-out npm packages)
// is scored against its gold code and 999 codes drawn (seeded) from OTHER files of the same held-out set;
// MRR over queries (ties share the average rank). The distractors are the same for every model.
// --bench: batches of 64 real blocks (the file chunks of tokenize-pairs.mjs, n.i32), models interleaved,
// median seconds per batch over --reps repeats after warm-up; tokens/s counts valid (non-pad) tokens.
import { readFileSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'package.json'));
const ort = require('onnxruntime-node');
const argv = process.argv.slice(2);
const opt = (n, d) => { const i = argv.indexOf(n); return i >= 0 ? argv[i + 1] : d; };
const dir = opt('--data');
const threads = Number(opt('--threads', '1'));
const reps = Number(opt('--reps', '30'));
const models = [];
// NAME=PATH[,QUERY_PATH][@level]: QUERY_PATH encodes the queries (a model trained with --query-tables)
argv.forEach((a, i) => { if (a === '--model') { const [n, rest] = argv[i + 1].split('='); const [paths, lvl] = rest.split('@'); const [p, qp] = paths.split(','); models.push({ name: n, path: p, queryPath: qp, level: lvl ?? 'basic' }); } });
const L = 32;
// --kinds: which held-out pairs are queries (default the CodeSearchNet kinds: def/class docstrings, JSDoc);
// 'all' adds the comment pairs
const kindsArg = opt('--kinds', 'def,class,jsdoc');
const kinds = new Set(kindsArg === 'all' ? ['def', 'class', 'comment', 'jsdoc', 'commit'] : kindsArg.split(','));
const tok = JSON.parse(readFileSync(join(dir, 'tok.json'), 'utf8'));
const rd = (f) => { const b = readFileSync(join(dir, f)); return new Int32Array(b.buffer, b.byteOffset, b.byteLength / 4); };
const q = rd('q.i32'), c = rd('c.i32'), meta = rd('meta.i32');
const N = tok.n;

function mulberry32(a) {
  return () => { a |= 0; a = (a + 0x6d2b79f5) | 0; let t = Math.imul(a ^ (a >>> 15), 1 | a); t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t; return ((t ^ (t >>> 14)) >>> 0) / 4294967296; };
}
async function encode(sess, rows, idx, bs = 256) {
  const out = new Float32Array(idx.length * 128);
  for (let s = 0; s < idx.length; s += bs) {
    const n = Math.min(bs, idx.length - s);
    const t = new BigInt64Array(n * L), m = new Float32Array(n * L);
    for (let r = 0; r < n; r++) for (let j = 0; j < L; j++) { const v = rows[idx[s + r] * L + j]; t[r * L + j] = BigInt(v); m[r * L + j] = v !== 0 ? 1 : 0; }
    const o = await sess.run({ tokens: new ort.Tensor('int64', t, [n, L]), mask: new ort.Tensor('float32', m, [n, L]) });
    out.set(o.gist.data, s * 128);
  }
  return out;
}
const dot = (a, i, b, j) => { let s = 0; for (let k = 0; k < 128; k++) s += a[i * 128 + k] * b[j * 128 + k]; return s; };

const sessions = [];
const open = (path, m) => ort.InferenceSession.create(path, { executionProviders: ['cpu'], graphOptimizationLevel: m.level, intraOpNumThreads: threads, interOpNumThreads: 1 });
const querySessions = [];
for (const m of models) {
  sessions.push(await open(m.path, m));
  querySessions.push(m.queryPath ? await open(m.queryPath, m) : sessions[sessions.length - 1]);
}
const result = { threads, models: models.map((m) => m.name), csn: {}, bench: {} };
if (!argv.includes('--no-csn')) {
  for (const [lang, src] of [['python', 0], ['tsjs', 1]]) {
    const idx = [];
    for (let i = 0; i < N; i++) if (meta[i * 4 + 1] === 1 && meta[i * 4 + 2] === src && kinds.has(tok.kinds[meta[i * 4 + 3]])) idx.push(i);
    if (idx.length < 2) continue;
    const file = idx.map((i) => meta[i * 4]);
    const nd = Math.min(999, idx.length - 1);
    const rnd = mulberry32(12345 + src);
    const dist = idx.map((_, a) => { const d = []; while (d.length < nd) { const j = Math.floor(rnd() * idx.length); if (file[j] !== file[a]) d.push(j); } return d; });
    result.csn[lang] = { kinds: [...kinds], queries: idx.length, distractors: nd, files: new Set(file).size };
    for (let k = 0; k < models.length; k++) {
      const t0 = Date.now();
      const qg = await encode(querySessions[k], q, idx), cg = await encode(sessions[k], c, idx);
      let mrr = 0, r1 = 0;
      for (let a = 0; a < idx.length; a++) {
        const g = dot(qg, a, cg, a);
        let gt = 0, eq = 0;
        for (const j of dist[a]) { const s = dot(qg, a, cg, j); if (s > g) gt++; else if (s === g) eq++; }
        const rank = 1 + gt + 0.5 * eq;
        mrr += 1 / rank; if (rank === 1) r1++;
      }
      result.csn[lang][models[k].name] = { mrr: mrr / idx.length, recall1: r1 / idx.length };
      console.log(`csn ${lang} (${idx.length} queries, ${nd} distractors) ${models[k].name}: MRR ${(mrr / idx.length).toFixed(4)} R@1 ${(r1 / idx.length).toFixed(4)} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    }
  }
}
if (argv.includes('--bench')) {
  const nb = rd('n.i32');
  const M = nb.length / L;
  const batches = [];
  const rnd = mulberry32(7);
  for (let b = 0; b < 16; b++) {
    const t = new BigInt64Array(64 * L), m = new Float32Array(64 * L);
    let valid = 0;
    for (let r = 0; r < 64; r++) { const i = Math.floor(rnd() * M); for (let j = 0; j < L; j++) { const v = nb[i * L + j]; t[r * L + j] = BigInt(v); m[r * L + j] = v !== 0 ? 1 : 0; valid += v !== 0 ? 1 : 0; } }
    batches.push({ feeds: { tokens: new ort.Tensor('int64', t, [64, L]), mask: new ort.Tensor('float32', m, [64, L]) }, valid });
  }
  const times = models.map(() => []);
  for (let w = 0; w < 3; w++) for (const s of sessions) for (const b of batches) await s.run(b.feeds);
  for (let r = 0; r < reps; r++) {
    for (let k = 0; k < models.length; k++) {
      const t0 = process.hrtime.bigint();
      for (const b of batches) await sessions[k].run(b.feeds);
      times[k].push(Number(process.hrtime.bigint() - t0) / 1e9 / batches.length);
    }
  }
  const valid = batches.reduce((a, b) => a + b.valid, 0) / batches.length;
  for (let k = 0; k < models.length; k++) {
    const t = [...times[k]].sort((a, b) => a - b);
    const med = t[Math.floor(t.length / 2)];
    result.bench[models[k].name] = { msPerBatch64: med * 1000, blocksPerS: 64 / med, tokensPerS: valid / med };
    console.log(`bench ${models[k].name}: ${(med * 1000).toFixed(3)} ms / batch of 64 (median of ${reps}), ${(64 / med).toFixed(0)} blocks/s, ${(valid / med).toFixed(0)} tokens/s (threads ${threads})`);
  }
  if (models.length >= 2) {
    const base = result.bench[models[0].name].msPerBatch64;
    for (let k = 1; k < models.length; k++) console.log(`bench speed-up ${models[k].name} vs ${models[0].name}: ${(base / result.bench[models[k].name].msPerBatch64).toFixed(2)}x`);
  }
}
if (opt('--json')) writeFileSync(opt('--json'), JSON.stringify(result, null, 1));
