/** Glyph per LOD in a one-line map: exact, block gist, group gist, document root. */
export const LOD_GLYPHS = ['█', '▓', '░', '·'] as const;
export const STRIP_LEGEND = '█ LOD0 exact, ▓ LOD1, ░ LOD2, · collapsed document';

/** One line per document: `width` cells over its `tokens`, each showing the finest LOD inside it. */
export function lodStrip(spans: readonly { start: number; end: number; lod: number }[], tokens: number, width: number): string {
  if (tokens === 0 || spans.length === 0 || spans[0].lod === 3) return LOD_GLYPHS[3].repeat(width);
  const cells = new Array<number>(width).fill(3);
  for (const e of spans) {
    const a = Math.floor((e.start / tokens) * width);
    const b = Math.max(a + 1, Math.ceil((e.end / tokens) * width));
    for (let c = a; c < Math.min(width, b); c++) cells[c] = Math.min(cells[c], e.lod);
  }
  return cells.map((l) => LOD_GLYPHS[l]).join('');
}
