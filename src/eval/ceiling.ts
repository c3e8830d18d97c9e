import { terms } from '../core/lexical';
import type { ModelRuntime } from '../core/runtime';
import { BASELINES, locomoHaystack, megacontext, prepareHaystack, shownEnough } from './harness';
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
  const plan = megacontext('mc-lexical', 'lexical');
  const bm25 = BASELINES.find((m) => m.name === 'bm25-chunks')!;
  for (const c of conversations) {
    const h = locomoHaystack(c);
    const p = await prepareHaystack(h, runtime);
    const names = [...new Set(c.speakers.values())];
    // The haystack's cases are the conversation's questions, in order.
    for (const [k, q] of c.questions.entries()) {
      const gold = h.cases[k].gold;
      const recalled = (exact: [number, number][][]) => gold.every((g) => shownEnough(g, exact));
      for (const row of rows) {
        const exact = (await plan.run(p, q.question, row.budget)).exact;
        const got = gold.map((g) => shownEnough(g, exact));
        const cat = (row.byCategory[q.category] ??= { n: 0, plan: 0, bm25: 0 });
        row.n++;
        cat.n++;
        if (got.every(Boolean)) { row.plan++; cat.plan++; }
        if (recalled((await bm25.run(p, q.question, row.budget)).exact)) { row.bm25++; cat.bm25++; }
        if (recalled((await plan.run(p, `${q.question} ${q.answer}`, row.budget)).exact)) row.withAnswer++;
        got.forEach((ok, i) => {
          if (!ok) row.missedTurns[Math.min(2, sharedContentTerms(q.question, c.text.slice(gold[i].start, gold[i].end), names).length)]++;
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
