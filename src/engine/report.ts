// A focus result as Markdown: the budget used, the prompt's composition by level of detail, and one
// strip per document (█ exact, ▓ block gist, ░ group gist, · document root), as the CLI draws them.
// Built in the engine (where the strips are drawn) and sent as FocusResult.report, so the extension
// shows it without importing core.
import { LOD_GLYPHS, lodStrip, STRIP_LEGEND } from '../core/strip';
import type { FocusView } from './focusView';
import { lexicalOnlyNotice, type EntrySummary, type FocusResult, type ScorerChoice } from './protocol';
import type { InContextItem } from '../webview/protocol';

const LOD_NAME = ['exact (LOD0)', 'block gists (LOD1)', 'group gists (LOD2)', 'document roots'];
const WIDTH = 40;

function strip(entries: EntrySummary[]): string {
  return lodStrip(entries, Math.max(...entries.map((e) => e.end)), WIDTH);
}

/**
 * Workspace text (paths, unit names, the query) as literal Markdown: every ASCII punctuation character that
 * Markdown or HTML could act on backslash-escaped (CommonMark), line breaks flattened, so a file name cannot add links, HTML or structure.
 */
export function markdownText(text: string): string {
  return text.replace(/[\r\n]+/g, ' ').replace(/[!#&()*+\-./:<=>@[\\\]^_`{|}~]/g, (c) => `\\${c}`);
}

/** A code fence longer than any run of backticks in `body`, so the body cannot close it. */
function fence(body: string): string {
  const longest = Math.max(0, ...[...body.matchAll(/`+/g)].map((m) => m[0].length));
  return '`'.repeat(Math.max(3, longest + 1));
}

/**
 * The exact runs of each document as the prompt shows them: consecutive exact entries merged, one
 * `La-b` per run (`L360-371, L1055-1070, L1154-1166`, never one range spanning the gaps between them).
 */
export function exactRunsByDocument(entries: readonly EntrySummary[]): Map<string, { startLine: number; endLine: number }[]> {
  const runs = new Map<string, { startLine: number; endLine: number }[]>();
  let previous: EntrySummary | undefined;
  for (const e of entries) {
    if (e.lod === 0) {
      const list = runs.get(e.display) ?? [];
      const last = list[list.length - 1];
      if (last && previous?.lod === 0 && previous.display === e.display) last.endLine = Math.max(last.endLine, e.endLine);
      else list.push({ startLine: e.startLine, endLine: e.endLine });
      runs.set(e.display, list);
    }
    previous = e;
  }
  return runs;
}

function runsOf(items: readonly InContextItem[]): Map<string, { startLine: number; endLine: number }[]> {
  const runs = new Map<string, { startLine: number; endLine: number }[]>();
  for (const i of items) runs.set(i.path, [...(runs.get(i.path) ?? []), { startLine: i.startLine, endLine: i.endLine }]);
  return runs;
}

export const lineRanges = (runs: readonly { startLine: number; endLine: number }[]): string =>
  runs.map((r) => (r.startLine === r.endLine ? `L${r.startLine}` : `L${r.startLine}-${r.endLine}`)).join(', ');

/** Why a run is in context, in words: the query's words it contains, a pin, or the scorer's score. */
export function whyText(item: Pick<InContextItem, 'matched' | 'pinned' | 'score'>): string {
  const why: string[] = [];
  if (item.pinned) why.push('pinned');
  if (item.matched.length > 0) why.push(`matches ${item.matched.join(', ')}`);
  if (why.length === 0) why.push(`score ${item.score.toFixed(2)}`);
  return why.join('; ');
}

/** Who scored relevance, in words (the focus report, test logs). */
export const SCORER_NAMES: Record<ScorerChoice, string> = {
  lexical: 'the lexical plan',
  lens2: "the plan with LensNet v2's values",
  lens: 'LensNet',
};

export function focusReport(result: Omit<FocusResult, 'report' | 'snapshot'>, inContext: readonly InContextItem[] = []): string {
  const lines: string[] = [];
  if (result.lexicalOnly !== undefined) lines.push(`> **${markdownText(lexicalOnlyNotice(result.lexicalOnly))}**`, '');
  lines.push(`**Focus for** “${markdownText(result.query)}”: ${result.tokens.toLocaleString('en-US')} of ${result.budget.toLocaleString('en-US')} tokens, ` +
    `${result.exactTokens.toLocaleString('en-US')} of them exact text, ${result.documents} documents; ` +
    `relevance by ${SCORER_NAMES[result.scorer]}.`, '');
  if (inContext.length > 0) {
    lines.push('**In context** (exact text the model reads):', '', '| file | lines | units | why |', '|---|---|---|---|');
    for (const item of inContext) {
      const where = item.startLine === item.endLine ? `L${item.startLine}` : `L${item.startLine}-${item.endLine}`;
      lines.push(`| ${markdownText(item.path)} | ${where} | ${markdownText(item.names.join(', ')) || '—'} | ${markdownText(whyText(item))} |`);
    }
    lines.push('');
  }
  lines.push('| level | entries |', '|---|---|');
  for (const c of result.composition) if (c.entries > 0) lines.push(`| ${LOD_GLYPHS[c.lod]} ${LOD_NAME[c.lod]} | ${c.entries} |`);
  const byDoc = new Map<string, EntrySummary[]>();
  for (const e of result.entries) byDoc.set(e.display, [...(byDoc.get(e.display) ?? []), e]);
  // The prompt's own exact runs when known (inContext comes from the rendered prompt), else merged from the entries.
  const runs = inContext.length > 0 ? runsOf(inContext) : exactRunsByDocument(result.entries);
  const strips: string[] = [];
  for (const [display, entries] of byDoc) {
    const exact = runs.get(display);
    strips.push(`${strip(entries)}  ${display.replace(/[\r\n]+/g, ' ')}${exact ? `  exact ${lineRanges(exact)}` : ''}`);
  }
  const body = strips.join('\n');
  const f = fence(body);
  lines.push('', f, body, f);
  return lines.join('\n') + '\n';
}

/**
 * `megacontext focus` without --json: the prompt (unless `withPrompt` is false), then a line on the
 * focus and a 48-cell LOD strip per document.
 */
export function focusText(view: FocusView, withPrompt: boolean): string {
  const wc = view.wc;
  let text = withPrompt ? wc.rendered.prompt + '\n' : '';
  if (view.lexicalOnly !== undefined) text += `--- lexical-only mode: ${view.lexicalOnly}\n`;
  text += `--- focus for ${JSON.stringify(wc.query)}: ${wc.rendered.tokens}/${wc.budget} tokens, ${wc.telemetry.iterations} iterations, ${wc.timings.totalMs.toFixed(1)} ms  (${STRIP_LEGEND})\n`;
  for (const entries of view.perDoc) text += `${lodStrip(entries, entries[0].doc.tokenCount, 48)}  ${entries[0].display}\n`;
  return text;
}
