/**
 * The persistent, versioned on-disk store of a tree: one file per store.
 *
 * Layout (all integers little-endian):
 *   0   "MGCX"                  magic
 *   4   uint32  format version  (STORE_FORMAT_VERSION)
 *   8   uint32  header length H (bytes of UTF-8 JSON)
 *   12  uint32  crc32 of the header JSON
 *   16  header JSON (StoreFileHeader), then zero padding to a multiple of 8
 *   D   data region: for each document in header order, seven sections, each starting at a
 *       multiple of 8 (relative to D, itself a multiple of 8) with zero padding between them:
 *         tokens        uint32[tokens]
 *         lod1Gists     int8[lod1 * dim]             row-symmetric: x = q * scale (quant.ts)
 *         lod1Scales    float32[lod1]
 *         lod1Salience  uint8[lod1 * blockTokens]   row-relative: round(s / rowMax * 255) (quant.ts)
 *         lod2Gists     int8[lod2 * dim]
 *         lod2Scales    float32[lod2]
 *         lod2Salience  uint8[lod2 * groupBlocks]
 *         blocks        uint32[blocks]               token offsets of block boundaries (blocks.ts), 0 … tokens
 * A file's header entry may carry `stat` (StatTuple): what its change detection compares (indexer.ts).
 * It is optional, so a store written without it loads and its files are compared by content once.
 * Each section carries [offset, byteLength, crc32] in its document's header entry; the reader
 * recomputes the canonical layout and requires it exactly, checks every padding byte is zero and
 * the file ends exactly at the last section, so every single-bit change is detected.
 */
import * as os from 'node:os';
import * as zlib from 'node:zlib';
import type { DocumentKind, FileStat, StoreHeader } from './document';

export const STORE_FILE = 'tree.mgc';
/** 3: blocks of whole lines, their boundaries stored (2: fixed 32-token blocks with int8 gists; 1: binary16 gists). */
export const STORE_FORMAT_VERSION = 3;
export const MAGIC = 'MGCX';
export const PREFIX_BYTES = 16;
export const ALIGN = 8;
export const KINDS: readonly DocumentKind[] = ['file', 'chat', 'notes'];
export const SECTIONS = ['tokens', 'lod1Gists', 'lod1Scales', 'lod1Salience', 'lod2Gists', 'lod2Scales', 'lod2Salience', 'blocks'] as const;
export type SectionName = (typeof SECTIONS)[number];
export const LITTLE_ENDIAN = os.endianness() === 'LE';

/** document.ts FileStat as [size, mtimeMs, ctimeMs, ino, racy 0|1]: compact in a 100k-file header. */
export type StatTuple = [number, number, number, number, 0 | 1];

export function statTuple(s: FileStat): StatTuple {
  return [s.size, s.mtimeMs, s.ctimeMs, s.ino, s.racy ? 1 : 0];
}

/** The FileStat of a stored tuple, or null when it is malformed. */
export function statFromTuple(t: unknown): FileStat | null {
  if (!Array.isArray(t) || t.length !== 5 || !t.every((v) => typeof v === 'number' && Number.isFinite(v))) return null;
  const [size, mtimeMs, ctimeMs, ino, racy] = t as number[];
  if (!Number.isSafeInteger(size) || size < 0 || !Number.isSafeInteger(ino) || ino < 0 || (racy !== 0 && racy !== 1)) return null;
  return { size, mtimeMs, ctimeMs, ino, racy: racy === 1 };
}

/** [offset relative to the data region, byte length, crc32] */
export type SectionRef = [number, number, number];

export interface DocMeta {
  id: string;
  kind: DocumentKind;
  appending: boolean;
  contentHash: string;
  mtimeMs: number;
  /** Files only: [size, mtimeMs, ctimeMs, ino, racy 0|1] (document.ts FileStat); absent = compare by content. */
  stat?: StatTuple;
  tokens: number;
  lod1: number;
  lod2: number;
  /** Block boundaries stored (blocks + 1): the token offsets where blocks start, and the end. */
  blocks: number;
  sections: SectionRef[];
}

export interface StoreFileHeader extends StoreHeader {
  docCount: number;
  dataBytes: number;
  docs: DocMeta[];
}

// ---------------------------------------------------------------------------------------------
// checksums

let tableCrc: Uint32Array | undefined;
/** crc32 of `data`, continuing from `value` (the crc32 of what came before; 0 to start). */
export function crc32Fallback(data: Uint8Array, value = 0): number {
  if (!tableCrc) {
    tableCrc = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      tableCrc[n] = c >>> 0;
    }
  }
  let c = (value ^ 0xffffffff) >>> 0;
  for (let i = 0; i < data.length; i++) c = tableCrc[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
/** zlib.crc32 exists from Node 20.15 / 22.2; older runtimes (some Electron builds) use ours. */
export const crc32: (data: Uint8Array, value?: number) => number =
  typeof (zlib as { crc32?: unknown }).crc32 === 'function' ? (d, v = 0) => zlib.crc32(d, v) >>> 0 : crc32Fallback;

// ---------------------------------------------------------------------------------------------
// shapes

export const align = (n: number): number => Math.ceil(n / ALIGN) * ALIGN;

export function sectionBytes(name: SectionName, m: Pick<DocMeta, 'tokens' | 'lod1' | 'lod2' | 'blocks'>, h: StoreHeader): number {
  switch (name) {
    case 'blocks': return m.blocks * 4;
    case 'tokens': return m.tokens * 4;
    case 'lod1Gists': return m.lod1 * h.dim;
    case 'lod1Scales': return m.lod1 * 4;
    case 'lod1Salience': return m.lod1 * h.blockTokens;
    case 'lod2Gists': return m.lod2 * h.dim;
    case 'lod2Scales': return m.lod2 * 4;
    case 'lod2Salience': return m.lod2 * h.groupBlocks;
  }
}

/** Null when the counts are a legal shape, else what is wrong. */
export function shapeProblem(m: Pick<DocMeta, 'tokens' | 'lod1' | 'lod2' | 'blocks'>, h: StoreHeader): string | null {
  for (const k of ['tokens', 'lod1', 'lod2', 'blocks'] as const) {
    if (!Number.isSafeInteger(m[k]) || m[k] < 0) return `${k} count ${m[k]} is not a non-negative integer`;
  }
  // Block boundaries: nBlocks + 1 of them, at least one LOD1 node per block but the appending tail's.
  if (m.blocks < 1 || m.blocks > m.tokens + 1) return `${m.blocks} block boundaries for ${m.tokens} tokens`;
  if (m.lod1 > m.blocks - 1) return `${m.lod1} LOD1 nodes exceed the ${m.blocks - 1} blocks`;
  // Blocks are runs of whole lines of at most blockTokens tokens, so a document has at most one per token.
  const maxLod1 = m.tokens;
  if (m.lod1 > maxLod1) return `${m.lod1} LOD1 nodes exceed the ${maxLod1} blocks of ${m.tokens} tokens`;
  const maxLod2 = Math.ceil(m.lod1 / h.groupBlocks);
  if (m.lod2 > maxLod2) return `${m.lod2} LOD2 nodes exceed the ${maxLod2} groups of ${m.lod1} LOD1 nodes`;
  return null;
}

export function headerProblem(h: StoreHeader): string | null {
  if (typeof h.modelId !== 'string') return 'modelId is not a string';
  for (const k of ['dim', 'blockTokens', 'groupBlocks'] as const) {
    if (!Number.isSafeInteger(h[k]) || h[k] <= 0) return `${k} ${String(h[k])} is not a positive integer`;
  }
  return null;
}
