// What a store holds, reduced to what must survive a write and a read exactly: document ids, kinds,
// token counts and ids, and the stored (int8 / uint8) forms of gists and salience. Used by the fault
// injection tests on both sides of a crash: the writer (before it writes) and the reader (after).
import { createHash } from 'node:crypto';
import type { StoredDocument } from '../../../src/core/document';

export interface StoreFingerprint {
  ids: string[];
  tokenCounts: number[];
  /** sha256 of every document's tokens, int8 gists and scales and quantized salience, in order. */
  hash: string;
}

export function fingerprint(docs: Iterable<StoredDocument>): StoreFingerprint {
  const h = createHash('sha256');
  const ids: string[] = [];
  const tokenCounts: number[] = [];
  const bytes = (a: ArrayBufferView) => h.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  for (const d of docs) {
    ids.push(d.id);
    tokenCounts.push(d.tokens.length);
    h.update(JSON.stringify([d.id, d.kind, d.appending, d.contentHash, d.mtimeMs, d.tokens.length]));
    bytes(d.tokens);
    // Gists (int8 + scales) and salience (uint8) are in their stored form already.
    for (const a of [d.lod1Gists, d.lod1Scales, d.lod2Gists, d.lod2Scales, d.lod1Salience, d.lod2Salience]) bytes(a);
  }
  return { ids, tokenCounts, hash: h.digest('hex') };
}
