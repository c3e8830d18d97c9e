import type { Lod } from './constants';
import type { TreeDocument } from './tree';

/** One entry of the working context: a node of one document shown at one level of detail. */
export interface Entry {
  doc: TreeDocument;
  lod: Lod;
  /** Node index at its level (block index for LOD0/LOD1, group index for LOD2, 0 for a root). */
  index: number;
  /** Token span [start, end). */
  start: number;
  end: number;
  /** Last score LensNet (or the lexical scorer) gave this entry. */
  score: number;
  /** Held at LOD0: pinned by the user, the active editor, or the recent chat tail. */
  held?: boolean;
  /** A root shown as its bare path, without names: only when every document's full root line would not fit. */
  bare?: boolean;
  /**
   * Folded into one line for its whole folder: only when even bare paths do not fit (tens of thousands
   * of files). The head document of the folder shows `· folder/ (N files, T tok)`; the others show nothing.
   */
  fold?: FolderFold;
}

export interface FolderFold {
  folder: string;
  head: boolean;
  files: number;
  tokens: number;
}

export function entryKey(e: { doc: { id: string }; lod: number; index: number }): string {
  return `${e.lod}:${e.index}:${e.doc.id}`;
}

export function makeEntry(doc: TreeDocument, lod: Lod, index: number): Entry {
  const [start, end] = doc.span(lod, index);
  return { doc, lod, index, start, end, score: 0 };
}

/**
 * A document's root line shown as its bare path (in its folder's one line when `fold` is given). Built
 * as one literal so every such entry shares one hidden class: a spread copy of makeEntry's result gave
 * each its own, about 600 bytes a file of a 100,000-file workspace where every file starts bare.
 */
export function bareEntry(doc: TreeDocument, fold?: FolderFold): Entry {
  const [start, end] = doc.span(3, 0);
  return fold ? { doc, lod: 3, index: 0, start, end, score: 0, bare: true, fold } : { doc, lod: 3, index: 0, start, end, score: 0, bare: true };
}
