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
  /**
   * The same nodes as rows of arrays shared with other documents, when the reader has them so (a store
   * read): the tree keeps these rather than six arrays of its own per document.
   */
  rows?: NodeRows;
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

/** Node arrays in the compact forms of StoredDocument: one row per node, of one or many documents. */
export interface NodeArrays {
  q1: Int8Array;
  k1: Float32Array;
  s1: Uint8Array;
  q2: Int8Array;
  k2: Float32Array;
  s2: Uint8Array;
}

/** A document's nodes: its LOD1 nodes are rows r1… of `nodes`' LOD1 arrays, its LOD2 nodes rows r2…. */
export interface NodeRows {
  nodes: NodeArrays;
  r1: number;
  r2: number;
}

/**
 * Node arrays for several documents (zero-filled) in one buffer sized exactly, each document a range
 * of rows. Six typed arrays per document cost ~600 bytes of every tiny file even as views of a shared
 * buffer (100k files: 60 MB); one set of rows for all costs two numbers each. The buffer lives while
 * any of its documents does: at most one batch's nodes outlive an edit.
 */
export function nodeArrays(counts: readonly { lod1: number; lod2: number }[], dim: number, blockTokens: number, groupBlocks: number): NodeRows[] {
  let lod1 = 0;
  let lod2 = 0;
  const rows = counts.map((c) => {
    const r = { r1: lod1, r2: lod2 };
    lod1 += c.lod1;
    lod2 += c.lod2;
    return r;
  });
  const nodes = nodeArraysOf(lod1, lod2, dim, blockTokens, groupBlocks);
  return rows.map((r) => ({ nodes, ...r }));
}

/** Zero-filled node arrays of `lod1` and `lod2` rows, all views of one buffer. */
export function nodeArraysOf(lod1: number, lod2: number, dim: number, blockTokens: number, groupBlocks: number): NodeArrays {
  const pad = (n: number) => Math.ceil(n / 8) * 8;
  const sizes = [lod1 * dim, lod1 * 4, lod1 * blockTokens, lod2 * dim, lod2 * 4, lod2 * groupBlocks];
  const buf = new ArrayBuffer(sizes.reduce((t, n) => t + pad(n), 0));
  let at = 0;
  const take = (bytes: number): number => {
    const off = at;
    at += pad(bytes);
    return off;
  };
  return {
    q1: new Int8Array(buf, take(sizes[0]), lod1 * dim),
    k1: new Float32Array(buf, take(sizes[1]), lod1),
    s1: new Uint8Array(buf, take(sizes[2]), lod1 * blockTokens),
    q2: new Int8Array(buf, take(sizes[3]), lod2 * dim),
    k2: new Float32Array(buf, take(sizes[4]), lod2),
    s2: new Uint8Array(buf, take(sizes[5]), lod2 * groupBlocks),
  };
}

/** The rows of a stored document's own arrays (each its own set, from row 0). */
export function storedRows(s: Pick<StoredDocument, 'lod1Gists' | 'lod1Scales' | 'lod1Salience' | 'lod2Gists' | 'lod2Scales' | 'lod2Salience'>): NodeRows {
  return { nodes: { q1: s.lod1Gists, k1: s.lod1Scales, s1: s.lod1Salience, q2: s.lod2Gists, k2: s.lod2Scales, s2: s.lod2Salience }, r1: 0, r2: 0 };
}
