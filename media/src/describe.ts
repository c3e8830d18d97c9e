// Words for spans, the gauge and telemetry: shared by the tooltip, the live region and the legend.
import type { FocusSnapshot, FocusSpan, RefocusTelemetry, SpanLod } from '../../src/webview/protocol';

export const LOD_NAMES: Record<SpanLod, string> = {
  0: 'LOD0 exact text',
  1: 'LOD1 block gist',
  2: 'LOD2 group gist',
  3: 'document root',
};

export const LOD_SHORT: Record<SpanLod, string> = { 0: 'LOD0 exact', 1: 'LOD1 gist', 2: 'LOD2 gist', 3: 'root line' };

/** `1 span`, `2 spans`: a count with its noun in the right number. */
export function count(x: number, one: string, many = `${one}s`): string {
  return `${n(x)} ${Math.round(x) === 1 ? one : many}`;
}

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

/** The last refocus in plain words: how long it took and what it changed. */
export function telemetrySummary(t: RefocusTelemetry): string {
  const ms = t.timings.totalMs < 10 ? t.timings.totalMs.toFixed(1) : String(Math.round(t.timings.totalMs));
  const changed = t.expands + t.collapses === 0
    ? 'nothing changed'
    : `${count(t.expands, 'span')} shown in more detail, ${n(t.collapses)} in less`;
  return `Refocused in ${ms} ms: ${changed}.`;
}

/** The rest, for the details toggle. */
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
