import type { Entry } from '../core/entry';

const GLYPH = ['█', '▓', '░', '·'];
export const STRIP_LEGEND = '█ LOD0 exact, ▓ LOD1, ░ LOD2, · collapsed document';

/** One line per document: `width` cells over its tokens, each showing the finest LOD inside it. */
export function lodStrip(entries: Entry[], width: number): string {
  const n = entries[0].doc.tokenCount;
  if (n === 0 || entries[0].lod === 3) return GLYPH[3].repeat(width);
  const cells = new Array<number>(width).fill(3);
  for (const e of entries) {
    const a = Math.floor((e.start / n) * width);
    const b = Math.max(a + 1, Math.ceil((e.end / n) * width));
    for (let c = a; c < Math.min(width, b); c++) cells[c] = Math.min(cells[c], e.lod);
  }
  return cells.map((l) => GLYPH[l]).join('');
}
