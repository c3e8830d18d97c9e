import { FocusEngine } from '../core/engine';
import { terms } from '../core/lexical';
import type { ModelRuntime } from '../core/runtime';
import { Tree } from '../core/tree';
import { bm25Rank, ChunkIndex, coveredShare, lineChunks, packByRank } from './baselines';
import type { Conversation } from './locomo';

/**
 * Where LoCoMo recall is lost, and how much of it words could win back: a diagnosis for development
 * (`megacontext eval --ceiling`), not a result. For the lexical plan (mc-lexical) at each budget it gives
 *  - recall per question category, beside BM25 over 250-token chunks on the same questions;
 *  - recall when each question carries its gold answer's words: the plan, the map and the budget are
 *    unchanged, so this is what a perfect query expansion could reach;
 *  - for every evidence turn the plan misses, how many of the question's search terms the turn holds
 *    besides the participants' names (which are on every line).
 */
export interface CeilingRow {
  budget: number;
  n: number;
  /** Questions recalled, by category (1 multi-hop, 2 temporal, 3 open-domain, 4 single-hop). */
  byCategory: Record<number, { n: number; plan: number; bm25: number }>;
  plan: number;
  bm25: number;
  /** Recalled when the question carries its gold answer's words. */
  withAnswer: number;
  /** Missed evidence turns by how many content terms they share with the question (0, 1, 2 or more). */
  missedTurns: [number, number, number];
}

/** The question's search terms that `line` also holds, the participants' names aside. */
export function sharedContentTerms(question: string, line: string, names: readonly string[]): string[] {
  const skip = new Set(names.flatMap((n) => terms(n)));
  const held = new Set(terms(line));
  return [...new Set(terms(question))].filter((t) => held.has(t) && !skip.has(t));
}

export async function locomoCeiling(conversations: Conversation[], runtime: ModelRuntime, budgets: number[], log: (s: string) => void = () => {}): Promise<CeilingRow[]> {
  const rows: CeilingRow[] = budgets.map((budget) => ({ budget, n: 0, byCategory: {}, plan: 0, bm25: 0, withAnswer: 0, missedTurns: [0, 0, 0] }));
  for (const c of conversations) {
    const tree = new Tree(runtime);
    await tree.ingest([{ id: `locomo/${c.id}`, text: c.text, kind: 'file' }]);
    const engine = new FocusEngine(tree, runtime);
    const chunks = new ChunkIndex(lineChunks([c.text], 250));
    const names = [...new Set(c.speakers.values())];
    const shown = async (query: string, budget: number) =>
      (await engine.focus({ query, budget, scorer: 'lexical' })).rendered.exactRuns.map((r): [number, number] => [r.charStart, r.charEnd]);
    for (const q of c.questions) {
      const gold = q.evidence.map((e) => c.lines.get(e)!);
      for (const row of rows) {
        const exact = await shown(q.question, row.budget);
        const got = gold.map(([s, e]) => coveredShare(s, e, exact) >= 0.5);
        const bm25 = packByRank(chunks.chunks, bm25Rank(chunks, q.question), [`locomo/${c.id}`], row.budget).picked.map((p): [number, number] => [p.start, p.end]);
        const hitBm25 = gold.every(([s, e]) => coveredShare(s, e, bm25) >= 0.5);
        const oracle = await shown(`${q.question} ${q.answer}`, row.budget);
        const cat = (row.byCategory[q.category] ??= { n: 0, plan: 0, bm25: 0 });
        row.n++;
        cat.n++;
        if (got.every(Boolean)) { row.plan++; cat.plan++; }
        if (hitBm25) { row.bm25++; cat.bm25++; }
        if (gold.every(([s, e]) => coveredShare(s, e, oracle) >= 0.5)) row.withAnswer++;
        got.forEach((ok, i) => {
          if (ok) return;
          const [s, e] = gold[i];
          row.missedTurns[Math.min(2, sharedContentTerms(q.question, c.text.slice(s, e), names).length)]++;
        });
      }
    }
    log(`  ceiling: locomo/${c.id} done (${c.questions.length} questions)`);
  }
  return rows;
}

export function formatCeiling(ids: string[], rows: CeilingRow[]): string {
  const pct = (a: number, n: number) => (n > 0 ? ((100 * a) / n).toFixed(1) : '-');
  const cats = [...new Set(rows.flatMap((r) => Object.keys(r.byCategory).map(Number)))].sort((a, b) => a - b);
  const out = [
    `LoCoMo ${ids.join(', ')}: recall % of the lexical plan (mc-lexical) by category, BM25 over 250-token chunks, and the plan when each question carries its gold answer's words (an upper bound for query expansion, not a result)`,
    `| W | n | ${cats.map((k) => `cat ${k} (n)`).join(' | ')} | mc-lexical | bm25-chunks | with the answer's words | missed turns sharing 0 / 1 / 2+ content words |`,
    `| --- | --- | ${cats.map(() => '---').join(' | ')} | --- | --- | --- | --- |`,
  ];
  for (const r of rows) {
    const byCat = cats.map((k) => {
      const c = r.byCategory[k];
      return c ? `${pct(c.plan, c.n)} / ${pct(c.bm25, c.n)} (${c.n})` : '-';
    });
    out.push(`| ${r.budget} | ${r.n} | ${byCat.join(' | ')} | ${pct(r.plan, r.n)} | ${pct(r.bm25, r.n)} | ${pct(r.withAnswer, r.n)} | ${r.missedTurns.join(' / ')} |`);
  }
  out.push('(per category: mc-lexical / bm25-chunks; content words = the question\'s search terms other than the participants\' names)');
  return out.join('\n');
}
