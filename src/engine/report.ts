// A focus result as Markdown: the budget used, the prompt's composition by level of detail, and one
// strip per document (█ exact, ▓ block gist, ░ group gist, · document root), as the CLI draws them.
// Built in the engine (where the strips are drawn) and sent as FocusResult.report, so the extension
// shows it without importing core.
import { LOD_GLYPHS, lodStrip, STRIP_LEGEND } from '../core/strip';
import type { FocusView } from './focusView';
import { lexicalOnlyNotice, type EntrySummary, type FocusResult } from './protocol';

const LOD_NAME = ['exact (LOD0)', 'block gists (LOD1)', 'group gists (LOD2)', 'document roots'];
const WIDTH = 40;

function strip(entries: EntrySummary[]): string {
  return lodStrip(entries, Math.max(...entries.map((e) => e.end)), WIDTH);
}

export function focusReport(result: Omit<FocusResult, 'report' | 'snapshot'>): string {
  const lines: string[] = [];
  if (result.lexicalOnly !== undefined) lines.push(`> **${lexicalOnlyNotice(result.lexicalOnly)}**`, '');
  lines.push(`**Focus for** “${result.query}”: ${result.tokens.toLocaleString('en-US')} of ${result.budget.toLocaleString('en-US')} tokens, ` +
    `${result.exactTokens.toLocaleString('en-US')} of them exact text, ${result.documents} documents; ` +
    `relevance by ${result.scorer === 'lexical' ? 'the lexical plan' : 'LensNet'}.`, '');
  lines.push('| level | entries |', '|---|---|');
  for (const c of result.composition) if (c.entries > 0) lines.push(`| ${LOD_GLYPHS[c.lod]} ${LOD_NAME[c.lod]} | ${c.entries} |`);
  lines.push('', '```');
  const byDoc = new Map<string, EntrySummary[]>();
  for (const e of result.entries) byDoc.set(e.display, [...(byDoc.get(e.display) ?? []), e]);
  for (const [display, entries] of byDoc) {
    const exact = entries.filter((e) => e.lod === 0);
    const lines0 = exact.length ? `  exact L${exact[0].startLine}-${exact[exact.length - 1].endLine}` : '';
    lines.push(`${strip(entries)}  ${display}${lines0}`);
  }
  lines.push('```');
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
