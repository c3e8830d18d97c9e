// Canvas drawing of the visible rows. Colours come from CSS custom properties (viewer.css maps them to
// VS Code's theme variables), re-read whenever the theme changes.
import type { SpanLod } from '../../src/webview/protocol';
import type { SpanRect, StripLayout } from '../../src/webview/layout';
import type { FocusSnapshot } from '../../src/webview/protocol';
import { promptTokens } from '../../src/webview/layout';
import { css, legibleLods, type Rgb } from './contrast';
import { n } from './describe';

export interface Palette {
  lod: Record<SpanLod, string>;
  track: string;
  background: string;
  foreground: string;
  description: string;
  focus: string;
  hover: string;
  pin: string;
  expanded: string;
  collapsed: string;
  /** High-contrast themes outline every span. */
  contrastBorder: string;
  font: string;
}

const probe = document.createElement('canvas').getContext('2d', { willReadFrequently: true })!;

/** A CSS colour as the canvas resolves it: [r, g, b, a], channels 0-255. */
function rgba(color: string): [number, number, number, number] {
  probe.clearRect(0, 0, 1, 1);
  probe.fillStyle = '#000';
  probe.fillStyle = color;
  probe.fillRect(0, 0, 1, 1);
  const [r, g, b, a] = probe.getImageData(0, 0, 1, 1).data;
  return [r, g, b, a];
}

/** `color` as seen on the opaque `bg`. */
function over(color: string, bg: Rgb): Rgb {
  const [r, g, b, a] = rgba(color);
  const k = a / 255;
  return [Math.round(r * k + bg[0] * (1 - k)), Math.round(g * k + bg[1] * (1 - k)), Math.round(b * k + bg[2] * (1 - k))];
}

/**
 * Reads the theme, and makes the LOD colours legible on its background (contrast.ts): the canvas draws
 * them and `--lodN-shown` on the body gives them to the gauge and the legend.
 */
export function readPalette(): Palette {
  const root = getComputedStyle(document.documentElement);
  const body = getComputedStyle(document.body);
  const v = (name: string) => root.getPropertyValue(name).trim() || body.getPropertyValue(name).trim();
  // The first opaque background: the body's, the page's, or the theme's side bar colour.
  const bgColor = [body.backgroundColor, root.backgroundColor, v('--bg')].find((c) => c && rgba(c)[3] === 255) ?? v('--bg');
  const [br, bgG, bb] = rgba(bgColor || '#1e1e1e');
  const bg: Rgb = [br, bgG, bb];
  const highContrast = document.body.classList.contains('vscode-high-contrast') || document.body.classList.contains('vscode-high-contrast-light');
  const shown = legibleLods([0, 1, 2, 3].map((l) => over(v(`--lod${l}`), bg)), bg, highContrast).map(css);
  shown.forEach((c, l) => document.body.style.setProperty(`--lod${l}-shown`, c));
  return {
    lod: { 0: shown[0], 1: shown[1], 2: shown[2], 3: shown[3] },
    track: v('--track'),
    background: bgColor,
    foreground: v('--fg'),
    description: v('--desc'),
    focus: v('--focus'),
    hover: v('--fg'),
    pin: v('--pin'),
    expanded: v('--expanded'),
    collapsed: v('--collapsed'),
    contrastBorder: v('--vscode-contrastBorder'),
    font: `${body.fontSize || '12px'} ${body.fontFamily || 'sans-serif'}`,
  };
}

export interface PaintState {
  snapshot: FocusSnapshot;
  layout: StripLayout;
  palette: Palette;
  scrollTop: number;
  viewHeight: number;
  selected?: { doc: number; span: number };
  hovered?: { doc: number; span: number };
  focused: boolean;
  /** Spans changed by the last refocus and the animation's progress (0 new → 1 done). */
  changes: { rect: SpanRect; kind: 'expanded' | 'collapsed' }[];
  progress: number;
}

export function paint(ctx: CanvasRenderingContext2D, st: PaintState): void {
  const { layout, palette: p, scrollTop } = st;
  ctx.clearRect(0, 0, layout.width, st.viewHeight);
  ctx.save();
  ctx.translate(0, -scrollTop);
  ctx.font = p.font;
  ctx.textBaseline = 'middle';
  const first = Math.max(0, Math.floor(scrollTop / layout.rowHeight));
  const last = Math.min(layout.rows.length - 1, Math.ceil((scrollTop + st.viewHeight) / layout.rowHeight));
  const inner = layout.width - 2 * layout.padX;
  for (let r = first; r <= last; r++) {
    const row = layout.rows[r];
    const doc = st.snapshot.documents[row.doc];
    const labelMid = row.y + layout.labelHeight / 2 + 1;
    // Its share of the working context: the prompt tokens its spans cost, not the document's size.
    const used = promptTokens(doc);
    const size = `${n(used)} tok · ${st.snapshot.usedTokens > 0 ? Math.round((100 * used) / st.snapshot.usedTokens) : 0}%`;
    ctx.fillStyle = p.description;
    ctx.textAlign = 'right';
    ctx.fillText(size, layout.width - layout.padX, labelMid);
    const sizeW = ctx.measureText(size).width + 8;
    ctx.textAlign = 'left';
    ctx.fillStyle = p.foreground;
    ctx.fillText(fitLeft(ctx, doc.path, Math.max(0, inner - sizeW)), layout.padX, labelMid);
    ctx.fillStyle = p.track;
    ctx.fillRect(layout.padX, row.stripY, inner, row.stripH);
    let prevEnd = -1;
    for (const rc of row.rects) {
      // Spans narrower than a pixel still draw one pixel; later ones overdraw, so the last wins.
      const x0 = Math.floor(rc.x);
      const x1 = Math.max(x0 + 1, Math.floor(rc.x + rc.w));
      if (x1 <= prevEnd && rc.w < 1) continue;
      ctx.fillStyle = p.lod[rc.lod];
      ctx.fillRect(x0, rc.y, x1 - x0, rc.h);
      if (x1 - x0 >= 4) {
        ctx.fillStyle = p.background;
        ctx.fillRect(x1 - 1, rc.y, 1, rc.h);
      }
      if (p.contrastBorder && x1 - x0 >= 3) {
        ctx.strokeStyle = p.contrastBorder;
        ctx.lineWidth = 1;
        ctx.strokeRect(x0 + 0.5, rc.y + 0.5, x1 - x0 - 2, rc.h - 1);
      }
      if (doc.spans[rc.span].pinned) {
        ctx.fillStyle = p.pin;
        ctx.fillRect(x0, rc.y - 3, Math.max(2, x1 - x0 - 1), 3);
      }
      prevEnd = x1;
    }
  }
  // What the last refocus changed: a ring that fades out.
  if (st.progress < 1) {
    ctx.lineWidth = 2;
    ctx.globalAlpha = 1 - st.progress;
    for (const c of st.changes) {
      if (c.rect.y + c.rect.h < scrollTop || c.rect.y > scrollTop + st.viewHeight) continue;
      ctx.strokeStyle = c.kind === 'expanded' ? p.expanded : p.collapsed;
      const grow = 3 * (1 - st.progress);
      ctx.strokeRect(c.rect.x - grow, c.rect.y - grow, Math.max(2, c.rect.w) + 2 * grow, c.rect.h + 2 * grow);
    }
    ctx.globalAlpha = 1;
  }
  const ring = (at: { doc: number; span: number } | undefined, color: string, width: number, dash: number[]) => {
    const rc = at && layout.rows[at.doc]?.rects[at.span];
    if (!rc) return;
    ctx.strokeStyle = color;
    ctx.lineWidth = width;
    ctx.setLineDash(dash);
    ctx.strokeRect(Math.floor(rc.x) - 1.5, rc.y - 1.5, Math.max(1, rc.w) + 3, rc.h + 3);
    ctx.setLineDash([]);
  };
  if (st.hovered && (st.hovered.doc !== st.selected?.doc || st.hovered.span !== st.selected?.span)) ring(st.hovered, p.hover, 1, []);
  ring(st.selected, p.focus, 2, st.focused ? [] : [3, 2]);
  ctx.restore();
}

/** The path's end, which names the file, kept when the label is too long: `…/dir/file.ts`. */
function fitLeft(ctx: CanvasRenderingContext2D, text: string, max: number): string {
  if (ctx.measureText(text).width <= max) return text;
  let lo = 0;
  let hi = text.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ctx.measureText('…' + text.slice(mid)).width <= max) hi = mid;
    else lo = mid + 1;
  }
  return '…' + text.slice(lo);
}
