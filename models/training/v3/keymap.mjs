// GistNet v3: the o200k id -> normalised-key table that the v3 LOD1 graph applies before its embeddings, so that
// ' nodes', 'nodes', '_nodes', 'Nodes' and 'NODES' share one embedding (queries are prose, code is identifiers).
//
//   node models/training/v3/keymap.mjs OUT.i32
//
// Key of a token: its decoded text, lower-cased, spaces and '_' and punctuation stripped at both ends; a token that
// is only punctuation keeps its (trimmed) punctuation, a whitespace-only token its raw text. Keys are numbered in
// order of first appearance over ids 0..VOCAB-1; OUT.i32 holds int32 [VOCAB] key numbers (deterministic).
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { decode } = require('gpt-tokenizer/cjs/encoding/o200k_base');
const VOCAB = 200019;
const out = new Int32Array(VOCAB);
const keys = new Map();
for (let id = 0; id < VOCAB; id++) {
  let s;
  try { s = decode([id]); } catch { s = `<special ${id}>`; }
  const low = s.toLowerCase();
  let k = low.replace(/^[\s_\p{P}\p{S}]+|[\s_\p{P}\p{S}]+$/gu, '');
  if (!k) k = low.trim();
  if (!k) k = s;
  if (!keys.has(k)) keys.set(k, keys.size);
  out[id] = keys.get(k);
}
writeFileSync(process.argv[2], Buffer.from(out.buffer));
console.log(`keymap: ${VOCAB} ids -> ${keys.size} keys -> ${process.argv[2]}`);
