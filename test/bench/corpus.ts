/**
 * Benchmark corpora from sources present on every machine: Debian's Python standard library, the
 * TypeScript/JavaScript sources in the project's node_modules, and (for 10M tokens) Debian's
 * dist-packages. Files are distinct (deduplicated by content hash) and interleaved file by file
 * across sources, so every size mixes Python and TS/JS. Documentation blocks that become queries are
 * stripped from the haystack (mineCodeQueries), so a query cannot be answered by copying it.
 * When every source is exhausted the corpus repeats with new ids, and says so: repeated content hits
 * the gist cache and would flatter cold-index numbers.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { mineCodeQueries } from '../../src/eval/codeQueries';
import type { DocumentInput } from '../../src/core/tree';
import { tokenize } from '../../src/core/tokenizer';

export interface BenchQuery {
  docId: string;
  query: string;
}

export interface CorpusDoc extends DocumentInput {
  tokens: number;
  source: string;
}

export interface Corpus {
  docs: CorpusDoc[];
  queries: BenchQuery[];
  /** Cumulative token count after each doc. */
  cumulative: number[];
  /** True when sources ran out and files were reused (with new ids). */
  repeated: boolean;
  sources: Record<string, { files: number; tokens: number }>;
}

const MAX_FILE_BYTES = 1_000_000;

function walk(dir: string, keep: (name: string) => boolean, out: string[], skipDir: (name: string) => boolean): void {
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch {
    return;
  }
  for (const name of names) {
    const p = join(dir, name);
    let st;
    try {
      st = statSync(p);
    } catch {
      continue;
    }
    if (st.isDirectory()) {
      if (!skipDir(name)) walk(p, keep, out, skipDir);
    } else if (st.isFile() && st.size > 0 && st.size <= MAX_FILE_BYTES && keep(name)) out.push(p);
  }
}

export function sourceLists(projectRoot: string): { name: string; files: string[] }[] {
  const py: string[] = [];
  walk('/usr/lib/python3.11', (n) => n.endsWith('.py'), py, (d) => d === '__pycache__' || d === 'site-packages' || d === 'dist-packages');
  const js: string[] = [];
  walk(join(projectRoot, 'node_modules'), (n) => /\.(ts|js|mjs|cjs|tsx)$/.test(n) && !/\.min\.js$/.test(n), js, (d) => d === '.cache' || d === '.bin');
  const dist: string[] = [];
  walk('/usr/lib/python3/dist-packages', (n) => n.endsWith('.py'), dist, (d) => d === '__pycache__');
  return [
    { name: 'python3.11 stdlib', files: py },
    { name: 'node_modules TS/JS', files: js },
    { name: 'python3 dist-packages', files: dist },
  ];
}

/** Builds the largest corpus needed; smaller sizes are prefixes of it (see `prefix`). */
export function buildCorpus(projectRoot: string, targetTokens: number, log: (s: string) => void = () => undefined): Corpus {
  const lists = sourceLists(projectRoot);
  const seen = new Set<string>();
  const docs: CorpusDoc[] = [];
  const queries: BenchQuery[] = [];
  const cumulative: number[] = [];
  const sources: Corpus['sources'] = {};
  let total = 0;
  const cursors = lists.map(() => 0);
  // The first two sources are interleaved; the third joins only once one of them runs out.
  const active = (i: number): boolean => i < 2 || cursors[0] >= lists[0].files.length || cursors[1] >= lists[1].files.length;
  let repeated = false;
  let round = 0;
  let next = 0;
  while (total < targetTokens) {
    const open = lists.map((_l, i) => i).filter((i) => active(i) && cursors[i] < lists[i].files.length);
    if (open.length === 0) {
      // Every source exhausted: repeat from the start with new ids (flagged in the output).
      if (docs.length === 0) throw new Error('no corpus files found');
      repeated = true;
      round++;
      const base = docs.filter((d) => !d.id.includes('#copy'));
      for (const d of base) {
        if (total >= targetTokens) break;
        const id = `${d.id}#copy${round}`;
        docs.push({ ...d, id });
        total += d.tokens;
        cumulative.push(total);
      }
      continue;
    }
    const s = open[next++ % open.length];
    const file = lists[s].files[cursors[s]++];
    let raw: string;
    try {
      raw = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    if (raw.includes('\u0000') || raw.trim().length === 0) continue;
    const h = createHash('sha1').update(raw).digest('hex');
    if (seen.has(h)) continue;
    seen.add(h);
    const mined = mineCodeQueries(file, raw);
    const tokens = tokenize(mined.text).length;
    if (tokens === 0) continue;
    docs.push({ id: file, text: mined.text, tokens, source: lists[s].name });
    for (const q of mined.queries) queries.push({ docId: file, query: q.query });
    const src = (sources[lists[s].name] ??= { files: 0, tokens: 0 });
    src.files++;
    src.tokens += tokens;
    total += tokens;
    cumulative.push(total);
    if (docs.length % 500 === 0) log(`  corpus: ${docs.length} files, ${total.toLocaleString()} tokens`);
  }
  return { docs, queries, cumulative, repeated, sources };
}

/** The shortest prefix of the corpus with at least `tokens` tokens. */
export function prefix(c: Corpus, tokens: number): { docs: CorpusDoc[]; tokens: number; repeated: boolean } {
  let n = c.cumulative.findIndex((t) => t >= tokens);
  if (n < 0) n = c.docs.length - 1;
  const docs = c.docs.slice(0, n + 1);
  return { docs, tokens: c.cumulative[n], repeated: docs.some((d) => d.id.includes('#copy')) };
}
