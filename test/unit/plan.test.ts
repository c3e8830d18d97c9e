import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FocusEngine } from '../../src/core/engine';
import { checkWorkingContext } from '../../src/core/invariants';
import { BudgetTooSmallError, FocusAllocator, DEFAULT_FOCUS } from '../../src/core/focus';
import { bestValues, blockValues, DEFAULT_PLAN, isSupportFile, kthSmallest, planFocus, type Plan } from '../../src/core/plan';
import type { TreeDocument } from '../../src/core/tree';
import { blockGistText, groupGistText, groupUnits, queryUnits, renderWorkingContext, rootLine, shownBlockGist } from '../../src/core/render';
import { outline } from '../../src/core/outline';
import { CostModel } from '../../src/core/cost';
import { makeEntry } from '../../src/core/entry';
import { QueryEvidence } from '../../src/core/features';
import { CODE_SPAN_WEIGHT, queryTerms, scoreBlocks, scoreRanges } from '../../src/core/lexical';
import { sectionRanges } from '../../src/core/structure';
import { syntheticSource, treeOf } from './support/corpus';

test('the lexical plan (scorer lexical) keeps every invariant for random documents, queries, budgets and block words (property)', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.record({ seed: fc.integer({ min: 0, max: 50 }), lines: fc.integer({ min: 0, max: 400 }), appending: fc.boolean() }), { minLength: 1, maxLength: 5 }),
      fc.constantFrom('alpha beta', 'render_7 focus', 'gist tree lens', 'nothing matches qqq', ''),
      fc.integer({ min: 300, max: 6000 }),
      fc.constantFrom(1, 2, 3),
      fc.record({ alpha: fc.constantFrom(0, 0.5, 1), lineSpread: fc.constantFrom(0, 0.9) }),
      async (specs, query, budget, blockWords, plan) => {
        const docs = specs.map((s, i) => ({ id: `/p/d${i}.py`, text: syntheticSource(s.seed, s.lines), appending: s.appending }));
        const tree = await treeOf(docs);
        const engine = new FocusEngine(tree, tree.runtime);
        try {
          const wc = await engine.focus({ query, budget, scorer: 'lexical', blockWords, plan });
          assert.deepEqual(checkWorkingContext(wc.perDoc, wc.rendered, budget), []);
          assert.equal(wc.telemetry.coldRebuilds, 0);
          const again = await engine.focus({ query, budget, scorer: 'lexical', blockWords, plan });
          assert.equal(again.rendered.prompt, wc.rendered.prompt, 'deterministic');
        } catch (err) {
          if (!(err instanceof BudgetTooSmallError)) throw err;
        }
      },
    ),
    { numRuns: 40 },
  );
});

test('the plan shows the evidence exactly and fits the budget it planned for', async () => {
  const docs = [
    { id: '/w/a.py', text: syntheticSource(1, 900) },
    { id: '/w/b.py', text: syntheticSource(2, 600) + 'def needle_function(haystack):\n    return unique_marker_zebra\n' + syntheticSource(3, 600) },
  ];
  const tree = await treeOf(docs);
  const engine = new FocusEngine(tree, tree.runtime);
  for (const budget of [1024, 2048]) {
    const wc = await engine.focus({ query: 'needle_function unique_marker_zebra', budget, scorer: 'lexical' });
    assert.deepEqual(checkWorkingContext(wc.perDoc, wc.rendered, budget), []);
    const run = wc.rendered.exactRuns.find((r) => r.doc.id === '/w/b.py');
    assert.ok(run && run.doc.text.slice(run.charStart, run.charEnd).includes('return unique_marker_zebra'), `evidence exact at ${budget}`);
  }
  // planFocus on its own: what it plans stays under the budget by the allocator's own estimate.
  const cm = new CostModel((d) => d.id);
  const ordered = [...tree.documents.values()].sort((x, y) => (x.id < y.id ? -1 : 1));
  const alloc = new FocusAllocator(ordered, { ...DEFAULT_FOCUS, budget: 1500 }, cm);
  const ev = new QueryEvidence(tree, 'alpha render budget');
  const plan = planFocus(alloc.state, alloc.usedTokens, 1500, cm, (d) => ev.of(d).block);
  assert.ok(plan.picks > 0);
  assert.ok(plan.used <= 1500, `planned ${plan.used}`);
});

test('when the map alone fills the budget, the plan folds the documents without evidence to their root line', async () => {
  const docs = Array.from({ length: 16 }, (_, i) => ({ id: `/m/f${i}.py`, text: syntheticSource(i, 700) }));
  docs[5].text += 'def zebra_quagga_okapi():\n    return okapi_zebra\n';
  const tree = await treeOf(docs);
  const engine = new FocusEngine(tree, tree.runtime);
  const wc = await engine.focus({ query: 'zebra quagga okapi', budget: 900, scorer: 'lexical' });
  assert.deepEqual(checkWorkingContext(wc.perDoc, wc.rendered, 900), []);
  assert.ok(wc.rendered.exactRuns.some((r) => r.doc.id === '/m/f5.py' && r.doc.text.slice(r.charStart, r.charEnd).includes('zebra_quagga_okapi')));
  assert.ok(wc.perDoc.filter((es) => es.length === 1 && es[0].lod === 3).length >= 4, 'other documents folded to their root');
});

test('block gist lines show the requested number of words and are costed per word count', async () => {
  const tree = await treeOf([{ id: '/a.py', text: syntheticSource(4, 400) }]);
  const doc = tree.documents.get('/a.py')!;
  const e = makeEntry(doc, 1, 4); // a landmark block (every 4th shows its words)
  const three = new CostModel((d) => d.id, 3).entryCost(e);
  const one = new CostModel((d) => d.id, 1).entryCost(e);
  assert.ok(one < three, `1 word ${one} < 3 words ${three}`);
  // The cache is per word count: asking again for 3 words still gives the 3-word cost.
  assert.equal(new CostModel((d) => d.id, 3).entryCost(e), three);
  const state = [[makeEntry(doc, 2, 0), ...Array.from({ length: doc.nLod1 - 32 }, (_, k) => makeEntry(doc, 1, 32 + k))]];
  const r1 = renderWorkingContext(state, { displayPath: (d) => d.id, blockWords: 1 });
  const r3 = renderWorkingContext(state, { displayPath: (d) => d.id, blockWords: 3 });
  assert.ok(r1.tokens < r3.tokens);
  const line = r1.prompt.split('\n').find((l) => l.startsWith('~'))!;
  for (const part of line.replace(/^~ L\d+-\d+: /, '').split(' | ')) assert.ok(!part.includes(' … '), part);
});

test('in text without units, block gist lines show whole words of every 4th block only, cost nothing for the others, and cover every block', async () => {
  // Prose without headings (a .txt file): no unit names, so the map falls back to salient words.
  const prose = syntheticSource(4, 400).replace(/^def /gm, 'note ').replace(/[():=+,]/g, ' ');
  const tree = await treeOf([{ id: '/a.txt', text: prose }]);
  const doc = tree.documents.get('/a.txt')!;
  const model = new CostModel((d) => d.id);
  assert.equal(model.entryCost(makeEntry(doc, 1, 3)), 0);
  assert.ok(model.entryCost(makeEntry(doc, 1, 4)) > 0);
  assert.ok(new CostModel((d) => d.id, 1, 1, 1).entryCost(makeEntry(doc, 1, 3)) > 0, 'stride 1: every block shows a word');
  assert.equal(shownBlockGist(doc, 5, 1), '');
  assert.equal(shownBlockGist(doc, 8, 1), blockGistText(doc, 8, 1));
  // Blocks 32.. at LOD1 after an exact block: one `~` line whose range covers them all, landmark words only.
  const lod1 = Array.from({ length: doc.nLod1 - 33 }, (_, k) => makeEntry(doc, 1, 33 + k));
  const state = [[makeEntry(doc, 2, 0), makeEntry(doc, 0, 32), ...lod1]];
  const r4 = renderWorkingContext(state, { displayPath: (d) => d.id });
  const r1 = renderWorkingContext(state, { displayPath: (d) => d.id, blockStride: 1 });
  const line = r4.prompt.split('\n').find((l) => l.startsWith('~'))!;
  const landmarks = lod1.filter((e) => e.index % 4 === 0).map((e) => blockGistText(doc, e.index, 1)).filter((t) => t !== '');
  assert.equal(line.replace(/^~ L\d+-\d+: /, ''), landmarks.join(' | '));
  // Every word is a whole word of its block.
  for (const e of lod1.filter((x) => x.index % 4 === 0)) {
    const text = doc.blockText(e.index);
    for (const w of blockGistText(doc, e.index, 3).split(' … ').filter(Boolean)) assert.match(text, new RegExp(`(?<![\\w$])${w}(?![\\w$])`), `${w} is a whole word of block ${e.index}`);
  }
  const range = (p: string) => /\n(~ L\d+-\d+)/.exec(p)![1];
  assert.equal(range(r4.prompt), range(r1.prompt), 'the range covers every block of the run, as with every block shown');
  assert.ok(r4.tokens < r1.tokens - 2 * landmarks.length, `${r4.tokens} vs ${r1.tokens}`);
  // Estimates stay at or above the rendering, also for a run without a landmark (an elision line `⋮ La-b`: block 33).
  const noLandmark = [[makeEntry(doc, 2, 0), makeEntry(doc, 0, 32), makeEntry(doc, 1, 33), ...Array.from({ length: 30 }, (_, k) => makeEntry(doc, 0, 34 + k)), ...lod1.slice(31)]];
  const rn = renderWorkingContext(noLandmark, { displayPath: (d) => d.id });
  assert.match(rn.prompt, /\n⋮ L\d+-\d+\n/, 'a run without a landmark is its range alone');
  for (const [st, r] of [[state, r4], [noLandmark, rn]] as const) {
    const estimate = model.preamble + model.documentCost(st[0]);
    assert.ok(estimate >= r.tokens && estimate <= r.tokens + 4, `estimate ${estimate} vs rendered ${r.tokens}`);
  }
});

test('map lines name the units that start in their range with their lines (the outline), and mapLines report them', async () => {
  const text = syntheticSource(5, 300);
  const tree = await treeOf([{ id: '/o.py', text }]);
  const doc = tree.documents.get('/o.py')!;
  const lines = text.split('\n');
  // Groups at LOD2 except the second, whose blocks are block gists.
  const entries = [makeEntry(doc, 2, 0), ...Array.from({ length: Math.min(32, doc.nLod1 - 32) }, (_, k) => makeEntry(doc, 1, 32 + k))];
  for (let g = 2; g < doc.nLod2; g++) entries.push(makeEntry(doc, 2, g));
  const r = renderWorkingContext([entries], { displayPath: (d) => d.id });
  const tilde = r.prompt.split('\n').find((l) => l.startsWith('~ '))!;
  const items = tilde.replace(/^~ L\d+-\d+: /, '').split(' | ');
  const named = items.filter((i) => / L\d+$/.test(i));
  assert.ok(named.length >= 5, `the run names its functions: ${tilde}`);
  for (const item of named) {
    const [, name, line] = /^(.*) L(\d+)$/.exec(item)!;
    assert.ok(lines[Number(line) - 1].includes(`def ${name}(`), `${name} is defined on line ${line}`);
  }
  const map = r.mapLines.find((m) => m.names.length > 0 && m.startLine > 1)!;
  assert.deepEqual(map.names.map((n) => `${n.name} L${n.line}`), named);
  // The group line names units too, each with its definition line.
  const approx = r.prompt.split('\n').find((l) => l.startsWith('≈ '))!;
  for (const item of approx.replace(/^≈ L\d+-\d+: /, '').split(' | ')) {
    const m = /^(.*) L(\d+)$/.exec(item);
    assert.ok(m && lines[Number(m[2]) - 1].includes(`def ${m[1]}(`), `${item} names a definition with its line`);
  }
});

test('a root line names first, with its line, the unit whose name holds the query\'s terms, and reports it as a map line', async () => {
  const fn = (name: string) => `def ${name}(value):\n    total = value + 1\n    result = total * 2\n    return result\n\n`;
  const other = ['alpha_one', 'alpha_two', 'alpha_three', 'decode_payload', 'alpha_four'].map(fn).join('');
  const filler = Array.from({ length: 12 }, (_, i) => syntheticSource(i, 120)).map((text, i) => ({ id: `/f${i}.py`, text }));
  const tree = await treeOf([{ id: '/codec.py', text: other }, ...filler]);
  const doc = tree.documents.get('/codec.py')!;
  const q = new QueryEvidence(tree, 'how is the payload decoded').q;
  const units = queryUnits(doc, q);
  assert.deepEqual(units.map((u) => outline(doc).units[u].name), ['decode_payload']);
  assert.equal(rootLine(doc, '/codec.py', false, units), `· /codec.py (${doc.tokenCount} tok): decode_payload L16, alpha_one, alpha_two\n`);
  assert.equal(rootLine(doc, '/codec.py'), `· /codec.py (${doc.tokenCount} tok): alpha_one, alpha_two, alpha_three\n`, 'without the query: the first public names');
  assert.deepEqual(queryUnits(doc, new QueryEvidence(tree, 'nothing here qqq').q), []);
  // Rendered at its root line for the query: the line points at the unit, the map reports it, the cost model agrees.
  const rootUnits = (d: TreeDocument) => (d === doc ? units : []);
  const r = renderWorkingContext([[makeEntry(doc, 3, 0)]], { displayPath: (d) => d.id, rootUnits });
  assert.ok(r.prompt.includes('· /codec.py') && r.prompt.includes('decode_payload L16'), r.prompt);
  assert.deepEqual(r.mapLines, [{ docId: '/codec.py', startLine: 1, endLine: doc.lines.length, names: [{ name: 'decode_payload', line: 16 }] }]);
  const cm = new CostModel((d) => d.id, undefined, undefined, undefined, rootUnits);
  assert.equal(cm.preamble + cm.documentCost([makeEntry(doc, 3, 0)]), r.tokens, 'priced as rendered');
  assert.ok(cm.documentCost([makeEntry(doc, 3, 0)]) > new CostModel((d) => d.id).documentCost([makeEntry(doc, 3, 0)]), 'the line number costs tokens');
});

test('a group line names a group\'s public units before its private ones at the same depth', async () => {
  // One group of 32 blocks holding eight top-level functions, the first five private: three names fit.
  const fn = (name: string) => `def ${name}(value):\n    total = value + 1\n    result = total * 2\n    return result\n\n`;
  const names = ['_helper_one', '_helper_two', '_helper_three', '_helper_four', '_helper_five', 'close', 'open_stream', 'flush'];
  const text = names.map(fn).join('');
  const tree = await treeOf([{ id: '/g.py', text }]);
  const doc = tree.documents.get('/g.py')!;
  assert.equal(doc.nLod2, 1, 'one group');
  const shown = groupUnits(doc, 0).map((u) => outline(doc).units[u].name);
  assert.deepEqual(shown, ['close', 'open_stream', 'flush']);
  const line = groupGistText(doc, 0);
  assert.ok(!line.includes('_helper'), line);
  assert.ok(line.startsWith('close L26'), line);
});

test('line spread gives every block of a multi-block line the value of its best block', async () => {
  const long = 'speaker: ' + Array.from({ length: 60 }, (_, i) => `word${i}`).join(' ') + ' zebra\n';
  const tree = await treeOf([{ id: '/c.md', text: 'intro line\n' + long + 'tail line\n' }]);
  const doc = tree.documents.get('/c.md')!;
  assert.ok(doc.nBlocks >= 3);
  const raw = new Float32Array(doc.nBlocks);
  raw[doc.nBlocks - 2] = 10; // the block holding "zebra", the long line's end
  const off = blockValues(doc, raw, { ...DEFAULT_PLAN, kernel: [1], lineSpread: 0 });
  const on = blockValues(doc, raw, { ...DEFAULT_PLAN, kernel: [1], lineSpread: 0.9 });
  // Blocks are whole lines: the long line's first block is the one after `intro line`.
  const first = doc.blockAtChar(doc.text.indexOf('speaker'));
  assert.equal(doc.blockText(0), 'intro line\n');
  assert.equal(off[first], 0);
  assert.ok(Math.abs(on[first] - 9) < 1e-5, `first block ${on[first]}`);
  assert.equal(on[0], 0, 'a block of another line is not spread to');
});

test('scope lift: a definition line gets the value of the best block of its body', async () => {
  const body = Array.from({ length: 40 }, (_, i) => `    step_${i} = compute(${i})`).join('\n');
  const text = 'import os\n\ndef handler(request):\n' + body + '\n    return zebra_answer\n\ndef other():\n    pass\n';
  const tree = await treeOf([{ id: '/s.py', text }]);
  const doc = tree.documents.get('/s.py')!;
  const defBlock = Array.from({ length: doc.nBlocks }, (_, b) => b).find((b) => doc.blockText(b).includes('def handler'))!;
  const raw = new Float32Array(doc.nBlocks);
  raw[doc.nBlocks - 2] = 10; // deep in the body, far beyond the smoothing kernel
  assert.ok(doc.nBlocks - 2 - defBlock > 2);
  const off = blockValues(doc, raw, { ...DEFAULT_PLAN, kernel: [1], lineSpread: 0, scopeLift: 0 });
  const on = blockValues(doc, raw, { ...DEFAULT_PLAN, kernel: [1], lineSpread: 0, scopeLift: 2 });
  assert.equal(off[defBlock], 0);
  assert.equal(on[defBlock], 20);
});

test('section prior: blocks of the section whose text matches the query gain value; other sections do not', async () => {
  const session = (n: number, topic: string) =>
    `## Session ${n} about ${topic}\n` + Array.from({ length: 30 }, (_, i) => `D${n}:${i} Speaker: line ${i} of the ${n === 1 ? 'first' : 'second'} talk here`).join('\n') + '\n';
  const text = session(1, 'zebra migration') + session(2, 'kitchen tiles');
  const tree = await treeOf([{ id: '/chat.md', text }]);
  const doc = tree.documents.get('/chat.md')!;
  const ev = new QueryEvidence(tree, 'zebra migration');
  const raw = ev.of(doc).raw;
  assert.ok(raw[0] > 0, 'the first session header holds the query words');
  // A block deep in the first session (beyond the smoothing kernel) and one in the second.
  const second = Array.from({ length: doc.nBlocks }, (_, b) => b).find((b) => doc.blockText(b).includes('Session 2'))!;
  const inFirst = Math.min(6, second - 2);
  assert.ok(inFirst > 2 && raw[inFirst] === 0);
  const off = blockValues(doc, raw, { ...DEFAULT_PLAN, section: 0, sessionHead: 0 }, ev.q);
  const on = blockValues(doc, raw, { ...DEFAULT_PLAN, section: 0.5, sessionHead: 0 }, ev.q);
  assert.equal(off[inFirst], 0);
  assert.ok(on[inFirst] > 0, `a block of the matching section gains (${on[inFirst]})`);
  assert.equal(on[second + 2], off[second + 2], 'a section without the query words gains nothing');
});

/** A LoCoMo-style transcript: per session a dated heading, then turns of Caroline and Melanie in turn. */
function transcript(dates: string[], turns = 12): string {
  return `# Conversation between Caroline and Melanie\n` + dates.map((d, s) =>
    `## Session ${s + 1} (1:56 pm on ${d})\n` +
    Array.from({ length: turns }, (_, i) => `D${s + 1}:${i + 1} ${i % 2 ? 'Melanie' : 'Caroline'}: turn ${i} of session ${s + 1} about gardens and weather ${i === 5 ? 'camping trip' : ''}`).join('\n') + '\n').join('');
}

test('speaker share: when the query names one speaker of a transcript, the other speaker\'s turns weigh speakerShare; naming both or none changes nothing', async () => {
  const tree = await treeOf([{ id: '/talk', text: transcript(['8 May, 2023', '27 June, 2023']) }]);
  const doc = tree.documents.get('/talk')!;
  const o = outline(doc);
  const turnOf = (speaker: string) => o.units.findIndex((u) => u.kind === 'turn' && u.name === speaker);
  const [carol, mel] = [turnOf('Caroline'), turnOf('Melanie')];
  assert.ok(carol >= 0 && mel >= 0, 'the transcript has turns of both speakers');
  const values = (query: string, speakerShare: number) => {
    const ev = new QueryEvidence(tree, query);
    const raw = new Float32Array(doc.nBlocks).fill(1);
    return blockValues(doc, raw, { ...DEFAULT_PLAN, kernel: [1], lineSpread: 0, section: 0, sessionHead: 0, speakerShare }, ev.q);
  };
  const named = values('What does Melanie do on weekends?', 0.7);
  assert.ok(Math.abs(named[o.first[carol]] - 0.7) < 1e-6, `Caroline's turn weighs 0.7 (${named[o.first[carol]]})`);
  assert.equal(named[o.first[mel]], 1, 'Melanie\'s turn keeps its value');
  assert.equal(named[0], 1, 'the title line is no turn');
  for (const q of ['What do Caroline and Melanie both like?', 'Who went camping?']) {
    const v = values(q, 0.7);
    assert.equal(v[o.first[carol]], v[o.first[mel]], q);
  }
  assert.equal(values('What does Melanie do on weekends?', 1)[o.first[carol]], 1, 'speakerShare 1 is off');
});

test('session heading: a session whose dated heading holds the query\'s words is lifted; words every heading holds lift nothing', async () => {
  const tree = await treeOf([{ id: '/talk', text: transcript(['8 May, 2023', '27 June, 2023', '3 July, 2023']) }]);
  const doc = tree.documents.get('/talk')!;
  const sessions = outline(doc).units.map((u, i) => [u, i] as const).filter(([u]) => u.kind === 'session').map(([, i]) => i);
  assert.equal(sessions.length, 3);
  const o = outline(doc);
  const values = (query: string, sessionHead: number) => {
    const ev = new QueryEvidence(tree, query);
    return blockValues(doc, ev.of(doc).raw, { ...DEFAULT_PLAN, section: 0, sessionHead }, ev.q);
  };
  // A turn of each session (its last, beyond the smoothing kernel from the heading).
  const inSession = (k: number) => o.last[sessions[k]];
  const on = values('When did Melanie go camping in June?', 0.25);
  const off = values('When did Melanie go camping in June?', 0);
  assert.ok(on[inSession(1)] > off[inSession(1)], 'the June session is lifted');
  assert.equal(on[inSession(0)], off[inSession(0)], 'the May session is not');
  assert.equal(on[inSession(2)], off[inSession(2)], 'nor the July one');
  const year = values('What happened in 2023 about gardens?', 0.25);
  assert.deepEqual([...year], [...values('What happened in 2023 about gardens?', 0)], 'a year every heading names lifts nothing');
});

test('a query term inside a code span weighs CODE_SPAN_WEIGHT times its IDF, and only there', async () => {
  const tree = await treeOf([{ id: '/p.py', text: 'import subprocess\n\ndef run_pager(cmd):\n    return subprocess.Popen(cmd, shell=True)\n\ndef other():\n    return 1\n' }]);
  const plain = queryTerms('Popen pager without shell', tree.stats);
  const spans = queryTerms('`Popen()` pager without ``shell=True``\n`not a span\nacross lines`', tree.stats);
  const w = (q: typeof plain, t: string) => q.idf[q.terms.indexOf(t)];
  assert.ok(CODE_SPAN_WEIGHT > 1 && w(plain, 'popen') > 0);
  assert.equal(w(spans, 'popen'), CODE_SPAN_WEIGHT * w(plain, 'popen'));
  assert.equal(w(spans, 'shell'), CODE_SPAN_WEIGHT * w(plain, 'shell'));
  assert.equal(w(spans, 'pager'), w(plain, 'pager'), 'a word outside the spans keeps its IDF');
  assert.equal(w(spans, 'span'), tree.stats.idf('span'), 'a backtick pair across a line break is not a span');
});

test('gist words of a chat turn are its talk: never its label (dialogue id, speaker), a filler word or a contraction\'s end', async () => {
  const text = '## Session 1 (1:56 pm on 8 May, 2023)\n' +
    Array.from({ length: 24 }, (_, i) => `D1:${i + 1} ${i % 2 ? 'Melanie' : 'Caroline'}: ${i % 3 ? 'Yeah wow thanks' : 'Woah ya, kinda'}, you're right: ${['pottery', 'camping', 'violin', 'marathon'][i % 4]} class ${i}`).join('\n') + '\n';
  const tree = await treeOf([{ id: '/talk', text }]);
  const doc = tree.documents.get('/talk')!;
  const o = outline(doc);
  assert.ok(o.units.filter((u) => u.kind === 'turn').length === 24, 'every line is a turn');
  const turnBlocks = Array.from({ length: doc.nBlocks }, (_, b) => b).filter((b) => o.units[o.innermost[b]]?.kind === 'turn');
  assert.ok(turnBlocks.length >= 24);
  const words = turnBlocks.flatMap((b) => blockGistText(doc, b, 7).split(' … ')).filter(Boolean);
  for (const w of words) assert.doesNotMatch(w, /^(D1|Melanie|Caroline|Yeah|wow|thanks|Woah|ya|kinda|re)$/, `${w} is talk`);
  assert.ok(words.some((w) => /^(pottery|camping|violin|marathon)$/.test(w)), words.join(' '));
});

test('the plan starts other documents at their root line and gives their maps back when the budget allows', async () => {
  const docs = Array.from({ length: 10 }, (_, i) => ({ id: `/r/f${i}.py`, text: syntheticSource(60 + i, 1500) }));
  docs[3].text += 'def zebra_quagga_okapi():\n    return okapi_zebra\n';
  const tree = await treeOf(docs);
  const engine = new FocusEngine(tree, tree.runtime);
  const tight = await engine.focus({ query: 'zebra quagga okapi', budget: 1200, scorer: 'lexical' });
  const roots = (wc: typeof tight) => wc.perDoc.filter((es) => es.length === 1 && es[0].lod === 3).length;
  assert.ok(tight.rendered.exactRuns.some((r) => r.doc.id === '/r/f3.py' && r.doc.text.slice(r.charStart, r.charEnd).includes('zebra_quagga_okapi')));
  const roomy = await engine.focus({ query: 'zebra quagga okapi', budget: 16000, scorer: 'lexical' });
  assert.deepEqual(checkWorkingContext(roomy.perDoc, roomy.rendered, 16000), []);
  assert.ok(roomy.rendered.exactRuns.some((r) => r.doc.id === '/r/f3.py'));
  assert.ok(roots(roomy) < roots(tight), `more maps come back with more budget (${roots(tight)} → ${roots(roomy)} root lines)`);
  assert.equal(roots(roomy), 0, 'with room for every map, no document stays folded');
});

test('the allocator realises the whole plan, even when it takes more actions than N_diff × iterations', async () => {
  // Many matching lines spread over many groups: the plan asks for far more than 4 × 12 actions.
  const lines = Array.from({ length: 3000 }, (_, i) => (i % 9 === 0 ? `L${i} zebra sighting number ${i}` : `L${i} plain filler words ${i % 17}`));
  const tree = await treeOf([{ id: '/log.md', text: lines.join('\n') + '\n' }]);
  const engine = new FocusEngine(tree, tree.runtime);
  const wc = await engine.focus({ query: 'zebra sighting', budget: 6000, scorer: 'lexical', settings: { nDiff: 4, maxIterations: 12 } });
  assert.ok(wc.telemetry.planned > 4 * 12, `the plan picks ${wc.telemetry.planned} blocks`);
  assert.equal(wc.telemetry.plannedShown, wc.telemetry.planned, 'every planned block is exact');
  assert.deepEqual(checkWorkingContext(wc.perDoc, wc.rendered, 6000), []);
});

test('scope text: a definition whose body matches the query as a whole lifts its line, where no single block stands out', async () => {
  // Each query word sits in a different block of the body: no block matches much on its own.
  const words = ['zebra', 'quagga', 'okapi', 'tapir', 'gazelle', 'impala'];
  const body = words.map((w, i) => `    ${w}_count = tally(${i})\n` + Array.from({ length: 12 }, (_, k) => `    filler_${i}_${k} = ${k}`).join('\n')).join('\n');
  const text = 'import os\n\n' + Array.from({ length: 30 }, (_, i) => `def helper_${i}():\n    return ${i}\n`).join('\n') + '\ndef census(herd):\n' + body + '\n    return herd\n';
  const tree = await treeOf([{ id: '/z.py', text }]);
  const doc = tree.documents.get('/z.py')!;
  const ev = new QueryEvidence(tree, words.join(' '));
  const defBlock = Array.from({ length: doc.nBlocks }, (_, b) => b).find((b) => doc.blockText(b).includes('def census'))!;
  const off = blockValues(doc, ev.of(doc).raw, { ...DEFAULT_PLAN, scopeText: 0 }, ev.q);
  const on = blockValues(doc, ev.of(doc).raw, { ...DEFAULT_PLAN, scopeText: 4 }, ev.q);
  assert.ok(on[defBlock] > off[defBlock], `definition line ${off[defBlock]} → ${on[defBlock]}`);
  const best = Math.max(...on.filter((_, b) => b !== defBlock));
  assert.ok(on[defBlock] >= best, `the definition line (${on[defBlock]}) leads the blocks of its body (${best})`);
});

test('definition lines: a definition named by the query outranks a block that only uses the words in its body', async () => {
  // `def close_session` answers "close the session"; the other function's body says close and session
  // more often, and a block's BM25 does not tell a name from a use.
  const filler = (n: number) => Array.from({ length: n }, (_, k) => `    step_${k} = prepare(${k})`).join('\n');
  const text =
    'def close_session(timeout):\n' + filler(10) + '\n    return None\n\n' +
    'def run_loop(state):\n    session.close()\n    other.close()\n    session.reset()\n' + filler(10) + '\n    return state\n';
  const tree = await treeOf([{ id: '/s.py', text }]);
  const doc = tree.documents.get('/s.py')!;
  const ev = new QueryEvidence(tree, 'Close the session');
  const blockOf = (needle: string) => Array.from({ length: doc.nBlocks }, (_, b) => b).find((b) => doc.blockText(b).includes(needle))!;
  const answer = blockOf('def close_session');
  const uses = blockOf('session.close()');
  assert.notEqual(answer, uses);
  const value = (defLine: number) => blockValues(doc, ev.of(doc).raw, { ...DEFAULT_PLAN, defLine, scopeLift: 0, scopeText: 0, section: 0, lineSpread: 0 }, ev.q);
  const off = value(0);
  const on = value(DEFAULT_PLAN.defLine);
  assert.ok(off[uses] > off[answer], `without it the body wins (${off[uses]} vs ${off[answer]})`);
  assert.ok(on[answer] > on[uses], `with it the definition wins (${on[answer]} vs ${on[uses]})`);
  assert.equal(on[uses], off[uses], 'blocks without a definition line are unchanged');
});

test('definition names: a name that glues or abbreviates the query\'s words counts them on its line', async () => {
  const filler = (n: number) => Array.from({ length: n }, (_, k) => `    step_${k} = prepare(${k})`).join('\n');
  const defs = ['def getmembers(self):', 'def is_symlink(self):', 'def mkdir(self, mode):', 'def unrelated(self):'];
  // The last line holds other query words: a document without any is not scored at all.
  const text = defs.map((d) => `${d}\n${filler(12)}\n`).join('\n') + filler(20) + '\n# the archive path, create\n';
  const tree = await treeOf([{ id: '/n.py', text }]);
  const doc = tree.documents.get('/n.py')!;
  const blockOf = (needle: string) => Array.from({ length: doc.nBlocks }, (_, b) => b).find((b) => doc.blockText(b).includes(needle))!;
  const value = (query: string, defName: number) => {
    const ev = new QueryEvidence(tree, query);
    return blockValues(doc, ev.of(doc).raw, { ...DEFAULT_PLAN, defName, scopeLift: 0, scopeText: 0, section: 0, lineSpread: 0 }, ev.q);
  };
  // The words occur nowhere else as terms: only the names hold them.
  for (const [query, def] of [['Return the members of the archive', 'def getmembers'], ['Whether this path is a symbolic link', 'def is_symlink']] as const) {
    const b = blockOf(def);
    assert.equal(value(query, 0)[b], 0, `${def}: no term matches near it`);
    assert.ok(value(query, 1)[b] > 0, `${def}: its name holds the query's words`);
    assert.equal(value(query, 1)[blockOf('def unrelated')], 0);
  }
  // Three letters are too few to count as an abbreviation (mkdir for "directory" is left to the body's words).
  assert.equal(value('Create a directory', 1)[blockOf('def mkdir')], 0);
});

test('with many files, the plan shows root lines without evidence as bare paths to make room for the evidence', async () => {
  const docs = Array.from({ length: 60 }, (_, i) => ({ id: `/many/pkg${i % 3}/module_${i}.py`, text: syntheticSource(200 + i, 40) }));
  docs[17].text += 'def zebra_quagga_okapi():\n    return okapi_zebra\n';
  const tree = await treeOf(docs);
  const cm = new CostModel((d) => d.id);
  const ordered = [...tree.documents.values()].sort((x, y) => (x.id < y.id ? -1 : 1));
  const alloc = new FocusAllocator(ordered, { ...DEFAULT_FOCUS, budget: 100_000 }, cm);
  const ev = new QueryEvidence(tree, 'zebra quagga okapi');
  const value = (d: TreeDocument) => blockValues(d, ev.of(d).raw, DEFAULT_PLAN, ev.q);
  // The smallest budget at which the plan reaches the evidence needs the other files' names for it.
  let first: Plan | undefined;
  for (let budget = 100; budget <= 5000 && !first; budget += 10) {
    const plan = planFocus(alloc.state, alloc.usedTokens, budget, cm, value);
    if (plan.blocks.has(docs[17].id)) first = plan;
  }
  assert.ok(first, 'the plan reaches the evidence at some budget');
  assert.ok(first.bared.size > 0, 'other files give up their names first');
  assert.ok(!first.bared.has(docs[17].id));
  // And the engine realises it: the evidence is exact, every file still listed.
  const engine = new FocusEngine(tree, tree.runtime);
  const wc = await engine.focus({ query: 'zebra quagga okapi', budget: Math.ceil(first.used) + 8, scorer: 'lexical' });
  assert.deepEqual(checkWorkingContext(wc.perDoc, wc.rendered, wc.budget), []);
  assert.ok(wc.rendered.exactRuns.some((r) => r.doc.id === docs[17].id && r.doc.text.slice(r.charStart, r.charEnd).includes('zebra_quagga_okapi')));
  assert.ok(wc.perDoc.some((es) => es.length === 1 && es[0].lod === 3 && es[0].bare));
  assert.equal(wc.perDoc.length, docs.length, 'every file is still listed');
  assert.ok(wc.rendered.prompt.includes('· /many/pkg'), 'bare paths share folder lines');
});

test('a better block that does not fit makes room by baring root lines without evidence, before cheap neighbours of earlier picks fill it', async () => {
  // Values set by hand: in a large file, block 2 is the best and the other blocks of its group (cheap
  // once the group is open) hold weak evidence; block 70, in another group, is almost as good as block 2.
  // Twenty small files hold none, and their names cost about as much as the budgets tried.
  const docs = [{ id: '/big/main.py', text: syntheticSource(7, 500) }];
  for (let i = 0; i < 20; i++) docs.push({ id: `/small/pkg${i % 4}/mod_${i}.py`, text: syntheticSource(500 + i, 30) });
  const tree = await treeOf(docs);
  const cm = new CostModel((d) => d.id);
  const ordered = [...tree.documents.values()].sort((x, y) => (x.id < y.id ? -1 : 1));
  const alloc = new FocusAllocator(ordered, { ...DEFAULT_FOCUS, budget: 100_000 }, cm);
  const big = tree.documents.get('/big/main.py')!;
  assert.ok(big.nBlocks > 80);
  const bigValue = new Float32Array(big.nBlocks);
  for (let b = 0; b < 32; b++) bigValue[b] = 0.3;
  bigValue[2] = 1;
  bigValue[70] = 0.99;
  const value = (d: TreeDocument) => (d === big ? bigValue : new Float32Array(d.nBlocks));
  let checked = 0;
  // From 625 tokens, blocks 2 and 70 fit together, with the head and end of block 2's function (its
  // unit), once every small file is a bare path.
  for (let budget = 625; budget <= 2400; budget += 25) {
    const plan = planFocus(alloc.state, alloc.usedTokens, budget, cm, value);
    const m = plan.blocks.get(big.id);
    if (!m?.has(2)) continue;
    checked++;
    // Entering block 70's group costs ~5 blocks, still worth more per token than the weak neighbours of
    // block 2. (Baring only when nothing fit let the neighbours take the room: 600–1050 left it out.)
    assert.ok(m.has(70), `budget ${budget}: block 70 left out for ${m.size - 1} other blocks`);
  }
  assert.ok(checked > 50, `${checked} budgets checked`);
});

test('the allocator counts bare paths as their folder lines render them, whichever neighbours they get', async () => {
  const docs = Array.from({ length: 40 }, (_, i) => ({ id: `/w/${['a', 'b', 'c'][i % 3]}/m${i}.py`, text: syntheticSource(300 + i, 30) }));
  const tree = await treeOf(docs);
  const cm = new CostModel((d) => d.id);
  const ordered = [...tree.documents.values()].sort((x, y) => (x.id < y.id ? -1 : 1));
  let checked = 0;
  // Budgets at which the cold start bares some root lines (least relevant first, so runs break and join).
  for (let budget = 200; budget <= 1200; budget += 25) {
    let alloc: FocusAllocator;
    try {
      alloc = new FocusAllocator(ordered, { ...DEFAULT_FOCUS, budget }, cm, [], (d) => (d.id.charCodeAt(d.id.length - 4) * 7) % 11);
    } catch {
      continue;
    }
    const bare = alloc.state.filter((es) => es[0].bare && !es[0].fold).length;
    if (bare === 0 || bare === ordered.length || alloc.state.some((es) => es[0].fold)) continue;
    // Root lines and bare paths only: the estimate must be the rendered count itself.
    assert.equal(alloc.usedTokens, renderWorkingContext(alloc.state, { displayPath: (d) => d.id }).tokens, `budget ${budget}, ${bare} bare`);
    checked++;
  }
  assert.ok(checked >= 3, `bare states checked: ${checked}`);
});

test('range BM25 over one-block ranges equals block BM25', async () => {
  const tree = await treeOf([{ id: '/p.md', text: '# One\nzebra alpha\n' + syntheticSource(3, 200) + '\n# Two\nzebra zebra beta\n' + syntheticSource(4, 200) }]);
  const doc = tree.documents.get('/p.md')!;
  const ev = new QueryEvidence(tree, 'zebra beta render');
  const avg = tree.stats.avgLength();
  const ranges = Uint32Array.from(Array.from({ length: doc.nBlocks }, (_, b) => [b, b]).flat());
  const a = scoreBlocks(doc.postings, ev.q, avg).scores;
  const b = scoreRanges(doc.postings, ev.q, ranges, avg);
  assert.ok(a.some((x) => x > 0));
  for (let k = 0; k < doc.nBlocks; k++) assert.ok(Math.abs(a[k] - b[k]) < 1e-4, `block ${k}: ${a[k]} vs ${b[k]}`);
  // A section range covers its blocks: the sections of a document partition it.
  const sections = sectionRanges(doc);
  assert.equal(sections[0], 0);
  assert.equal(sections[sections.length - 1], doc.nBlocks - 1);
  for (let s = 2; s < sections.length; s += 2) assert.equal(sections[s], sections[s - 1] + 1);
});

test('range BM25: ranges in order of their first block (walked) score as the same ranges out of order (searched)', async () => {
  const tree = await treeOf([{ id: '/r.py', text: syntheticSource(7, 900) + '\nzebra alpha beta\n' + syntheticSource(8, 400) + '\nzebra\n' }]);
  const doc = tree.documents.get('/r.py')!;
  const ev = new QueryEvidence(tree, 'zebra beta render value');
  const avg = tree.stats.avgLength();
  const n = doc.nBlocks;
  assert.ok(n >= 8, `blocks: ${n}`);
  // Nested and overlapping ranges, ascending by first block (like definition scopes), with equal starts.
  const pairs: [number, number][] = [];
  for (let b = 0; b < n; b += 3) pairs.push([b, Math.min(n - 1, b + 5)], [b, b], [b, n - 1]);
  const asc = Uint32Array.from(pairs.flat());
  const order = pairs.map((_, i) => i).reverse();
  const desc = Uint32Array.from(order.flatMap((i) => pairs[i]));
  const a = scoreRanges(doc.postings, ev.q, asc, avg);
  const d = scoreRanges(doc.postings, ev.q, desc, avg);
  assert.ok(a.some((x) => x > 0));
  order.forEach((i, k) => assert.equal(d[k], a[i], `range ${pairs[i]}`));
});

test('tests, docs, examples and release histories are support files; sources, including modules named testing.py or history.py, are not', () => {
  for (const p of ['tests/test_api.py', 'src/pkg/tests/helpers.py', 'test/index.js', 'docs/usage.md', 'examples/app.js', 'lib/__tests__/x.ts',
    'conftest.py', 'pkg/test_core.py', 'core_test.go', 'source/router.test.ts', 'x.spec.mjs', 'benchmarks/run.py', 'Docs/Guide.md',
    'CHANGELOG.md', 'CHANGES', 'History.md', 'HISTORY.rst', 'NEWS', 'changelog.d/1099.change.md']) {
    assert.ok(isSupportFile(p), p);
  }
  for (const p of ['src/click/testing.py', 'lib/router/index.js', 'httpx/_models.py', 'README.md', 'source/core/Ky.ts', 'contest.py', 'attestation.py', 'src/app/history.py', 'lib/changes.js', 'news.ts']) {
    assert.ok(!isSupportFile(p), p);
  }
});

test('support files weigh supportShare of their block values, and the engine asks by workspace path', async () => {
  const text = syntheticSource(4, 120) + 'def send_with_timeout(request, timeout):\n    return request.send(timeout=timeout)\n' + syntheticSource(5, 120);
  const tree = await treeOf([{ id: '/r/pkg/client.py', text }]);
  const doc = [...tree.documents.values()][0];
  const ev = new QueryEvidence(tree, 'send_with_timeout pass the timeout to the request');
  const plain = blockValues(doc, ev.of(doc).raw, DEFAULT_PLAN, ev.q, false);
  const support = blockValues(doc, ev.of(doc).raw, DEFAULT_PLAN, ev.q, true);
  const best = plain.indexOf(Math.max(...plain));
  assert.ok(plain[best] > 0);
  assert.ok(Math.abs(support[best] - DEFAULT_PLAN.supportShare * plain[best]) < 1e-5, `${support[best]} vs ${plain[best]}`);
  assert.deepEqual(blockValues(doc, ev.of(doc).raw, { ...DEFAULT_PLAN, supportShare: 1 }, ev.q, true), plain);
});

test('a piece of a line over 32 tokens is shown with the rest of its line', async () => {
  // Inside a function too large to open whole: the plan shows its head, the matching block and its end.
  const filler = (k: number) => Array.from({ length: 60 }, (_, i) => `    step_${k}_${i} = compute(${i}, ${k})\n`).join('');
  const long = '    config = {' + Array.from({ length: 40 }, (_, i) => `"key_${i}": "value number ${i}"`).join(', ') + ', "zebra_okapi_flag": True}\n';
  const big = 'def configure(settings):\n' + filler(1) + long + filler(2) + '    return config\n';
  const tree = await treeOf([{ id: '/l/settings.py', text: syntheticSource(8, 200) + big + syntheticSource(9, 200) }]);
  // No spread of value between the pieces: only the rule that a piece brings its line can show the whole line.
  const wc = await new FocusEngine(tree, tree.runtime).focus({ query: 'zebra_okapi_flag', budget: 1100, scorer: 'lexical', plan: { lineSpread: 0, kernel: [1] } });
  const run = wc.rendered.exactRuns.find((r) => r.doc.text.slice(r.charStart, r.charEnd).includes('zebra_okapi_flag'));
  assert.ok(run, 'the matching line is exact');
  const text = run.doc.text;
  assert.ok(run.charStart === 0 || text[run.charStart - 1] === '\n', 'starts at a line start');
  assert.ok(text[run.charEnd - 1] === '\n' || run.charEnd === text.length, 'ends at a line end');
  assert.ok(text.slice(run.charStart, run.charEnd).includes('config = {'), 'the whole line, not its last piece');
});

test('a code file\'s prologue (imports before its first definition) is shown with its evidence, and not without prologueValue', async () => {
  const prologue = 'import os\nimport sys\nfrom collections import OrderedDict as ordered_mapping\n\nLIMIT = 10\n\n';
  const text = prologue + syntheticSource(4, 300) + 'def wanted(value):\n    return zebra_okapi_marker(value)\n' + syntheticSource(5, 300);
  const tree = await treeOf([{ id: '/p/module.py', text }, { id: '/p/other.py', text: syntheticSource(6, 400) }]);
  const engine = new FocusEngine(tree, tree.runtime);
  const shown = async (plan: object) => {
    const wc = await engine.focus({ query: 'zebra_okapi_marker', budget: 2048, scorer: 'lexical', plan });
    assert.deepEqual(checkWorkingContext(wc.perDoc, wc.rendered, 2048), []);
    const runs = wc.rendered.exactRuns.filter((r) => r.doc.id === '/p/module.py').map((r) => r.doc.text.slice(r.charStart, r.charEnd));
    assert.ok(runs.some((r) => r.includes('return zebra_okapi_marker(value)')), 'the evidence is exact');
    return runs.some((r) => r.includes('from collections import OrderedDict'));
  };
  assert.equal(await shown({ prologueValue: 0.3 }), true, 'the imports are exact with the evidence');
  assert.equal(await shown({ prologueValue: 0 }), false, 'and only because of the prologue value');
});

test('kthSmallest is the k-th of an ascending sort, and bestValues keeps the keep best with ties in order (property)', () => {
  const values = fc.array(fc.oneof(fc.integer({ min: 0, max: 6 }).map((x) => x / 2), fc.float({ min: 0, max: 10, noNaN: true })), { minLength: 1, maxLength: 400 });
  fc.assert(
    fc.property(values, fc.nat(), (xs, k0) => {
      const a = Float32Array.from(xs);
      const k = k0 % a.length;
      assert.equal(kthSmallest(Float32Array.from(a), k), Float32Array.from(a).sort()[k]);
    }),
  );
  fc.assert(
    fc.property(fc.array(values, { minLength: 1, maxLength: 4 }), fc.integer({ min: 1, max: 300 }), (docs, keep) => {
      const arrays = docs.map((d) => Float32Array.from(d));
      const got = bestValues(arrays, 0, 0.5, keep);
      // What a stable sort by value, descending, over document and block order keeps.
      const all = arrays.flatMap((v, d) => [...v].map((x, b) => ({ d, b, x }))).filter((c) => c.x > 0 && c.x >= 0.5);
      const kept = [...all].sort((p, q) => q.x - p.x).slice(0, keep).sort((p, q) => p.d - q.d || p.b - q.b);
      assert.equal(got.n, kept.length);
      kept.forEach((c, i) => assert.deepEqual([got.doc[i], got.block[i]], [c.d, c.b]));
    }),
  );
});
