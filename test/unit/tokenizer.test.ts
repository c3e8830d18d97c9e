import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { boundaryCharOffsets, detokenize, lineOf, lineStarts, tokenize, countPromptTokens, hasLongRun } from '../../src/core/tokenizer';
import { PackedTokens } from '../../src/core/packedTokens';

/** String offsets of fixed-size token blocks of `size` tokens (boundaryCharOffsets at every size-th token). */
function blockCharOffsets(text: string, ids: Uint32Array, size: number): Uint32Array {
  const n = Math.ceil(ids.length / size);
  return boundaryCharOffsets(text, ids, Array.from({ length: n + 1 }, (_, b) => Math.min(ids.length, b * size)));
}

test('o200k round-trips text exactly, special-token strings included', () => {
  const text = 'def f(x):\n    return x  # héllo 😀 日本語 <|endoftext|>\r\n';
  const ids = tokenize(text);
  assert.equal(detokenize(ids), text);
  assert.equal(countPromptTokens(text), ids.length);
});

test('block offsets tile the text even when a block boundary splits a multi-byte character', () => {
  // Emoji and CJK are several bytes; with 1- and 3-token blocks many boundaries fall mid-character.
  const text = '😀😀 日本語のテキスト 🇫🇷 ñandú ' + 'ж'.repeat(17);
  const ids = tokenize(text);
  for (const size of [1, 2, 3, 32]) {
    const off = blockCharOffsets(text, ids, size);
    assert.equal(off.length, Math.ceil(ids.length / size) + 1);
    assert.equal(off[0], 0);
    assert.equal(off[off.length - 1], text.length);
    let joined = '';
    for (let k = 0; k + 1 < off.length; k++) {
      assert.ok(off[k] <= off[k + 1]);
      const piece = text.slice(off[k], off[k + 1]);
      assert.ok(!/[\uD800-\uDBFF]$/.test(piece), 'a block never ends inside a surrogate pair');
      joined += piece;
    }
    assert.equal(joined, text);
  }
});

test('block offsets tile any string (property)', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'grapheme', maxLength: 200 }), fc.integer({ min: 1, max: 40 }), (text, size) => {
      const ids = tokenize(text);
      const off = blockCharOffsets(text, ids, size);
      let joined = '';
      for (let k = 0; k + 1 < off.length; k++) joined += text.slice(off[k], off[k + 1]);
      return joined === text && off[off.length - 1] === text.length;
    }),
    { numRuns: 200 },
  );
});

test('line numbers of offsets', () => {
  const starts = lineStarts('a\nbb\n\nccc');
  assert.deepEqual([...starts], [0, 2, 5, 6]);
  assert.equal(lineOf(starts, 0), 1);
  assert.equal(lineOf(starts, 3), 2);
  assert.equal(lineOf(starts, 5), 3);
  assert.equal(lineOf(starts, 8), 4);
});

test('hasLongRun agrees with the long-run regex on runs of every class around the 256 threshold (property)', () => {
  const longRuns = /\s{256,}|[\p{L}\p{M}]{256,}|[^\s\p{L}\p{N}]{256,}/u;
  const chars = ['a', 'Z', ' ', '\n', '\t', '1', '-', '(', '_', 'é', '\u0301', '\u00a0', '中', '٣', '😀', '\ud800', '\u2028', '\ufeff'];
  fc.assert(
    fc.property(
      fc.array(fc.record({ ch: fc.constantFrom(...chars), n: fc.integer({ min: 1, max: 300 }) }), { minLength: 1, maxLength: 6 }),
      (runs) => {
        const text = runs.map((r) => r.ch.repeat(r.n)).join('');
        return hasLongRun(text) === longRuns.test(text);
      },
    ),
    { numRuns: 2000 },
  );
  assert.equal(hasLongRun(' '.repeat(256)), true);
  assert.equal(hasLongRun(' '.repeat(255) + 'x'), false);
});

test('packed token ids: 18 bits each round-trip every o200k id, at 2.25 bytes per token', () => {
  const ids = [0, 1, 65535, 65536, 131071, 131072, 199997, 200018, 262143, 12, 70000];
  const p = new PackedTokens(ids);
  assert.equal(p.length, ids.length);
  ids.forEach((id, i) => assert.equal(p.at(i), id, `index ${i}`));
  assert.deepEqual([...p.unpack()], ids);
  assert.deepEqual([...p.unpack(3, 6)], ids.slice(3, 6));
  const text = 'def décode(x):\n    return x  # ✓ 数据\n'.repeat(50);
  const t = tokenize(text);
  const q = new PackedTokens(t);
  assert.deepEqual(q.unpack(), t);
  assert.equal(detokenize(q.unpack()), text);
  assert.ok(q.byteLength <= Math.ceil(t.length * 2.25) + 1);
  assert.throws(() => new PackedTokens([1 << 18]), RangeError);
});
