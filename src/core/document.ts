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
 * For a complete file nb = ceil(tokens/32), ng = ceil(nb/32). For an appending document
 * (a chat transcript) only complete blocks and complete groups have nodes.
 */
export interface StoredDocument {
  /** Absolute path for files; `chat:<session>` or `notes:<name>` for memory documents. */
  id: string;
  kind: DocumentKind;
  appending: boolean;
  /** sha256 (hex) of the document's UTF-8 text. */
  contentHash: string;
  mtimeMs: number;
  tokens: Uint32Array;
  lod1Gists: Int8Array;
  lod1Scales: Float32Array;
  lod1Salience: Uint8Array;
  lod2Gists: Int8Array;
  lod2Scales: Float32Array;
  lod2Salience: Uint8Array;
}

export interface StoreHeader {
  /** Identifies the exact model files that produced the gists (sha256 prefix of their bytes). */
  modelId: string;
  dim: number;
  blockTokens: number;
  groupBlocks: number;
}

export type { Lod };
