import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderConversation } from '../../src/eval/locomo';
import { bm25Rank, ChunkIndex, coveredShare, fileChunks, lineChunks, packByRank, recency } from '../../src/eval/baselines';
import { BASELINES, BM25_FILES, formatNamedTable, lazyIndexes, locomoHaystack, mapNamesUnit, megacontext, runSuite, shownEnough, wholeFunctions, WHOLE_FUNCTION_LINES, type Haystack, type SuiteResult } from '../../src/eval/harness';
import { mineCodeQueries } from '../../src/eval/codeQueries';
import { formatCeiling, locomoCeiling, sharedContentTerms } from '../../src/eval/ceiling';
import { countPromptTokens } from '../../src/core/tokenizer';
import { FakeRuntime } from './support/fakeRuntime';
import { syntheticSource } from './support/corpus';

const RAW = {
  conversation: {
    speaker_a: 'Ann',
    speaker_b: 'Bo',
    session_1_date_time: '1:56 pm on 8 May, 2023',
    session_1: [
      { speaker: 'Ann', dia_id: 'D1:1', text: 'Hi Bo!' },
      { speaker: 'Bo', dia_id: 'D1:2', text: 'Look at my dog.', blip_caption: 'a photo of a beagle' },
    ],
    session_2_date_time: '2:00 pm on 9 May, 2023',
    session_2: [{ speaker: 'Ann', dia_id: 'D2:1', text: 'I adopted a cat named Miso.' }],
  },
  qa: [
    { question: 'What pet did Ann adopt?', answer: 'a cat', evidence: ['D2:1'], category: 4 },
    { question: 'Unanswerable?', evidence: ['D1:1'], category: 5 },
    { question: 'Missing evidence?', evidence: ['D9:9'], category: 1 },
  ],
};

test('a LoCoMo conversation renders as the issue specifies, keeping answerable questions', () => {
  const c = renderConversation('x', RAW);
  assert.equal(
    c.text,
    '# Conversation between Ann and Bo\n## Session 1 (1:56 pm on 8 May, 2023)\nD1:1 Ann: Hi Bo!\n' +
      'D1:2 Bo: Look at my dog. [shares an image: a photo of a beagle]\n## Session 2 (2:00 pm on 9 May, 2023)\nD2:1 Ann: I adopted a cat named Miso.\n',
  );
  const [s, e] = c.lines.get('D2:1')!;
  assert.equal(c.text.slice(s, e), 'D2:1 Ann: I adopted a cat named Miso.');
  assert.deepEqual(c.questions.map((q) => q.question), ['What pet did Ann adopt?']);
  assert.equal(c.questions[0].answer, 'a cat');
  assert.equal(c.speakers.get('D1:2'), 'Bo');
});

test('the LoCoMo ceiling counts content words apart from names, and the answer words find a turn the question cannot', async () => {
  assert.deepEqual(sharedContentTerms('What did Ann adopt?', 'D2:1 Ann: I adopted a cat named Miso.', ['Ann', 'Bo']), ['adopt']);
  assert.deepEqual(sharedContentTerms('What does Ann love?', 'D2:1 Ann: Hi Bo!', ['Ann', 'Bo']), []);
  // The question shares no word with its evidence; its answer does. Filler sessions make the budget bind.
  const filler = Array.from({ length: 60 }, (_, i) => ({ speaker: i % 2 ? 'Bo' : 'Ann', dia_id: `D3:${i + 1}`, text: `We talked about the weather and trains, day ${i}, nothing more to say.` }));
  const raw = {
    conversation: { ...RAW.conversation, session_3_date_time: '3:00 pm on 10 May, 2023', session_3: filler },
    qa: [{ question: 'Which animal joined the household?', answer: 'cat Miso', evidence: ['D2:1'], category: 1 }],
  };
  const c = renderConversation('x', raw);
  const [row] = await locomoCeiling([c], new FakeRuntime(16), [256]);
  assert.equal(row.n, 1);
  assert.deepEqual(row.byCategory, { 1: { n: 1, plan: row.plan, bm25: row.bm25 } });
  assert.equal(row.plan, 0, 'no word of the question is in the evidence turn');
  assert.equal(row.withAnswer, 1, 'the answer words bring the turn in');
  assert.deepEqual(row.missedTurns, [1, 0, 0]);
  const table = formatCeiling(['x'], [row]);
  assert.match(table, /\| 256 \| 1 \| 0\.0 \/ \d+\.0 \(1\) \| 0\.0 \| \d+\.0 \| 100\.0 \| 1 \/ 0 \/ 0 \|/);
});

test('coverage of a range by picked ranges', () => {
  assert.equal(coveredShare(10, 20, [[0, 15]]), 0.5);
  assert.equal(coveredShare(10, 20, [[12, 14], [13, 30]]), 0.8);
  assert.equal(coveredShare(10, 20, []), 0);
});

test('baselines stay within the budget and BM25 ranks the matching line first', () => {
  const docs = [syntheticSource(1, 200), 'first\nthe zebra quagga line\nlast\n'];
  const lines = lineChunks(docs, 1);
  const order = bm25Rank(lines, 'zebra quagga');
  assert.equal(lines[order[0]].text, 'the zebra quagga line\n');
  for (const w of [50, 300]) {
    const packed = packByRank(lineChunks(docs, 250), order.slice(0, 0).concat(bm25Rank(lineChunks(docs, 250), 'zebra')), ['a', 'b'], w);
    assert.ok(packed.tokens <= w);
    const tail = recency(docs, w);
    assert.ok(tail.reduce((n, c) => n + countPromptTokens(c.text), 0) <= w);
  }
});

test('code queries: the docstring leaves the haystack and the definition line is located', () => {
  const src = 'import os\n\ndef fetch_rows(table, limit=10):\n    """Return up to limit rows from the given table as tuples.\n\n    More.\n    """\n    return []\n';
  const m = mineCodeQueries('/x.py', src);
  assert.equal(m.queries.length, 1);
  assert.equal(m.queries[0].query, 'Return up to limit rows from the given table as tuples.');
  assert.ok(!m.text.includes('Return up to'));
  assert.equal(m.text.slice(m.queries[0].defStart, m.queries[0].defEnd), 'def fetch_rows(table, limit=10):\n');
  const js = 'x();\n  /**\n   * Computes the total price of every line item in the cart.\n   * @param cart the cart\n   */\n  export function totalPrice(cart) {\n    return 0;\n  }\n';
  const j = mineCodeQueries('/x.ts', js);
  assert.equal(j.queries.length, 1);
  assert.equal(j.text.slice(j.queries[0].defStart, j.queries[0].defEnd), '  export function totalPrice(cart) {\n');
  assert.ok(!j.text.includes('Computes'));
});

test('the harness scores methods on one haystack and reports recall in [0, 1]', async () => {
  const text = syntheticSource(3, 300) + 'def zebra_quagga_okapi(x):\n    return x\n' + syntheticSource(4, 300);
  const at = text.indexOf('def zebra_quagga_okapi');
  const h: Haystack = {
    name: 'synthetic',
    docs: [{ id: '/s.py', text }],
    cases: [{ query: 'zebra_quagga_okapi', gold: [{ doc: 0, start: at, end: at + 26, need: 0.9 }], whole: [{ doc: 0, start: at, end: at + 39, need: 1 }] }],
  };
  const res = await runSuite('synthetic', [h], new FakeRuntime(16), [...BASELINES, megacontext('mc-lexical', 'lexical')], [512, 2048]);
  assert.equal(res.length, 2);
  for (const r of res) {
    assert.equal(r.n, 1);
    for (const v of Object.values(r.recall)) assert.ok(v >= 0 && v <= 1);
    assert.equal(r.recall['bm25-lines'], 1, 'the unique line is found by line BM25');
    assert.equal(r.whole['bm25-lines'], 0, 'its second line is not');
    assert.equal(r.recall.recency, 0, 'the evidence is far from the end');
  }
});

test('lineChunks cuts only at line starts, and its chunks put together are the document', () => {
  const long = 'x'.repeat(3000);
  const docs = [syntheticSource(5, 120), `short\n${long}\nafter\n\nlast line without break`];
  const chunks = lineChunks(docs, 50);
  docs.forEach((text, d) => {
    const mine = chunks.filter((c) => c.doc === d);
    assert.equal(mine.map((c) => c.text).join(''), text);
    for (const c of mine) {
      assert.ok(c.start === 0 || text[c.start - 1] === '\n', `chunk at ${c.start} starts a line`);
      assert.equal(c.text, text.slice(c.start, c.end));
    }
  });
  assert.ok(chunks.some((c) => c.text === long + '\n'), 'a line over the target is a chunk of its own, whole');
});

test('bm25-files packs whole files in rank order, each with its header, skipping one that does not fit', async () => {
  const docs = [
    { id: 'big.py', text: 'zebra zebra zebra\n' + syntheticSource(1, 400) },
    { id: 'small.py', text: 'zebra once\n' },
    { id: 'other.py', text: 'nothing here\n' },
  ];
  const p = { h: { name: 'x', docs, cases: [] }, engine: undefined as never, index: lazyIndexes(docs.map((d) => d.text)) };
  const out = await BM25_FILES.run(p, 'zebra', 200);
  assert.deepEqual(out.exact, [[], [[0, docs[1].text.length]], [[0, docs[2].text.length]]], 'the big file is skipped, the others fit whole');
  const ranked = bm25Rank(new ChunkIndex(fileChunks(docs.map((d) => d.text))), 'zebra');
  assert.ok(ranked.indexOf(0) < ranked.indexOf(2), 'the big file ranks above the one without the word');
  const packed = packByRank(fileChunks(docs.map((d) => d.text)), ranked, docs.map((d) => d.id), 200);
  assert.equal(packed.tokens, countPromptTokens('## small.py\n') + countPromptTokens(docs[1].text) + countPromptTokens('## other.py\n') + countPromptTokens(docs[2].text));
});

test('whole functions: the definition line through the end of the body, at most 40 body lines', () => {
  const body = Array.from({ length: 60 }, (_, i) => `    x${i} = ${i}`).join('\n');
  const src = 'def fetch_rows(table, limit=10):\n    """Return up to limit rows from the given table as tuples."""\n    rows = []\n\n    return rows\n\n\ndef long_one(a):\n' + body + '\n\nz = 1\n';
  const m = mineCodeQueries('/x.py', src);
  const whole = wholeFunctions('/x.py', m.text);
  const [s, e] = whole(m.queries[0].defStart);
  assert.equal(m.text.slice(s, e), 'def fetch_rows(table, limit=10):\n    rows = []\n\n    return rows');
  const at = m.text.indexOf('def long_one');
  const [s2, e2] = whole(at);
  assert.equal(m.text.slice(s2, e2).split('\n').length, WHOLE_FUNCTION_LINES + 1);
  assert.ok(m.text.slice(s2, e2).endsWith(`x${WHOLE_FUNCTION_LINES - 1} = ${WHOLE_FUNCTION_LINES - 1}`));
  const js = 'export function totalPrice(cart) {\n  let sum = 0; // }\n  for (const l of cart.lines) {\n    sum += l.price;\n  }\n  return sum;\n}\nconst after = 1;\n';
  const [j0, j1] = wholeFunctions('/x.ts', js)(0);
  assert.equal(js.slice(j0, j1), js.slice(0, js.indexOf('\nconst after')));
});

test('LoCoMo whole turns: half a turn is the earlier criterion, all of it the whole one', () => {
  const h = locomoHaystack(renderConversation('x', RAW));
  const [c] = h.cases;
  const g = c.gold[0];
  const half: [number, number][][] = [[[g.start, g.start + Math.ceil((g.end - g.start) / 2)]]];
  assert.equal(shownEnough(c.gold[0], half), true);
  assert.equal(shownEnough(c.whole[0], half), false);
  assert.equal(shownEnough(c.whole[0], [[[g.start, g.end]]]), true);
});

test('map names: a function counts as named only on a map line of its file with its definition line', () => {
  const mapLines = [
    { docId: 'a.py', startLine: 10, endLine: 40, names: [{ name: 'Context.invoke', line: 12 }, { name: 'other', line: 30 }] },
    { docId: 'b.py', startLine: 1, endLine: 9, names: [{ name: 'invoke', line: 5 }] },
  ];
  assert.equal(mapNamesUnit(mapLines, 'a.py', { line: 12, name: 'invoke' }), true, 'a qualified name\'s last part');
  assert.equal(mapNamesUnit(mapLines, 'a.py', { line: 13, name: 'invoke' }), false, 'another line');
  assert.equal(mapNamesUnit(mapLines, 'a.py', { line: 5, name: 'invoke' }), false, 'another file\'s line');
  assert.equal(mapNamesUnit(mapLines, 'a.py', { line: 30, name: 'oth' }), false, 'a part of a name');
  const row = (suite: string, named: number, notWhole: number): SuiteResult =>
    ({ suite, budget: 2048, n: 10, recall: { 'bm25-chunks': 0.5, mc: 0.5 }, whole: { 'bm25-chunks': 0.4, mc: 0.4 }, ms: {}, named: { mc: named }, notWhole: { mc: notWhole } });
  const table = formatNamedTable([row('code/a', 1, 4), row('code/b', 0, 0), { suite: 'locomo', budget: 2048, n: 3, recall: { mc: 1 }, whole: { mc: 1 }, ms: {} }]);
  assert.match(table, /\| code\/a \| 2048 \| 25\.0 of 4 \|/);
  assert.match(table, /\| code\/b \| 2048 \| – of 0 \|/);
  assert.doesNotMatch(table, /locomo|bm25/, 'only code suites, only methods that draw a map');
  assert.equal(formatNamedTable([{ suite: 'locomo', budget: 2048, n: 3, recall: { mc: 1 }, whole: { mc: 1 }, ms: {} }]), '');
});
