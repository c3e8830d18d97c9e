/**
 * A document's units (units.ts: functions, classes, sections, turns, …) seen through its blocks: which
 * blocks a unit spans, which units a block lies in, and the names a map line shows for a span (the
 * outline: `name L154`). Computed once per document version.
 */
import type { TreeDocument } from './tree';
import { documentUnits, type Unit } from './units';

/**
 * Units whose name is worth a place on a map line. A turn shows its words instead, a paragraph has no
 * name, and a chat session's heading (`Session 14 (1:33 pm on 25 August, 2023)`, ~15 tokens each) cost
 * more of the budget than it told: on the development conversations (LoCoMo 26, 30, 41, W = 2048) session
 * names on map lines took whole-turn recall from 76.8% to 73.9%.
 */
const NAMED = new Set<Unit['kind']>(['function', 'method', 'class', 'interface', 'type', 'section']);

export interface DocumentOutline {
  units: Unit[];
  /** Per unit: its first and last block. */
  first: Uint32Array;
  last: Uint32Array;
  /** Per unit: the block holding its name line. */
  nameBlock: Uint32Array;
  /** Per block: the innermost unit holding it (-1 when none). */
  innermost: Int32Array;
  /** Named units by the block holding their name line, in order. */
  namedIn: Map<number, number[]>;
}

const cache = new WeakMap<TreeDocument, DocumentOutline>();

/** Whether the document's outline is computed (a restored document parses on first use). */
export function hasOutline(doc: TreeDocument): boolean {
  return cache.has(doc);
}

export function outline(doc: TreeDocument): DocumentOutline {
  let o = cache.get(doc);
  if (o) return o;
  const units = doc.nBlocks === 0 ? [] : (doc.units ?? documentUnits(doc.id, doc.text, doc.kind));
  doc.units = undefined; // held once, by the outline
  const n = units.length;
  const first = new Uint32Array(n);
  const last = new Uint32Array(n);
  const nameBlock = new Uint32Array(n);
  const innermost = new Int32Array(doc.nBlocks).fill(-1);
  const namedIn = new Map<number, number[]>();
  const lineChar = (l: number) => doc.lines[Math.min(Math.max(0, l), doc.lines.length - 1)];
  const lineEndChar = (l: number) => (l + 1 < doc.lines.length ? doc.lines[l + 1] : doc.textLength);
  units.forEach((u, i) => {
    first[i] = doc.blockAtChar(lineChar(u.start));
    last[i] = doc.blockAtChar(Math.max(lineChar(u.start), lineEndChar(u.end) - 1));
    nameBlock[i] = doc.blockAtChar(lineChar(u.line));
    // Units come parents first, so a child overwrites its parent: the innermost wins.
    for (let b = first[i]; b <= last[i]; b++) innermost[b] = i;
    if (NAMED.has(u.kind) && u.name) {
      const list = namedIn.get(nameBlock[i]);
      if (list) list.push(i);
      else namedIn.set(nameBlock[i], [i]);
    }
  });
  o = { units, first, last, nameBlock, innermost, namedIn };
  cache.set(doc, o);
  return o;
}

/** The units holding block b, innermost first. */
export function unitChain(doc: TreeDocument, b: number): number[] {
  const o = outline(doc);
  const out: number[] = [];
  for (let u = o.innermost[b] ?? -1; u >= 0; u = o.units[u].parent) out.push(u);
  return out;
}

/** `name L12` items of the named units whose name line lies in blocks [b0, b1], in order. */
export function outlineItems(doc: TreeDocument, b0: number, b1: number): string[] {
  return outlineNames(doc, b0, b1).map((n) => `${mapName(n.name)} L${n.line}`);
}

/** The named units of blocks [b0, b1] as structured data (1-based lines), for the JSON output and the metrics. */
export function outlineNames(doc: TreeDocument, b0: number, b1: number): { name: string; line: number }[] {
  const o = outline(doc);
  const out: { name: string; line: number }[] = [];
  for (let b = b0; b <= b1; b++) {
    const list = o.namedIn.get(b);
    if (list) for (const u of list) out.push({ name: o.units[u].name, line: o.units[u].line + 1 });
  }
  return out;
}

/** A unit name as a map line shows it: one line, no separators of the map's own, at most 60 characters. */
export function mapName(name: string): string {
  const flat = name.replace(/[\s|·]+/g, ' ').trim();
  return flat.length > 60 ? flat.slice(0, 59) + '…' : flat;
}

/** How many units enclose unit u. */
export function unitDepth(units: readonly Unit[], u: number): number {
  let d = 0;
  for (let p = units[u].parent; p >= 0; p = units[p].parent) d++;
  return d;
}
