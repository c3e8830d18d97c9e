// Words for spans, the gauge and telemetry: shared by the tooltip, the live region and the legend.
import type { FocusSnapshot, FocusSpan, RefocusTelemetry, SpanLod } from '../../src/webview/protocol';

export const LOD_NAMES: Record<SpanLod, string> = {
  0: 'LOD0 exact text',
  1: 'LOD1 block gist',
  2: 'LOD2 group gist',
  3: 'document root',
};

export const LOD_SHORT: Record<SpanLod, string> = { 0: 'LOD0 exact', 1: 'LOD1 gist', 2: 'LOD2 gist', 3: 'root line' };

const nf = new Intl.NumberFormat('en-US');
export const n = (x: number): string => nf.format(Math.round(x));

export function lineRange(s: FocusSpan): string {
  return s.startLine === s.endLine ? `line ${s.startLine}` : `lines ${s.startLine}–${s.endLine}`;
}

/** One line naming a span, for the tooltip header and screen readers. */
export function spanSummary(path: string, s: FocusSpan): string {
  const parts = [path, lineRange(s), LOD_NAMES[s.lod], `score ${s.score.toFixed(2)}`, `${n(s.cost)} prompt tokens for ${n(s.end - s.start)}`];
  if (s.pinned) parts.push('pinned');
  return parts.join(' · ');
}

export function gaugeText(s: FocusSnapshot): string {
  const pct = s.budget > 0 ? Math.round((100 * s.usedTokens) / s.budget) : 0;
  return `${n(s.usedTokens)} / ${n(s.budget)} tokens (${pct}%)`;
}

export function telemetryText(t: RefocusTelemetry): string {
  const ms = (x: number) => `${x < 10 ? x.toFixed(1) : Math.round(x)} ms`;
  return [
    `${n(t.actions)} actions (${n(t.expands)} expands, ${n(t.collapses)} collapses)`,
    `swap rate ${(100 * t.swapRate).toFixed(1)}%`,
    `${n(t.iterations)} iterations`,
    `tail ${ms(t.timings.tailMs)}, score ${ms(t.timings.scoreMs)}, allocate ${ms(t.timings.allocateMs)}, render ${ms(t.timings.renderMs)}, total ${ms(t.timings.totalMs)}`,
  ].join(' · ');
}

/** Spans and tokens per LOD. */
export function lodCounts(s: FocusSnapshot): Record<SpanLod, number> {
  const c: Record<SpanLod, number> = { 0: 0, 1: 0, 2: 0, 3: 0 };
  for (const d of s.documents) for (const sp of d.spans) c[sp.lod]++;
  return c;
}
