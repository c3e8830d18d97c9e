// A focus result as Markdown: the budget used, the prompt's composition by level of detail, and one
// strip per document (█ exact, ▓ block gist, ░ group gist, · document root), as the CLI draws them.
import type { EntrySummary, FocusResult } from '../models/protocol';
import { LOD_GLYPHS, lodStrip } from '../core/strip';

const LOD_NAME = ['exact (LOD0)', 'block gists (LOD1)', 'group gists (LOD2)', 'document roots'];
const WIDTH = 40;

function strip(entries: EntrySummary[]): string {
  return lodStrip(entries, Math.max(...entries.map((e) => e.end)), WIDTH);
}

/** The line every surface shows when focus ran without the learned models. */
export function lexicalOnlyNotice(reason: string): string {
  return `Lexical-only mode: the MegaContext models did not load (${reason}), so focus follows word matches alone. Run "MegaContext: Show Runtime Info" for details.`;
}

export function focusReport(result: FocusResult): string {
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
