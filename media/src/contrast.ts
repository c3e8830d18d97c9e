// Legible LOD colours in any theme. The theme gives the hues (VS Code's chart colours); this keeps every one
// at least 3:1 against the background (WCAG 2 non-text contrast) and makes exact text the most prominent:
// gists are quieted toward the background (never under 3:1), exact text pushed away from it. Pure colour
// arithmetic, so the same numbers hold for the canvas, the gauge and the legend.

export type Rgb = [number, number, number];

/** WCAG 2 relative luminance of an sRGB colour (0-255 channels). */
export function luminance([r, g, b]: Rgb): number {
  const lin = (c: number) => {
    const s = c / 255;
    return s <= 0.04045 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
}

export function contrast(a: Rgb, b: Rgb): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}

const mix = (a: Rgb, b: Rgb, t: number): Rgb => [0, 1, 2].map((i) => Math.round(a[i] + (b[i] - a[i]) * t)) as Rgb;

function toHsl([r, g, b]: Rgb): [number, number, number] {
  const [R, G, B] = [r / 255, g / 255, b / 255];
  const max = Math.max(R, G, B);
  const min = Math.min(R, G, B);
  const l = (max + min) / 2;
  if (max === min) return [0, 0, l];
  const d = max - min;
  const s = l > 0.5 ? d / (2 - max - min) : d / (max + min);
  const h = max === R ? (G - B) / d + (G < B ? 6 : 0) : max === G ? (B - R) / d + 2 : (R - G) / d + 4;
  return [h / 6, s, l];
}

function fromHsl([h, s, l]: [number, number, number]): Rgb {
  if (s === 0) return [l, l, l].map((v) => Math.round(v * 255)) as Rgb;
  const q = l < 0.5 ? l * (1 + s) : l + s - l * s;
  const p = 2 * l - q;
  const channel = (t: number) => {
    const u = t < 0 ? t + 1 : t > 1 ? t - 1 : t;
    return u < 1 / 6 ? p + (q - p) * 6 * u : u < 1 / 2 ? q : u < 2 / 3 ? p + (q - p) * (2 / 3 - u) * 6 : p;
  };
  return [channel(h + 1 / 3), channel(h), channel(h - 1 / 3)].map((v) => Math.round(v * 255)) as Rgb;
}

/**
 * The colour made lighter (`up`) or darker in HSL lightness, keeping its hue and saturation (mixing with white
 * or black would grey it: an orange raised that way turns tan), until `ok` holds.
 */
function brighten(c: Rgb, up: boolean, ok: (x: Rgb) => boolean): Rgb {
  const [h, s, l] = toHsl(c);
  for (let k = 0; k <= 100; k++) {
    const x = fromHsl([h, s, Math.min(1, Math.max(0, up ? l + k / 100 : l - k / 100))]);
    if (ok(x)) return x;
  }
  return up ? [255, 255, 255] : [0, 0, 0];
}

/** The colour moved toward `to` in small steps until `ok` holds (or `to` is reached). */
function shift(c: Rgb, to: Rgb, ok: (x: Rgb) => boolean): Rgb {
  for (let t = 0; t <= 1.0001; t += 0.02) {
    const x = mix(c, to, t);
    if (ok(x)) return x;
  }
  return to;
}

/** Least contrast of any LOD colour; a margin above 3:1 survives antialiasing and rounding. */
export const MIN_CONTRAST = 3.2;
/** Gists above this are quieted toward it, so exact text stands out (not in high-contrast themes). */
const QUIET_CONTRAST = 4.2;
/** How far exact text stays above the most visible gist. */
const EXACT_LEAD = 1.2;

/**
 * The colours to draw LOD0-3 with on `bg`. `lods` are the theme's colours, already composited over `bg`.
 * `highContrast`: keep gists as the theme has them (only raised to the minimum).
 */
export function legibleLods(lods: readonly Rgb[], bg: Rgb, highContrast: boolean): Rgb[] {
  const dark = luminance(bg) < 0.18;
  const out = lods.map((c, lod) => {
    let x = contrast(c, bg) < MIN_CONTRAST ? brighten(c, dark, (y) => contrast(y, bg) >= MIN_CONTRAST) : c;
    if (lod > 0 && !highContrast && contrast(x, bg) > QUIET_CONTRAST) {
      // Quieter, but never under the minimum: the last colour that still has QUIET_CONTRAST.
      let last = x;
      shift(x, bg, (y) => {
        if (contrast(y, bg) < QUIET_CONTRAST) return true;
        last = y;
        return false;
      });
      x = last;
    }
    return x;
  });
  const lead = Math.max(...out.slice(1).map((c) => contrast(c, bg))) * EXACT_LEAD;
  if (contrast(out[0], bg) < lead) out[0] = brighten(out[0], dark, (y) => contrast(y, bg) >= lead);
  return out;
}

/** `rgb(r, g, b)` for CSS and canvas. */
export const css = ([r, g, b]: Rgb): string => `rgb(${r}, ${g}, ${b})`;
