// Geometry of the focus map, shared by the webview app (drawing, hit testing, keyboard moves) and the
// unit tests. Pure and DOM-free: the webview build compiles it too, so it imports only the protocol.
import type { FocusSnapshot, SpanLod } from './protocol';

export interface LayoutOptions {
  /** Height of the path label above each strip. */
  labelHeight?: number;
  /** Vertical space below each strip. */
  gap?: number;
  /** Horizontal padding on both sides. */
  padX?: number;
}

/** One span's rectangle, in CSS pixels from the top-left of the map. */
export interface SpanRect {
  doc: number;
  span: number;
  lod: SpanLod;
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface RowLayout {
  doc: number;
  /** Top of the row (its label). */
  y: number;
  /** Top and height of the strip. */
  stripY: number;
  stripH: number;
  /** Rectangles of the document's spans, left to right. */
  rects: SpanRect[];
}

export interface StripLayout {
  width: number;
  rowHeight: number;
  labelHeight: number;
  padX: number;
  rows: RowLayout[];
  /** Total height of all rows. */
  height: number;
  spanCount: number;
}

/**
 * Documents the map draws: the leading ones with any span finer than a root line (the snapshot lists them
 * first, by relevance). The rest, shown to the model only by their root line, the viewer lists folded by folder.
 */
export function mappedDocuments(snapshot: FocusSnapshot): number {
  const i = snapshot.documents.findIndex((d) => d.spans.length > 0 && d.spans.every((s) => s.lod === 3));
  return i < 0 ? snapshot.documents.length : i;
}

/** Prompt tokens a document's spans cost: its share of the working context (headers aside). */
export function promptTokens(doc: FocusSnapshot['documents'][number]): number {
  let t = 0;
  for (const s of doc.spans) t += s.cost;
  return t;
}

/** Documents shown only by their root line, grouped by folder (in path order), with their prompt tokens. */
export function foldedByFolder(snapshot: FocusSnapshot): { folder: string; docs: number[]; tokens: number }[] {
  const groups = new Map<string, { folder: string; docs: number[]; tokens: number }>();
  for (let d = mappedDocuments(snapshot); d < snapshot.documents.length; d++) {
    const doc = snapshot.documents[d];
    const cut = doc.path.lastIndexOf('/');
    const folder = cut < 0 ? '' : doc.path.slice(0, cut + 1);
    const g = groups.get(folder) ?? { folder, docs: [], tokens: 0 };
    g.docs.push(d);
    g.tokens += promptTokens(doc);
    groups.set(folder, g);
  }
  return [...groups.values()].sort((a, b) => (a.folder < b.folder ? -1 : a.folder > b.folder ? 1 : 0));
}

/**
 * One row per mapped document (mappedDocuments): a label line, then a strip whose full inner width is the document, each span
 * as wide as its share of the document's tokens. Positions are fractional; the drawing rounds.
 */
export function layoutStrips(snapshot: FocusSnapshot, width: number, rowHeight: number, options: LayoutOptions = {}): StripLayout {
  const labelHeight = options.labelHeight ?? Math.min(16, Math.floor(rowHeight / 2));
  const gap = options.gap ?? 4;
  const padX = options.padX ?? 8;
  const inner = Math.max(1, width - 2 * padX);
  const stripH = Math.max(2, rowHeight - labelHeight - gap);
  const rows: RowLayout[] = [];
  let spanCount = 0;
  snapshot.documents.slice(0, mappedDocuments(snapshot)).forEach((doc, d) => {
    const y = d * rowHeight;
    const stripY = y + labelHeight;
    const scale = doc.tokens > 0 ? inner / doc.tokens : 0;
    const rects: SpanRect[] = new Array(doc.spans.length);
    for (let s = 0; s < doc.spans.length; s++) {
      const sp = doc.spans[s];
      rects[s] = { doc: d, span: s, lod: sp.lod, x: padX + sp.start * scale, y: stripY, w: (sp.end - sp.start) * scale, h: stripH };
    }
    spanCount += rects.length;
    rows.push({ doc: d, y, stripY, stripH, rects });
  });
  return { width, rowHeight, labelHeight, padX, rows, height: rows.length * rowHeight, spanCount };
}

/** Rows intersecting [top, bottom): the only ones a virtualized view draws. */
export function visibleRows(layout: StripLayout, top: number, bottom: number): { first: number; last: number } {
  const first = Math.max(0, Math.floor(top / layout.rowHeight));
  const last = Math.min(layout.rows.length - 1, Math.ceil(bottom / layout.rowHeight) - 1);
  return { first, last };
}

/**
 * The span under a point, or undefined. Inside a strip, the nearest span wins (spans narrower than a
 * pixel are still reachable by keyboard; the pointer gets the one drawn there).
 */
export function hitTest(layout: StripLayout, x: number, y: number): { doc: number; span: number } | undefined {
  const row = layout.rows[Math.floor(y / layout.rowHeight)];
  if (!row || y < row.stripY || y >= row.stripY + row.stripH || row.rects.length === 0) return undefined;
  if (x < layout.padX - 1 || x > layout.width - layout.padX + 1) return undefined;
  let lo = 0;
  let hi = row.rects.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (row.rects[mid].x <= x) lo = mid;
    else hi = mid - 1;
  }
  return { doc: row.doc, span: lo };
}

export type Move = 'left' | 'right' | 'up' | 'down' | 'home' | 'end' | 'first' | 'last';

/**
 * Keyboard movement between spans: left/right within a document, home/end to its ends, up/down to the
 * span under the current one in the next non-empty document, first/last to the ends of the whole map.
 */
export function moveSelection(
  layout: StripLayout,
  from: { doc: number; span: number } | undefined,
  key: Move,
): { doc: number; span: number } | undefined {
  const rows = layout.rows;
  const firstIn = (d: number, dir: 1 | -1) => {
    for (let r = d; r >= 0 && r < rows.length; r += dir) if (rows[r].rects.length > 0) return r;
    return -1;
  };
  if (key === 'last') {
    const r = firstIn(rows.length - 1, -1);
    return r < 0 ? undefined : { doc: r, span: rows[r].rects.length - 1 };
  }
  if (key === 'first' || !from || !rows[from.doc] || !rows[from.doc].rects[from.span]) {
    const r = firstIn(0, 1);
    return r < 0 ? undefined : { doc: r, span: 0 };
  }
  const row = rows[from.doc];
  switch (key) {
    case 'left':
      return { doc: from.doc, span: Math.max(0, from.span - 1) };
    case 'right':
      return { doc: from.doc, span: Math.min(row.rects.length - 1, from.span + 1) };
    case 'home':
      return { doc: from.doc, span: 0 };
    case 'end':
      return { doc: from.doc, span: row.rects.length - 1 };
    case 'up':
    case 'down': {
      const r = firstIn(from.doc + (key === 'down' ? 1 : -1), key === 'down' ? 1 : -1);
      if (r < 0) return from;
      const cur = row.rects[from.span];
      const centre = cur.x + cur.w / 2;
      const target = hitTest(layout, Math.min(Math.max(centre, layout.padX), layout.width - layout.padX), rows[r].stripY);
      return target ?? { doc: r, span: 0 };
    }
  }
}
