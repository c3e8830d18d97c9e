// GistNet dataset builder: docstring/def pairs from the corpora named in manifest.json.
//
//   node models/training/gist-data.mjs [--out models/training/.data/gist] [--smoke] [--max-files N]
//
// For every Python `def`/`async def` whose first statement is a triple-quoted docstring with a first
// paragraph of >= 6 words: query = that paragraph (o200k tokens, truncated to 32); haystack document =
// the file's text with THAT docstring's lines removed; positive = the 32-token block containing the
// start of the def line. The file is tokenised once, in segments cut at line starts (docstring
// boundaries and def-line starts), so a pair's document is the file's token stream minus one token
// range: [0, remStart) ++ [remEnd, len). Segmenting at line starts reproduces whole-file tokenisation
// except, rarely, at a segment boundary.
//
// Output (all little-endian):
//   header.json   { version, tokenizer, files: [{ path, tokOffset, tokLen, split }], nPairs, nQueryTokens, ... }
//   tokens.i32    int32, every file's token ids concatenated (file i at [tokOffset, tokOffset+tokLen))
//   pairs.i32     int32 [nPairs, 8]: fileIdx, remStart, remEnd, defTok, qOffset, qLen, docBodyLines, kind
//                 (kind 0 python def docstring, 1 python comment, 2 JSDoc, 3 python class docstring)
//                 (remStart/remEnd/defTok are file-local token offsets; Python: defTok < remStart,
//                 JS/TS: defTok >= remEnd, the declaration follows its JSDoc)
//   queries.i32   int32, query token ids concatenated (pair p at [qOffset, qOffset+qLen))
//   keys.json     { ids: [...], keys: [...] }: every token id in the dataset and its normalised text
//                 (decoded, lower-cased, leading/trailing spaces, '_' and punctuation stripped), used
//                 by train_gistnet.py to initialise the embedding so ' decode', 'decode', '_Decode' start alike
import { readFileSync, writeFileSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join, relative, dirname } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const { encode: encodeSpecial, decode } = require('gpt-tokenizer/cjs/encoding/o200k_base');
// Special-token strings are plain text, as the engine encodes them (src/core/tokenizer.ts).
const PLAIN = { allowedSpecial: new Set(), disallowedSpecial: new Set() };
const encode = (text) => encodeSpecial(text, PLAIN);

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : dflt;
};
const smoke = args.includes('--smoke');
const outDir = opt('--out', join(here, '.data', smoke ? 'gist-smoke' : 'gist'));
const maxFiles = Number(opt('--max-files', smoke ? '16' : '100000'));
const manifest = JSON.parse(readFileSync(join(here, 'manifest.json'), 'utf8'));

function globToRegExp(glob) {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*' && glob[i + 1] === '*') {
      if (glob[i + 2] === '/') { re += '(?:.*/)?'; i += 2; } else { re += '.*'; i += 1; }
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') { const j = glob.indexOf(']', i); re += glob.slice(i, j + 1); i = j; }
    else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp('^' + re + '$');
}

function walk(dir, acc) {
  let names;
  try { names = readdirSync(dir).sort(); } catch { return acc; }
  for (const n of names) {
    const p = join(dir, n);
    let st;
    try { st = statSync(p); } catch { continue; }
    if (st.isDirectory()) walk(p, acc);
    else if (st.isFile()) acc.push(p);
  }
  return acc;
}

function fnv1a(s) {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) { h ^= s.charCodeAt(i); h = Math.imul(h, 0x01000193) >>> 0; }
  return h >>> 0;
}

// ---- Python docstring extraction ------------------------------------------------------------
const DEF_RE = /^(\s*)(?:(?:async\s+)?def\s+[A-Za-z_]\w*\s*\(|class\s+[A-Za-z_]\w*\s*[(:])/;
const DOC_OPEN_RE = /^(\s*)([rRuU]?)("""|''')/;

/** Index just past the ':' that ends the signature starting at `pos`, or -1. */
function signatureEnd(text, pos) {
  let depth = 0;
  for (let i = pos; i < text.length; i++) {
    const c = text[i];
    if (c === '#') { while (i < text.length && text[i] !== '\n') i++; continue; }
    if (c === '"' || c === "'") {
      const triple = text.startsWith(c.repeat(3), i);
      const q = triple ? c.repeat(3) : c;
      let j = i + q.length;
      while (j < text.length && !text.startsWith(q, j)) { if (text[j] === '\\') j++; if (!triple && text[j] === '\n') break; j++; }
      i = j + q.length - 1;
      continue;
    }
    if (c === '(' || c === '[' || c === '{') depth++;
    else if (c === ')' || c === ']' || c === '}') depth--;
    else if (c === ':' && depth === 0) return i + 1;
    else if (c === '\n' && depth === 0 && text[i - 1] !== '\\') return -1;
  }
  return -1;
}

/** Functions with a qualifying docstring: { defLine, docStartLine, docEndLine (inclusive), query }. */
function pythonPairs(text) {
  const lines = text.split('\n');
  const lineStart = [0];
  for (let i = 0; i < lines.length; i++) lineStart.push(lineStart[i] + lines[i].length + 1);
  const lineOf = (pos) => { // binary search
    let lo = 0, hi = lines.length - 1;
    while (lo < hi) { const mid = (lo + hi + 1) >> 1; if (lineStart[mid] <= pos) lo = mid; else hi = mid - 1; }
    return lo;
  };
  const out = [];
  for (let li = 0; li < lines.length; li++) {
    if (!DEF_RE.test(lines[li])) continue;
    const end = signatureEnd(text, lineStart[li]);
    if (end < 0) continue;
    const sigLine = lineOf(end - 1);
    const rest = text.slice(end, lineStart[sigLine + 1] - 1);
    if (rest.trim() !== '' && !rest.trim().startsWith('#')) continue; // one-liner body
    let dl = sigLine + 1;
    while (dl < lines.length && lines[dl].trim() === '') dl++;
    if (dl >= lines.length) continue;
    const m = DOC_OPEN_RE.exec(lines[dl]);
    if (!m) continue;
    const q = m[3];
    const bodyStart = lineStart[dl] + m[0].length;
    let close = bodyStart;
    while (close < text.length && !text.startsWith(q, close)) { if (text[close] === '\\') close++; close++; }
    if (close >= text.length) continue;
    const endLine = lineOf(close);
    const after = text.slice(close + 3, lineStart[endLine + 1] - 1);
    if (after.trim() !== '') continue;
    const body = text.slice(bodyStart, close);
    const para = body.replace(/^\s*\n/, '').split(/\n[ \t]*\n/)[0].replace(/\s+/g, ' ').trim();
    if (para.split(' ').filter((w) => w.length > 0).length < 6) continue;
    out.push({ defLine: li, docStartLine: sigLine + 1, docEndLine: endLine, query: para, docBodyLines: endLine - dl + 1, isClass: /^\s*class\b/.test(lines[li]) });
    li = sigLine;
  }
  // Comment pairs (v2): a run of whole-line `#` comments (>= 6 words) directly followed by a code
  // line; query = the comment text, removed = its lines, positive = the block holding the next line.
  const inDoc = new Uint8Array(lines.length + 1);
  for (const p of out) for (let l = p.docStartLine; l <= p.docEndLine; l++) inDoc[l] = 1;
  for (let li = 1; li < lines.length; li++) {
    if (!/^\s*#(?![!])/.test(lines[li]) || /^\s*#/.test(lines[li - 1]) || inDoc[li]) continue;
    let end = li;
    while (end + 1 < lines.length && /^\s*#/.test(lines[end + 1])) end++;
    const next = end + 1;
    if (next >= lines.length || lines[next].trim() === '' || inDoc[next] || end - li > 12) { li = end; continue; }
    const para = lines.slice(li, end + 1).map((l) => l.replace(/^\s*#+\s?/, '')).join(' ').replace(/\s+/g, ' ').trim();
    if (para.split(' ').filter((w) => /[A-Za-z]/.test(w)).length < 6 || /^[-=#*~ ]+$/.test(para)) { li = end; continue; }
    out.push({ defLine: next, docStartLine: li, docEndLine: end, query: para, docBodyLines: end - li + 1, comment: true });
    li = end;
  }
  return { out, lineStart };
}


// ---- JS/TS JSDoc extraction --------------------------------------------------------------------
// A `/** ... */` block on its own lines, directly followed by a non-blank code line (function,
// method, property, interface member, class, const ...): query = the first paragraph of the comment
// without @tags ({@link X} -> X); removed = the comment's lines; positive = the block holding the
// next line (the declaration).
const JS_SKIP_LINE = /^\s*(?:\/\/|\/\*|\*|\}|\)|$)/;
function jsPairs(text) {
  const lines = text.split('\n');
  const lineStart = [0];
  for (let i = 0; i < lines.length; i++) lineStart.push(lineStart[i] + lines[i].length + 1);
  const out = [];
  for (let li = 0; li < lines.length; li++) {
    if (!/^\s*\/\*\*(?!\/)/.test(lines[li])) continue;
    let end = li;
    while (end < lines.length && !lines[end].includes('*/')) end++;
    if (end >= lines.length || end - li > 60) continue;
    if (lines[end].slice(lines[end].indexOf('*/') + 2).trim() !== '') { li = end; continue; }
    const defLine = end + 1;
    if (defLine >= lines.length || JS_SKIP_LINE.test(lines[defLine]) || !/[A-Za-z_$]/.test(lines[defLine])) { li = end; continue; }
    const raw = lines.slice(li, end + 1).join('\n').replace(/^\s*\/\*\*/, '').replace(/\*\/\s*$/, '');
    const body = raw.split('\n').map((l) => l.replace(/^\s*\*?\s?/, '')).filter((l) => !l.startsWith('@'));
    const para = body.join('\n').replace(/\{@(?:link|linkcode|linkplain)\s+([^}|\s]+)[^}]*\}/g, '$1')
      .trim().split(/\n\s*\n/)[0].replace(/\s+/g, ' ').trim();
    if (para.split(' ').filter((w) => /[A-Za-z]/.test(w)).length < 6) { li = end; continue; }
    out.push({ defLine, docStartLine: li, docEndLine: end, query: para, docBodyLines: end - li + 1 });
    li = end;
  }
  return { out, lineStart };
}

// ---- corpus selection --------------------------------------------------------------------------
const t0 = Date.now();
const files = [];
for (const corpus of manifest.corpora) {
  const inc = corpus.include.map(globToRegExp);
  const exc = (corpus.exclude ?? []).map(globToRegExp);
  const heldPkgs = new Set(manifest.heldOut.filter((h) => h.root === corpus.root && h.packages).flatMap((h) => h.packages));
  for (const p of walk(corpus.root, [])) {
    if (!inc.some((r) => r.test(p)) || exc.some((r) => r.test(p))) continue;
    const rel = relative(corpus.root, p);
    const top = rel.split('/')[0].replace(/\.py$/, '');
    if (heldPkgs.has(top)) continue;
    files.push({ corpus: corpus.id, lang: corpus.lang ?? 'python', maxChars: corpus.maxFileChars ?? 400_000, root: corpus.root, path: p, rel });
  }
}
files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
let selected = files;
if (smoke) {
  // A handful of mid-sized files, deterministic: every k-th file by path.
  const small = files.filter((f) => { try { return statSync(f.path).size < 20_000; } catch { return false; } });
  const k = Math.max(1, Math.floor(small.length / maxFiles));
  selected = small.filter((_, i) => i % k === 0).slice(0, maxFiles);
} else selected = files.slice(0, maxFiles);

// ---- tokenise ------------------------------------------------------------------------------------
const tokenChunks = [];
const fileRecs = [];
const pairRows = [];
const queryChunks = [];
let tokTotal = 0, qTotal = 0, nSkippedFiles = 0, nDupFiles = 0, nDupPairs = 0;
const seenText = new Set();
const seenQuery = new Set();
for (const f of selected) {
  let text;
  try { text = readFileSync(f.path, 'utf8'); } catch { nSkippedFiles++; continue; }
  if (text.length > f.maxChars) { nSkippedFiles++; continue; }
  const h = `${text.length}:${fnv1a(text)}`;
  if (seenText.has(h)) { nDupFiles++; continue; } // identical copies (esm/cjs builds)
  seenText.add(h);
  const mined = f.lang === 'js' ? jsPairs(text) : pythonPairs(text);
  const lineStart = mined.lineStart;
  // JS/TS: one pair per distinct query text over the whole dataset (declaration files repeat their docs).
  const pairs = f.lang !== 'js' ? mined.out : mined.out.filter((p) => { if (seenQuery.has(p.query)) return false; seenQuery.add(p.query); return true; });
  nDupPairs += mined.out.length - pairs.length;
  if (pairs.length === 0) continue;
  // Cut points (line indices) at def lines and docstring boundaries.
  const cuts = new Set([0]);
  for (const p of pairs) { cuts.add(p.defLine); cuts.add(p.docStartLine); cuts.add(p.docEndLine + 1); }
  const cutLines = [...cuts].sort((a, b) => a - b);
  const tokAtLine = new Map();
  const parts = [];
  let n = 0;
  for (let i = 0; i < cutLines.length; i++) {
    const a = Math.min(lineStart[cutLines[i]], text.length);
    const b = i + 1 < cutLines.length ? Math.min(lineStart[cutLines[i + 1]], text.length) : text.length;
    tokAtLine.set(cutLines[i], n);
    if (b > a) { const ids = encode(text.slice(a, b)); parts.push(ids); n += ids.length; }
  }
  const fileIdx = fileRecs.length;
  const split = fnv1a(f.rel) % 10 === 0 ? 'val' : 'train';
  fileRecs.push({ corpus: f.corpus, lang: f.lang, path: f.path, tokOffset: tokTotal, tokLen: n, split, nPairs: pairs.length });
  for (const ids of parts) tokenChunks.push(Int32Array.from(ids));
  tokTotal += n;
  for (const p of pairs) {
    const remStart = tokAtLine.get(p.docStartLine);
    const remEnd = tokAtLine.get(p.docEndLine + 1) ?? n;
    const defTok = tokAtLine.get(p.defLine);
    const q = encode(p.query).slice(0, 32);
    if (q.length === 0 || remEnd <= remStart) continue;
    const kind = f.lang === 'js' ? 2 : p.comment ? 1 : p.isClass ? 3 : 0;
    pairRows.push([fileIdx, remStart, remEnd, defTok, qTotal, q.length, p.docBodyLines, kind]);
    queryChunks.push(Int32Array.from(q));
    qTotal += q.length;
  }
}

function concat(chunks, total) {
  const a = new Int32Array(total);
  let o = 0;
  for (const c of chunks) { a.set(c, o); o += c.length; }
  return a;
}
mkdirSync(outDir, { recursive: true });
const tokens = concat(tokenChunks, tokTotal);
const queries = concat(queryChunks, qTotal);
const pairsArr = new Int32Array(pairRows.length * 8);
pairRows.forEach((r, i) => pairsArr.set(r, i * 8));
writeFileSync(join(outDir, 'tokens.i32'), Buffer.from(tokens.buffer));
writeFileSync(join(outDir, 'queries.i32'), Buffer.from(queries.buffer));
writeFileSync(join(outDir, 'pairs.i32'), Buffer.from(pairsArr.buffer));
const nVal = pairRows.filter((r) => fileRecs[r[0]].split === 'val').length;
const header = {
  version: 2,
  tokenizer: 'o200k_base (gpt-tokenizer)',
  blockTokens: 32,
  groupBlocks: 32,
  pairColumns: ['fileIdx', 'remStart', 'remEnd', 'defTok', 'qOffset', 'qLen', 'docBodyLines', 'kind'],
  pairKinds: ['python def docstring', 'python comment', 'jsdoc', 'python class docstring'],
  smoke,
  nFiles: fileRecs.length,
  nCandidateFiles: files.length,
  nSkippedFiles,
  nDupFiles,
  nDupPairs,
  corpora: Object.fromEntries(manifest.corpora.map((c) => [c.id, {
    files: fileRecs.filter((r) => r.corpus === c.id).length,
    tokens: fileRecs.filter((r) => r.corpus === c.id).reduce((a, r) => a + r.tokLen, 0),
    pairs: pairRows.filter((r) => fileRecs[r[0]].corpus === c.id).length,
    valPairs: pairRows.filter((r) => fileRecs[r[0]].corpus === c.id && fileRecs[r[0]].split === 'val').length,
  }])),
  nTokens: tokTotal,
  nPairs: pairRows.length,
  nValPairs: nVal,
  nQueryTokens: qTotal,
  files: fileRecs,
};
writeFileSync(join(outDir, 'header.json'), JSON.stringify(header));
const idSet = [...new Set([...tokens, ...queries])].sort((a, b) => a - b);
const keyOf = (id) => { let t; try { t = decode([id]); } catch { t = ''; } const k = t.toLowerCase().replace(/^[\s_\W]+|[\s_\W]+$/g, ''); return k === '' ? t : k; };
writeFileSync(join(outDir, 'keys.json'), JSON.stringify({ ids: idSet, keys: idSet.map(keyOf) }));
console.log(`gist-data: ${fileRecs.length} files (${files.length} candidates), ${tokTotal} tokens, ` +
  `${pairRows.length} pairs (${nVal} held-out), ${((Date.now() - t0) / 1000).toFixed(1)} s -> ${outDir}`);
