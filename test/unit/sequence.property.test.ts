// Random command sequences (issue #7, Reliability), model-based with fast-check: files ingested, edited
// and deleted, chat appended, ranges pinned, capped (collapsed by the user) and released, the store
// saved and reopened, and focuses with random queries, budgets (too small ones included) and both scorers.
// After every focus every invariant of DESIGN.md holds; at the end the incrementally maintained tree
// equals a fresh ingest of the same final texts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { GROUP_BLOCKS } from '../../src/core/constants';
import { FocusEngine, type ScorerKind, type WorkingContext } from '../../src/core/engine';
import { BudgetTooSmallError, type Hold } from '../../src/core/focus';
import { openTree, saveTree } from '../../src/core/indexer';
import { checkWorkingContext } from '../../src/core/invariants';
import { countPromptTokens } from '../../src/core/tokenizer';
import { Tree } from '../../src/core/tree';
import { syntheticSource } from './support/corpus';
import { FakeRuntime } from './support/fakeRuntime';
import { checkFocusJson, type FocusJson } from './support/jsonInvariants';
import { fingerprint } from './support/storeFingerprint';

interface DocModel { text: string; kind: 'file' | 'chat' }
interface Model {
  docs: Map<string, DocModel>;
  pins: Hold[];
  caps: Hold[];
  focuses: number;
  tooSmall: number;
  reopens: number;
}
interface Real { tree: Tree; storeDir: string }
type Cmd = fc.AsyncCommand<Model, Real>;

const FILES = ['/p/a.py', '/p/b.py', '/p/c.md', '/p/d.py'];
const CHATS = ['chat:s1', 'chat:s2'];
const QUERIES = ['budget focus render', 'gist_3 tree lens', 'zebra_okapi marker', 'alpha beta gamma delta', 'nothing matches qqq', ''];
const INSERTS = ['def zebra_okapi():\n    return marker\n', '\n', 'x', '# a comment line\n', 'é🙂 unicode\n', ''];

const ingestOne = (tree: Tree, id: string, d: DocModel) =>
  tree.ingest([{ id, text: d.text, kind: d.kind, appending: d.kind === 'chat', mtimeMs: 1 }]);

class IngestFile implements Cmd {
  constructor(readonly file: number, readonly seed: number, readonly lines: number) {}
  check = () => true;
  async run(m: Model, r: Real) {
    const id = FILES[this.file];
    const d: DocModel = { text: syntheticSource(this.seed, this.lines), kind: 'file' };
    m.docs.set(id, d);
    await ingestOne(r.tree, id, d);
  }
  toString = () => `ingest(${FILES[this.file]}, ${this.seed}, ${this.lines})`;
}

class EditFile implements Cmd {
  constructor(readonly file: number, readonly at: number, readonly del: number, readonly insert: string) {}
  check = (m: Readonly<Model>) => m.docs.has(FILES[this.file]);
  async run(m: Model, r: Real) {
    const id = FILES[this.file];
    const t = m.docs.get(id)!.text;
    const pos = Math.floor(this.at * t.length);
    const d: DocModel = { text: t.slice(0, pos) + this.insert + t.slice(pos + this.del), kind: 'file' };
    m.docs.set(id, d);
    await ingestOne(r.tree, id, d);
  }
  toString = () => `edit(${FILES[this.file]}, at ${this.at.toFixed(2)}, -${this.del}, +${JSON.stringify(this.insert)})`;
}

class DeleteFile implements Cmd {
  constructor(readonly file: number) {}
  check = (m: Readonly<Model>) => m.docs.has(FILES[this.file]);
  async run(m: Model, r: Real) {
    m.docs.delete(FILES[this.file]);
    assert.ok(r.tree.remove(FILES[this.file]));
  }
  toString = () => `delete(${FILES[this.file]})`;
}

class AppendChat implements Cmd {
  constructor(readonly chat: number, readonly seed: number, readonly lines: number) {}
  check = () => true;
  async run(m: Model, r: Real) {
    const id = CHATS[this.chat];
    const d: DocModel = { text: (m.docs.get(id)?.text ?? '') + `user: turn ${this.seed}\n` + syntheticSource(this.seed, this.lines), kind: 'chat' };
    m.docs.set(id, d);
    await ingestOne(r.tree, id, d);
  }
  toString = () => `append(${CHATS[this.chat]}, ${this.seed}, ${this.lines})`;
}

/** Pins or caps a token range of an existing document, chosen by fractions of its length. */
class AddRange implements Cmd {
  constructor(readonly which: 'pins' | 'caps', readonly doc: number, readonly from: number, readonly len: number) {}
  check = (m: Readonly<Model>) => m.docs.size > 0 && m[this.which].length < 4;
  async run(m: Model, r: Real) {
    const ids = [...m.docs.keys()].sort();
    const id = ids[this.doc % ids.length];
    const n = r.tree.documents.get(id)!.tokenCount;
    const start = Math.floor(this.from * n);
    m[this.which].push({ docId: id, start, end: Math.min(n, start + this.len) });
  }
  toString = () => `${this.which === 'pins' ? 'pin' : 'cap'}(doc ${this.doc}, ${this.from.toFixed(2)}, ${this.len})`;
}

class RemoveRange implements Cmd {
  constructor(readonly which: 'pins' | 'caps', readonly k: number) {}
  check = (m: Readonly<Model>) => m[this.which].length > 0;
  async run(m: Model) {
    m[this.which].splice(this.k % m[this.which].length, 1);
  }
  toString = () => `${this.which === 'pins' ? 'unpin' : 'uncap'}(${this.k})`;
}

class Reopen implements Cmd {
  check = () => true;
  async run(m: Model, r: Real) {
    await saveTree(r.tree, r.storeDir);
    const opened = await openTree(new FakeRuntime(16), r.storeDir);
    assert.equal(opened.store, `loaded ${m.docs.size} documents`);
    r.tree = opened.tree;
    m.reopens++;
  }
  toString = () => 'save+reopen';
}

function focusJson(wc: WorkingContext): FocusJson {
  return {
    id: 'q', query: wc.query, budget: wc.budget, usedTokens: wc.rendered.tokens, prompt: wc.rendered.prompt,
    documents: wc.perDoc.map((es) => ({ path: es[0].doc.id, tokens: es[0].doc.tokenCount, chars: es[0].doc.textLength })),
    entries: wc.perDoc.flat().map((e) => {
      const [charStart, charEnd] = e.lod === 3 ? [0, e.doc.textLength] : e.doc.charRange(e.start, e.end);
      return { path: e.doc.id, lod: e.lod, start: e.start, end: e.end, charStart, charEnd, cost: 0, score: e.score };
    }),
    telemetry: {}, timings: {},
  };
}

/** Every invariant of DESIGN.md, plus pins, caps and the rest of the contract, on one working context. */
function checkFocus(m: Readonly<Model>, tree: Tree, wc: WorkingContext, budget: number): void {
  assert.deepEqual(checkWorkingContext(wc.perDoc, wc.rendered, budget), []);
  assert.deepEqual(checkFocusJson(focusJson(wc), (p) => m.docs.get(p)!.text), []);
  assert.equal(wc.telemetry.coldRebuilds, 0, 'no cold rebuild');
  assert.ok(wc.rendered.tokens <= budget);
  assert.equal(countPromptTokens(wc.rendered.prompt), wc.rendered.tokens);
  assert.deepEqual(wc.perDoc.map((es) => es[0].doc.id).sort(), [...m.docs.keys()].sort(), 'every document is listed');
  for (const es of wc.perDoc) assert.equal(es[0].doc.text, m.docs.get(es[0].doc.id)!.text);
  const byId = new Map(wc.perDoc.map((es) => [es[0].doc.id, es]));
  // Pins: every block of a pinned range is exact, always. The cold start never collapses a document that
  // holds a pin; when the pins and the rest of the map cannot fit, focus fails with BudgetTooSmallError.
  for (const p of m.pins) {
    const es = byId.get(p.docId);
    const doc = tree.documents.get(p.docId);
    if (!es || !doc) continue;
    const end = Math.min(doc.tokenCount, p.end);
    for (let b = doc.blockAtToken(p.start); b < doc.nBlocks && doc.blockTok[b] < end; b++) {
      assert.ok(es.some((e) => e.lod === 0 && e.index === b), `pinned block ${b} of ${p.docId} is not at LOD0`);
    }
  }
  // Caps: inside a capped range of a file nothing is finer than LOD2, except in a group a pin opened.
  for (const c of m.caps) {
    const es = byId.get(c.docId);
    if (!es || es[0].doc.kind !== 'file') continue;
    for (const e of es) {
      if (e.lod >= 2 || e.end <= c.start || c.end <= e.start) continue;
      const [g0, g1] = e.doc.span(2, Math.floor(e.index / GROUP_BLOCKS));
      const opened = m.pins.some((p) => p.docId === c.docId && p.start < g1 && g0 < p.end);
      assert.ok(opened, `${c.docId}: LOD${e.lod} entry [${e.start},${e.end}) inside cap [${c.start},${c.end})`);
    }
  }
}

class Focus implements Cmd {
  constructor(readonly query: string, readonly budget: number, readonly scorer: ScorerKind) {}
  check = () => true;
  async run(m: Model, r: Real) {
    m.focuses++;
    const engine = new FocusEngine(r.tree, r.tree.runtime);
    let wc: WorkingContext;
    try {
      wc = await engine.focus({ query: this.query, budget: this.budget, holds: m.pins, caps: m.caps, scorer: this.scorer, onViolation: (v) => assert.fail(`violation: ${JSON.stringify(v)}`) });
    } catch (err) {
      assert.ok(err instanceof BudgetTooSmallError, `only BudgetTooSmallError may end a focus: ${String(err)}`);
      assert.ok(err.needed > this.budget && err.budget === this.budget);
      m.tooSmall++;
      return;
    }
    checkFocus(m, r.tree, wc, this.budget);
  }
  toString = () => `focus(${JSON.stringify(this.query)}, ${this.budget}, ${this.scorer})`;
}

const commands = [
  fc.tuple(fc.integer({ min: 0, max: FILES.length - 1 }), fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 500 })).map(([f, s, l]) => new IngestFile(f, s, l)),
  fc.tuple(fc.integer({ min: 0, max: FILES.length - 1 }), fc.double({ min: 0, max: 1, noNaN: true }), fc.integer({ min: 0, max: 400 }), fc.constantFrom(...INSERTS)).map(([f, a, d, i]) => new EditFile(f, a, d, i)),
  fc.integer({ min: 0, max: FILES.length - 1 }).map((f) => new DeleteFile(f)),
  fc.tuple(fc.integer({ min: 0, max: CHATS.length - 1 }), fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 60 })).map(([c, s, l]) => new AppendChat(c, s, l)),
  fc.tuple(fc.constantFrom<'pins' | 'caps'>('pins', 'caps'), fc.nat(), fc.double({ min: 0, max: 1, noNaN: true }), fc.integer({ min: 1, max: 1500 })).map(([w, d, f, l]) => new AddRange(w, d, f, l)),
  fc.tuple(fc.constantFrom<'pins' | 'caps'>('pins', 'caps'), fc.nat()).map(([w, k]) => new RemoveRange(w, k)),
  fc.constant(new Reopen()),
  fc.tuple(fc.constantFrom(...QUERIES), fc.oneof(fc.integer({ min: 30, max: 600 }), fc.integer({ min: 600, max: 9000 })), fc.constantFrom<ScorerKind>('lens', 'lexical')).map(([q, b, s]) => new Focus(q, b, s)),
  fc.tuple(fc.constantFrom(...QUERIES), fc.integer({ min: 1500, max: 9000 }), fc.constantFrom<ScorerKind>('lens', 'lexical')).map(([q, b, s]) => new Focus(q, b, s)),
];

test('random sequences of edits, appends, pins, caps, reopens and focuses keep every invariant (fast-check, model-based)', { timeout: 120_000 }, async () => {
  const t0 = performance.now();
  const totals = { runs: 0, focuses: 0, tooSmall: 0, reopens: 0 };
  await fc.assert(
    fc.asyncProperty(fc.commands(commands, { maxCommands: 40, size: 'large' }), async (cmds) => {
      const model: Model = { docs: new Map(), pins: [], caps: [], focuses: 0, tooSmall: 0, reopens: 0 };
      const real: Real = { tree: new Tree(new FakeRuntime(16)), storeDir: mkdtempSync(path.join(os.tmpdir(), 'mgc-seq-')) };
      await fc.asyncModelRun(() => ({ model, real }), cmds);
      totals.runs++;
      totals.focuses += model.focuses;
      totals.tooSmall += model.tooSmall;
      totals.reopens += model.reopens;

      // The incremental tree equals a fresh ingest of the same final texts.
      const fresh = new Tree(new FakeRuntime(16));
      for (const [id, d] of model.docs) await ingestOne(fresh, id, d);
      assert.deepEqual([...real.tree.documents.keys()].sort(), [...fresh.documents.keys()].sort());
      for (const [id, want] of fresh.documents) {
        const got = real.tree.documents.get(id)!;
        assert.equal(got.text, want.text, id);
        assert.deepEqual(got.tokens, want.tokens, `${id} tokens`);
        assert.deepEqual(got.blockChar, want.blockChar, `${id} blocks`);
        assert.deepEqual([got.nLod1, got.nLod2, got.appending], [want.nLod1, want.nLod2, want.appending], `${id} nodes`);
        assert.equal(got.contentHash, want.contentHash);
        // Gists and salience bit for bit (in memory as in the store, so a reopened tree must match too).
        assert.deepEqual(fingerprint([got.toStored()]), fingerprint([want.toStored()]), `${id} gists and salience`);
      }
    }),
    { numRuns: 80 },
  );
  console.log(`sequence property: ${totals.runs} runs, ${totals.reopens} store reopens, ${totals.focuses} focuses (${totals.tooSmall} BudgetTooSmallError), ` +
    `${((performance.now() - t0) / 1000).toFixed(1)} s`);
  assert.ok(totals.focuses > totals.runs && totals.tooSmall > 0 && totals.tooSmall < totals.focuses, 'the sequences exercised both outcomes');
});

// DESIGN.md invariant 6 (determinism), found by the sequence above: a tree that had rendered a group gist
// rendered its blocks' gists differently from a fresh tree with the same texts, because render.ts cached
// block gist texts by block only, while groupGistText asks for 2 salient tokens per block and a block
// entry for 3. The cache is keyed by both now; this is the shrunk counterexample.
test('the same texts and request give the same prompt whatever was focused before (DESIGN invariant 6)', async () => {
  const text = syntheticSource(0, 13);
  const used = new Tree(new FakeRuntime(16));
  await used.ingest([{ id: '/p/a.py', text, mtimeMs: 1 }]);
  await new FocusEngine(used, used.runtime).focus({ query: 'budget focus render', budget: 1500, holds: [{ docId: '/p/a.py', start: 0, end: 1 }] });
  const fresh = new Tree(new FakeRuntime(16));
  await fresh.ingest([{ id: '/p/a.py', text, mtimeMs: 1 }]);
  const req = { query: 'zebra_okapi marker budget', budget: 6000 };
  const a = await new FocusEngine(used, used.runtime).focus(req);
  const b = await new FocusEngine(fresh, fresh.runtime).focus(req);
  assert.equal(a.rendered.prompt, b.rendered.prompt);
});
