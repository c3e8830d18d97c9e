// GistNet v3: o200k-tokenise the pairs mined by mine_pairs.py (the engine's tokenizer, gpt-tokenizer o200k_base).
//
//   node models/training/v3/tokenize-pairs.mjs DIR
//
// Reads DIR/pairs.jsonl and DIR/negs.jsonl; writes (little-endian int32, rows of 32, 0 = pad):
//   q.i32 [N,32] query tokens (first 32), c.i32 [N,32] code tokens (first 32 of the code),
//   meta.i32 [N,4]: fileIdx, split (0 train, 1 held-out), src (0 deb, 1 npm, 2 git), kind
//   n.i32 [M,32] extra same-file chunks (hard negatives), nfile.i32 [M] their fileIdx
//   tok.json { files, pkgs (per pair index into pkgNames), pkgNames, kinds, n, m }
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { encode: encodeSpecial } = require('gpt-tokenizer/cjs/encoding/o200k_base');
// As the engine encodes (src/core/tokenizer.ts): a special-token string such as `<|endoftext|>` in a
// docstring (the openai package documents it) is plain text, not an error.
const PLAIN = { allowedSpecial: new Set(), disallowedSpecial: new Set() };
const encode = (text) => encodeSpecial(text, PLAIN);
const dir = process.argv[2];
const L = 32;
const files = new Map();
const fileIdx = (f) => { if (!files.has(f)) files.set(f, files.size); return files.get(f); };
const pkgNames = new Map();
const pkgIdx = (p) => { if (!pkgNames.has(p)) pkgNames.set(p, pkgNames.size); return pkgNames.get(p); };
const KINDS = ['def', 'class', 'comment', 'jsdoc', 'commit'];
const SRC = { deb: 0, npm: 1, git: 2 };

function row(text, maxChars) {
  const ids = encode(text.slice(0, maxChars)).slice(0, L);
  const r = new Int32Array(L);
  r.set(ids);
  return [r, ids.length];
}
const lines = readFileSync(join(dir, 'pairs.jsonl'), 'utf8').split('\n').filter(Boolean);
const N = lines.length;
const q = new Int32Array(N * L), c = new Int32Array(N * L), meta = new Int32Array(N * 4), pk = new Int32Array(N);
let k = 0;
const t0 = Date.now();
for (const l of lines) {
  const p = JSON.parse(l);
  const [qr, ql] = row(p.q, 400);
  const [cr, cl] = row(p.c, 800);
  if (ql < 3 || cl < 4) continue;
  q.set(qr, k * L); c.set(cr, k * L);
  meta.set([fileIdx(p.file), p.split === 'train' ? 0 : 1, SRC[p.src], KINDS.indexOf(p.kind)], k * 4);
  pk[k] = pkgIdx(p.pkg);
  k++;
  if (k % 50000 === 0) console.log(`tokenize: ${k} pairs, ${((Date.now() - t0) / 1000).toFixed(0)} s`);
}
const nl = readFileSync(join(dir, 'negs.jsonl'), 'utf8').split('\n').filter(Boolean);
const nrows = [], nfile = [];
for (const l of nl) {
  const o = JSON.parse(l);
  if (!files.has(o.file)) continue; // files without pairs give no negatives
  for (const ch of o.chunks) {
    const [r, n] = row(ch, 800);
    if (n < 4) continue;
    nrows.push(r); nfile.push(files.get(o.file));
  }
}
const nn = new Int32Array(nrows.length * L);
nrows.forEach((r, i) => nn.set(r, i * L));
const w = (name, a) => writeFileSync(join(dir, name), Buffer.from(a.buffer, a.byteOffset, a.byteLength));
w('q.i32', q.subarray(0, k * L)); w('c.i32', c.subarray(0, k * L)); w('meta.i32', meta.subarray(0, k * 4));
w('pkg.i32', pk.subarray(0, k)); w('n.i32', nn); w('nfile.i32', Int32Array.from(nfile));
writeFileSync(join(dir, 'tok.json'), JSON.stringify({ n: k, m: nfile.length, kinds: KINDS, pkgNames: [...pkgNames.keys()], files: [...files.keys()] }));
console.log(`tokenize: ${k} pairs (${N - k} too short), ${nfile.length} negative chunks, ${((Date.now() - t0) / 1000).toFixed(1)} s`);
