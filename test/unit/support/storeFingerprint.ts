// What a store holds, reduced to what must survive a write and a read exactly: document ids, kinds,
// token counts and ids, and the stored (fp16 / uint8) forms of gists and salience. Used by the fault
// injection tests on both sides of a crash: the writer (before it writes) and the reader (after).
import { createHash } from 'node:crypto';
import type { StoredDocument } from '../../../src/core/document';
import { encodeHalf } from '../../../src/core/fp16';
import { quantizeSalience } from '../../../src/core/storeFormat';

export interface StoreFingerprint {
  ids: string[];
  tokenCounts: number[];
  /** sha256 of every document's tokens, fp16 gist bits and quantized salience, in order. */
  hash: string;
}

export function fingerprint(docs: Iterable<StoredDocument>, blockTokens = 32, groupBlocks = 32): StoreFingerprint {
  const h = createHash('sha256');
  const ids: string[] = [];
  const tokenCounts: number[] = [];
  const bytes = (a: ArrayBufferView) => h.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  for (const d of docs) {
    ids.push(d.id);
    tokenCounts.push(d.tokens.length);
    h.update(JSON.stringify([d.id, d.kind, d.appending, d.contentHash, d.mtimeMs, d.tokens.length]));
    bytes(d.tokens);
    for (const g of [d.lod1Gists, d.lod2Gists]) {
      const half = new Uint16Array(g.length);
      encodeHalf(g, half);
      bytes(half);
    }
    for (const [s, row] of [[d.lod1Salience, blockTokens], [d.lod2Salience, groupBlocks]] as const) {
      const q = new Uint8Array(s.length);
      quantizeSalience(s, row, q);
      bytes(q);
    }
  }
  return { ids, tokenCounts, hash: h.digest('hex') };
}
