import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cutBlocks } from '../../src/core/blocks';
import { detokenize, tokenizeDocument } from '../../src/core/tokenizer';

/** The text of each block of `text` cut with `breaks`. */
function blockTexts(text: string, breaks: number[] = [], max = 32): string[] {
  const tokens = tokenizeDocument(text);
  const cuts = cutBlocks(tokens, breaks, max);
  const out: string[] = [];
  for (let b = 0; b + 1 < cuts.length; b++) out.push(detokenize(tokens.subarray(cuts[b], cuts[b + 1])));
  return out;
}

test('document tokens split o200k tokens that straddle a line start, and still decode to the text', () => {
  const text = 'x = {}\n//comment\nfoo();\n/*a*/\n/b/\n';
  const ids = tokenizeDocument(text);
  assert.equal(detokenize(ids), text);
  // Every line start is a token boundary.
  let at = 0;
  const starts = new Set<number>();
  for (const id of ids) starts.add((at += detokenize([id]).length));
  for (let i = text.indexOf('\n'); i >= 0 && i + 1 < text.length; i = text.indexOf('\n', i + 1)) assert.ok(starts.has(i + 1), `line start at ${i + 1}`);
});

test('blocks are runs of whole lines of at most 32 tokens that tile the text', () => {
  const lines = Array.from({ length: 60 }, (_, i) => `    value_${i} = compute(value_${i - 1}, ${i * 7})\n`);
  const text = lines.join('');
  const blocks = blockTexts(text);
  assert.equal(blocks.join(''), text);
  for (const b of blocks) {
    assert.ok(b.endsWith('\n'), `block ends at a line end: ${JSON.stringify(b)}`);
    assert.ok(tokenizeDocument(b).length <= 32);
  }
  // Greedy: no block could have taken the next line.
  for (let i = 0; i + 1 < blocks.length; i++) {
    const nextLine = blocks[i + 1].slice(0, blocks[i + 1].indexOf('\n') + 1);
    assert.ok(tokenizeDocument(blocks[i] + nextLine).length > 32);
  }
});

test('a unit start line always starts a block', () => {
  const text = 'import os\nimport sys\n\ndef a():\n    return 1\n\ndef b():\n    return 2\n';
  const blocks = blockTexts(text, [3, 6]);
  assert.deepEqual(blocks, ['import os\nimport sys\n\n', 'def a():\n    return 1\n\n', 'def b():\n    return 2\n']);
});

test('a line longer than a block is cut into 32-token pieces; the rest of it may take the next lines', () => {
  const long = 'x = [' + Array.from({ length: 80 }, (_, i) => String(i * 1001)).join(', ') + ']\n';
  const text = 'a = 1\n' + long + 'b = 2\n';
  const tokens = tokenizeDocument(text);
  const cuts = cutBlocks(tokens, []);
  const blocks = blockTexts(text);
  assert.equal(blocks.join(''), text);
  assert.equal(blocks[0], 'a = 1\n', 'the short line before the long one stays whole');
  for (let b = 1; b + 1 < cuts.length - 1; b++) assert.equal(cuts[b + 1] - cuts[b], 32, 'pieces of a long line are full');
  assert.ok(blocks[blocks.length - 1].endsWith('b = 2\n'));
});

test('appending text moves no earlier boundary', () => {
  const base = Array.from({ length: 40 }, (_, i) => `User: question number ${i} about the weather\nAssistant: answer ${i}\n\n`).join('');
  const more = base + 'User: one more\nAssistant: fine\n\n';
  const a = cutBlocks(tokenizeDocument(base), []);
  const b = cutBlocks(tokenizeDocument(more), []);
  assert.deepEqual([...b.subarray(0, a.length - 1)], [...a.subarray(0, a.length - 1)]);
});

test('an empty document has no blocks', () => {
  assert.deepEqual([...cutBlocks(new Uint32Array(0), [])], [0]);
});
