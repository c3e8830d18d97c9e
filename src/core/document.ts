import type { Lod } from './constants';

export type DocumentKind = 'file' | 'chat' | 'notes';

/**
 * What the store persists for one document. Text is not stored: it is the exact decoding of
 * `tokens` (o200k BPE is lossless), so the store cannot disagree with itself.
 *
 * Shapes (D = model dimension, nb = LOD1 nodes, ng = LOD2 nodes):
 *  - lod1Gists: nb*D int8 and lod1Scales: nb, lod1Salience: nb*32 (per-token weights of each block)
 *  - lod2Gists: ng*D int8 and lod2Scales: ng, lod2Salience: ng*32 (per-child weights of each group)
 * Gists are int8 with one scale per node (quant.ts), salience is uint8 relative to each row's maximum
 * (quant.ts `quantizedSalience`): the same compact form in memory and on disk.
 * Blocks are runs of whole lines of at most 32 tokens (blocks.ts). For a complete file nb is the number
 * of blocks and ng = ceil(nb/32). For an appending document (a chat transcript) only closed blocks (all
 * but the last) and complete groups have nodes.
 */
export interface StoredDocument {
  /** Absolute path for files; `chat:<session>` or `notes:<name>` for memory documents. */
  id: string;
  kind: DocumentKind;
  appending: boolean;
  /** sha256 (hex) of the document's UTF-8 text. */
  contentHash: string;
  mtimeMs: number;
  /**
   * For files: what the file system said when the text was read (indexer.ts decides staleness by it).
   * Absent for memory documents, for stores written before it existed, and after a text that did not
   * come from disk (an editor's unsaved buffer): the next index then compares the file by content.
   */
  stat?: FileStat;
  tokens: Uint32Array;
  /**
   * Token offsets of block boundaries (nb' + 1 values, nb' blocks; blocks.ts): stored because the cut
   * depends on the parser's units, so a restore needs no parser (stores before format 3 are rebuilt).
   */
  blocks: Uint32Array;
  lod1Gists: Int8Array;
  lod1Scales: Float32Array;
  lod1Salience: Uint8Array;
  lod2Gists: Int8Array;
  lod2Scales: Float32Array;
  lod2Salience: Uint8Array;
}

/**
 * A file's identity and version as the file system reports it, recorded when its text was read. When
 * size, mtime, ctime and inode all equal the recorded ones (and the record is not `racy`), the file is
 * taken as unchanged without reading it; otherwise it is read and compared by content hash, as git does.
 */
export interface FileStat {
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  ino: number;
  /**
   * The file was modified less than RACY_MS (indexer.ts) before it was read: a later write within the
   * same timestamp tick could leave every field equal, so the next index checks its content anyway.
   */
  racy: boolean;
}

export interface StoreHeader {
  /** Identifies the exact model files that produced the gists (sha256 prefix of their bytes). */
  modelId: string;
  dim: number;
  blockTokens: number;
  groupBlocks: number;
}

export type { Lod };

/** One document's node arrays, in the compact forms of StoredDocument. */
export interface NodeArrays {
  q1: Int8Array;
  k1: Float32Array;
  s1: Uint8Array;
  q2: Int8Array;
  k2: Float32Array;
  s2: Uint8Array;
}

/**
 * The node arrays of several documents (zero-filled), all views of one buffer sized exactly. Six
 * typed arrays per document, each with its own ArrayBuffer, cost ~1.5 KB of every tiny file (100k
 * files: 150 MB); views of a shared buffer cost about a third of that. The buffer lives while any of
 * its documents does: at most one batch's nodes outlive an edit.
 */
export function nodeArrays(counts: readonly { lod1: number; lod2: number }[], dim: number, blockTokens: number, groupBlocks: number): NodeArrays[] {
  const pad = (n: number) => Math.ceil(n / 8) * 8;
  const sizes = ({ lod1, lod2 }: { lod1: number; lod2: number }) =>
    [lod1 * dim, lod1 * 4, lod1 * blockTokens, lod2 * dim, lod2 * 4, lod2 * groupBlocks].map(pad);
  let total = 0;
  for (const c of counts) for (const n of sizes(c)) total += n;
  const buf = new ArrayBuffer(total);
  let at = 0;
  const take = (bytes: number): number => {
    const off = at;
    at += pad(bytes);
    return off;
  };
  return counts.map(({ lod1, lod2 }) => ({
    q1: new Int8Array(buf, take(lod1 * dim), lod1 * dim),
    k1: new Float32Array(buf, take(lod1 * 4), lod1),
    s1: new Uint8Array(buf, take(lod1 * blockTokens), lod1 * blockTokens),
    q2: new Int8Array(buf, take(lod2 * dim), lod2 * dim),
    k2: new Float32Array(buf, take(lod2 * 4), lod2),
    s2: new Uint8Array(buf, take(lod2 * groupBlocks), lod2 * groupBlocks),
  }));
}
