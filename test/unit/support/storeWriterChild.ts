// A process that writes a large store over and over, for the fault-injection tests
// (test/unit/storeFaults.test.ts), which SIGKILL it at random moments.
//   node storeWriterChild.js <dir> <firstGeneration> <documents> <tokensPerDocument> <tokenPoolFile>
// Generation g's documents are a pure function of g (see generationDocs). Before writing g it sends
// {kind: 'writing', gen, fp} with the fingerprint of what it is about to write; after the store is
// renamed into place it sends {kind: 'written', gen, ms}.
import type { StoredDocument, StoreHeader } from '../../../src/core/document';
import { readFileSync } from 'node:fs';
import { writeStore } from '../../../src/core/store';
import { fingerprint } from './storeFingerprint';
import { quantizedSalience, quantizeRows } from '../../../src/core/quant';

/** The header of FakeRuntime(16), so the tests can open these stores with openTree. */
export const WRITER_HEADER: StoreHeader = { modelId: 'fake-model', dim: 16, blockTokens: 32, groupBlocks: 32 };

function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return s / 2 ** 32;
  };
}

/** Raw little-endian uint32 token ids (real o200k ids, so a restored tree decodes to real text). */
export function readTokenPool(file: string): Uint32Array {
  const b = readFileSync(file);
  return new Uint32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

/**
 * The documents of generation g: `count` documents minus one (which one depends on g), each
 * `tokens` long, with tokens, gists and salience that depend on g and the document.
 */
export function generationDocs(g: number, count: number, tokens: number, src: Uint32Array, h: StoreHeader = WRITER_HEADER): StoredDocument[] {
  const out: StoredDocument[] = [];
  for (let j = 0; j < count; j++) {
    if (j === g % (count + 1)) continue; // ids change between generations
    const r = rng(g * 7919 + j * 104729 + 1);
    const n = tokens + ((g + j) % 97);
    const shift = Math.floor(r() * src.length);
    const t = new Uint32Array(n);
    for (let k = 0; k < n; k++) t[k] = src[(shift + k) % src.length];
    const lod1 = Math.ceil(n / h.blockTokens);
    const lod2 = Math.ceil(lod1 / h.groupBlocks);
    const fill = (len: number, f: () => number) => Float32Array.from({ length: len }, f);
    const g1 = quantizeRows(fill(lod1 * h.dim, () => r() * 2 - 1), h.dim);
    const g2 = quantizeRows(fill(lod2 * h.dim, () => r() * 2 - 1), h.dim);
    out.push({
      id: `/ws/doc${j}.py`, kind: 'file', appending: false, contentHash: `g${g}-d${j}`, mtimeMs: 1_700_000_000_000 + g,
      tokens: t,
      // Fixed-size blocks stand in for blocks of whole lines: the store only needs them ascending.
      blocks: Uint32Array.from({ length: lod1 + 1 }, (_, b) => Math.min(n, b * h.blockTokens)),
      lod1Gists: g1.q,
      lod1Scales: g1.scales,
      lod1Salience: quantizedSalience(fill(lod1 * h.blockTokens, r), h.blockTokens),
      lod2Gists: g2.q,
      lod2Scales: g2.scales,
      lod2Salience: quantizedSalience(fill(lod2 * h.groupBlocks, r), h.groupBlocks),
    });
  }
  return out;
}

async function main(): Promise<void> {
  const [dir, first, count, tokens] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4]), Number(process.argv[5])];
  const pool = readTokenPool(process.argv[6]);
  const send = (m: unknown) => new Promise<void>((resolve) => process.send!(m, () => resolve()));
  for (let g = first; ; g++) {
    const docs = generationDocs(g, count, tokens, pool);
    await send({ kind: 'writing', gen: g, fp: fingerprint(docs) });
    const t0 = performance.now();
    await writeStore(dir, WRITER_HEADER, docs);
    await send({ kind: 'written', gen: g, ms: performance.now() - t0 });
  }
}

if (require.main === module) {
  main().catch((err) => {
    process.stderr.write(`store writer: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
