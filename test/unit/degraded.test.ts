// The degraded mode: when the models are missing or corrupt, memory still works on lexical evidence
// alone (src/core/lexicalRuntime.ts), every surface says so, and the learned store is left untouched.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { main } from '../../src/cli/main';
import { FocusEngine } from '../../src/core/engine';
import { checkWorkingContext } from '../../src/core/invariants';
import { LexicalRuntime, tokenSalience } from '../../src/core/lexicalRuntime';
import { blockGistText } from '../../src/core/render';
import { tokenize, tokenText } from '../../src/core/tokenizer';
import { Tree } from '../../src/core/tree';
import { EngineClient } from '../../src/extension/engineClient';
import { syntheticSource } from './support/corpus';

const REPO = join(__dirname, '..', '..', '..');
const MODELS = process.env.MEGACONTEXT_MODELS_DIR ?? join(REPO, 'models');
const HOST = join(REPO, 'dist', 'host.js');

async function lexicalTree(docs: { id: string; text: string }[]): Promise<Tree> {
  const tree = new Tree(new LexicalRuntime('test: no models'));
  await tree.ingest(docs.map((d) => ({ ...d, kind: 'file' as const })));
  return tree;
}

test('lexical-only gists: unit rows, salience favours names and numbers over stop words and punctuation', async () => {
  assert.equal(tokenSalience(' ('), 0);
  assert.ok(tokenSalience(' the') < tokenSalience(' parse_header'));
  assert.ok(tokenSalience(' and') < tokenSalience(' 2024'));
  const rt = new LexicalRuntime('x');
  const ids = tokenize('def parse_header(value): return the value of Content_Type for 2024 and more');
  const tokens = new Int32Array(64);
  const mask = new Float32Array(64);
  ids.forEach((id, k) => { tokens[k] = id; mask[k] = 1; });
  tokens.set(ids.slice(0, 5), 32);
  for (let k = 32; k < 37; k++) mask[k] = 1;
  const { gists, salience } = await rt.gistBlocks(tokens, mask, 2);
  for (let r = 0; r < 2; r++) {
    const norm = Math.hypot(...gists.subarray(r * rt.dim, (r + 1) * rt.dim));
    assert.ok(Math.abs(norm - 1) < 1e-5, `row ${r} has norm ${norm}`);
  }
  for (let k = 37; k < 64; k++) assert.equal(salience[k], 0, 'masked tokens get no salience');
  // Every piece of a split identifier outranks the stop words of the same block.
  const text = Array.from(ids, (id) => tokenText(id));
  const the = text.findIndex((x) => x === ' the');
  let piece = text.findIndex((x) => x.includes('Content'));
  assert.ok(the >= 0 && piece >= 0, text.join('|'));
  do {
    assert.ok(salience[piece] > salience[the], `"${text[piece]}" (${salience[piece]}) vs "the" (${salience[the]})`);
    piece++;
  } while (piece < text.length && /^[\w$]/.test(text[piece]));
  const children = new Float32Array(32 * rt.dim);
  children.set(gists);
  const groups = await rt.gistGroups(children, Float32Array.from({ length: 32 }, (_, c) => (c < 2 ? 1 : 0)), 1);
  assert.ok(Math.abs(Math.hypot(...groups.gists) - 1) < 1e-5);
  assert.ok(groups.salience[0] > 0 && groups.salience[2] === 0);
  await assert.rejects(rt.scoreEntries(), /LensNet is not loaded \(lexical-only mode: x\)/);
});

test('lexical-only focus puts the evidence at LOD0, keeps every invariant, and never calls LensNet', async () => {
  const target = syntheticSource(3, 300) + 'def quagga_checksum(payload):\n    return crc_of(payload)\n' + syntheticSource(4, 300);
  const tree = await lexicalTree([
    { id: '/w/a.py', text: syntheticSource(1, 400) },
    { id: '/w/b.py', text: target },
    { id: '/w/c.py', text: syntheticSource(2, 400) },
  ]);
  const engine = new FocusEngine(tree, tree.runtime);
  // 'lens' is asked for, as the extension does; a runtime without LensNet must fall back, not throw.
  const wc = await engine.focus({ query: 'where is the quagga checksum computed?', budget: 2048, scorer: 'lens' });
  assert.deepEqual(checkWorkingContext(wc.perDoc, wc.rendered, 2048), []);
  assert.ok(wc.rendered.tokens <= 2048);
  const run = wc.rendered.exactRuns.find((r) => r.doc.id === '/w/b.py');
  assert.ok(run && run.doc.text.slice(run.charStart, run.charEnd).includes('def quagga_checksum'), 'the evidence is at LOD0');
  const b = tree.documents.get('/w/b.py')!;
  const at = b.text.indexOf('quagga_checksum');
  let block = 0;
  while (block + 1 < b.nBlocks && b.blockChar[block + 1] <= at) block++;
  const gist = blockGistText(b, block);
  assert.match(gist, /^[\p{L}\p{N}_ …]+$/u, `the block's gist line is words: "${gist}"`);
});

function capture(): Writable & { text: () => string } {
  const chunks: string[] = [];
  const w = new Writable({ write(c, _e, cb) { chunks.push(String(c)); cb(); } }) as Writable & { text: () => string };
  w.text = () => chunks.join('');
  return w;
}

function workspace(): string {
  const dir = mkdtempSync(join(tmpdir(), 'mc-degraded-'));
  writeFileSync(join(dir, 'a.py'), syntheticSource(5, 200));
  writeFileSync(join(dir, 'b.py'), syntheticSource(6, 150) + 'def okapi_ledger_balance(rows):\n    return sum(rows)\n' + syntheticSource(7, 150));
  return dir;
}

/** A copy of the models with LensNet's bytes changed: the manifest's hash no longer matches. */
function corruptModels(): string {
  const dir = mkdtempSync(join(tmpdir(), 'mc-models-corrupt-'));
  for (const f of readdirSync(MODELS)) if (statSync(join(MODELS, f)).isFile()) copyFileSync(join(MODELS, f), join(dir, f));
  const lens = join(dir, 'lensnet.onnx');
  const bytes = readFileSync(lens);
  bytes[Math.floor(bytes.length / 2)] ^= 0xff;
  writeFileSync(lens, bytes);
  return dir;
}

test('CLI: missing models give a one-line warning and a lexical-only answer, in a store of its own', async () => {
  const dir = workspace();
  const store = mkdtempSync(join(tmpdir(), 'mc-degraded-store-'));
  const out = capture();
  const err = capture();
  const code = await main(['focus', dir, '--query', 'okapi ledger balance', '--budget', '1024', '--json', '--store', store, '--models', join(dir, 'no-models')], out, err);
  assert.equal(code, 0, err.text());
  const warning = err.text().trim().split('\n');
  assert.equal(warning.length, 1, err.text());
  assert.match(warning[0], /^megacontext: warning: models not found: .*; running in lexical-only mode/);
  const json = JSON.parse(out.text()) as { lexicalOnly?: string; entries: { path: string; lod: number; charStart: number; charEnd: number }[] };
  assert.match(json.lexicalOnly ?? '', /models not found/);
  const text = readFileSync(join(dir, 'b.py'), 'utf8');
  const at = text.indexOf('def okapi_ledger_balance');
  assert.ok(json.entries.some((e) => e.path.endsWith('b.py') && e.lod === 0 && e.charStart <= at && e.charEnd > at), 'the definition is exact');
  assert.ok(existsSync(join(store, 'lexical-only', 'tree.mgc')), 'the lexical tree is stored in its own folder');
  assert.ok(!existsSync(join(store, 'tree.mgc')), 'the learned store is not written by the lexical mode');
});

test('engine host: missing or corrupt models degrade to lexical-only, labelled in status and in every focus result', async () => {
  assert.ok(existsSync(HOST), 'dist/host.js is missing: run npm run build');
  for (const [label, modelsDir, reason] of [
    ['missing', join(tmpdir(), 'mc-no-such-models'), /models not found/],
    ['corrupt', corruptModels(), /do not match models\.json/],
  ] as const) {
    const dir = workspace();
    const store = mkdtempSync(join(tmpdir(), 'mc-degraded-host-'));
    // A learned store already there must survive the degraded session untouched.
    mkdirSync(store, { recursive: true });
    writeFileSync(join(store, 'tree.mgc'), 'learned store stand-in');
    const client = new EngineClient({ hostPath: HOST, env: { MEGACONTEXT_STORE_DIR: store, MEGACONTEXT_MODELS_DIR: modelsDir } });
    try {
      const indexed = await client.request('index', { roots: [dir] });
      assert.equal(indexed.files, 2, label);
      const focus = await client.request('focus', { query: 'okapi ledger balance', budget: 1024 });
      assert.match(focus.lexicalOnly ?? '', reason, `${label}: the focus result says why it is lexical-only`);
      assert.equal(focus.snapshot.lexicalOnly, focus.lexicalOnly, `${label}: the viewer snapshot carries the label`);
      assert.equal(focus.scorer, 'lexical', `${label}: LensNet was asked for (the default) but the plan scored`);
      assert.ok(focus.entries.some((e) => e.path.endsWith('b.py') && e.lod === 0), `${label}: the evidence is exact`);
      const status = await client.request('status', {});
      assert.equal(status.degraded, true, label);
      assert.match(status.degradedReason ?? '', reason, label);
      assert.equal(status.tokens > 0, true, label);
      await client.request('flush', {});
      assert.ok(existsSync(join(store, 'lexical-only', 'tree.mgc')), `${label}: lexical tree stored in its own folder`);
      assert.equal(readFileSync(join(store, 'tree.mgc'), 'utf8'), 'learned store stand-in', `${label}: learned store untouched`);
    } finally {
      client.dispose();
    }
  }
  // The control: with the real models, the same request is not labelled.
  const client = new EngineClient({ hostPath: HOST, env: { MEGACONTEXT_STORE_DIR: mkdtempSync(join(tmpdir(), 'mc-ok-host-')), MEGACONTEXT_MODELS_DIR: MODELS } });
  try {
    await client.request('index', { roots: [workspace()] });
    const focus = await client.request('focus', { query: 'okapi ledger balance', budget: 1024 });
    assert.equal(focus.lexicalOnly, undefined);
    assert.equal((await client.request('status', {})).degraded, false);
  } finally {
    client.dispose();
  }
});
