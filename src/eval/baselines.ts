import { terms } from '../core/lexical';
import { countPromptTokens } from '../core/tokenizer';

/** A piece of a document a baseline can pick: its string range and text. */
export interface Chunk {
  doc: number;
  start: number;
  end: number;
  text: string;
  /** Token count of the text as packed (see packByRank), once known: every query and budget asks again. */
  tokens?: number;
}

/** How often each of the engine's search terms occurs in `text`. */
export function termCounts(text: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const t of terms(text)) m.set(t, (m.get(t) ?? 0) + 1);
  return m;
}

/** Term statistics of a chunk set, computed once and reused by every query. */
export class ChunkIndex {
  readonly lengths: number[];
  readonly df = new Map<string, number>();
  readonly avg: number;

  /** `tf`: each chunk's term counts, when already known (the issue suite keeps them per file version). */
  constructor(readonly chunks: Chunk[], readonly tf: Map<string, number>[] = chunks.map((c) => termCounts(c.text))) {
    this.lengths = tf.map((m) => {
      let n = 0;
      for (const f of m.values()) n += f;
      return n;
    });
    for (const m of this.tf) for (const t of m.keys()) this.df.set(t, (this.df.get(t) ?? 0) + 1);
    this.avg = this.lengths.reduce((a, b) => a + b, 0) / Math.max(1, chunks.length);
  }
}

/** Plain BM25 over chunks (k1 1.2, b 0.75), with the engine's term rules. */
export function bm25Rank(chunks: Chunk[] | ChunkIndex, query: string): number[] {
  const index = chunks instanceof ChunkIndex ? chunks : new ChunkIndex(chunks);
  const { df, avg } = index;
  const n = index.chunks.length;
  const q = [...new Set(terms(query))];
  const scores = index.tf.map((tf, i) => {
    const len = index.lengths[i];
    let s = 0;
    for (const t of q) {
      const f = tf.get(t);
      if (!f) continue;
      const d = df.get(t) ?? 0;
      const idf = Math.log(1 + (n - d + 0.5) / (d + 0.5));
      s += (idf * f * 2.2) / (f + 1.2 * (0.25 + (0.75 * len) / avg));
    }
    return s;
  });
  return scores.map((s, i) => [s, i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]).map(([, i]) => i);
}

/** Whole lines of each document grouped into chunks of about `target` tokens. */
export function lineChunks(docs: string[], target: number): Chunk[] {
  const out: Chunk[] = [];
  docs.forEach((text, d) => {
    let start = 0;
    let tokens = 0;
    let pos = 0;
    while (pos < text.length) {
      const nl = text.indexOf('\n', pos);
      const end = nl < 0 ? text.length : nl + 1;
      const t = countPromptTokens(text.slice(pos, end));
      if (tokens > 0 && tokens + t > target) {
        out.push({ doc: d, start, end: pos, text: text.slice(start, pos) });
        start = pos;
        tokens = 0;
      }
      tokens += t;
      pos = end;
    }
    if (pos > start) out.push({ doc: d, start, end: pos, text: text.slice(start, pos) });
  });
  return out;
}

/** Each document as one chunk: what a file-level retriever picks. */
export function fileChunks(docs: string[]): Chunk[] {
  return docs.map((text, doc) => ({ doc, start: 0, end: text.length, text }));
}

/** Token count of a chunk's text as a prompt holds it: ending with a line break. */
export function chunkTokens(text: string): number {
  return countPromptTokens(text.endsWith('\n') ? text : text + '\n');
}

/**
 * Packs chunks by rank, each under a one-line header (`## path`), while the prompt stays within the
 * budget; a chunk that does not fit is skipped and packing goes on with the next.
 */
export function packByRank(chunks: Chunk[], order: number[], names: string[], budget: number): { picked: Chunk[]; tokens: number } {
  const picked: Chunk[] = [];
  const headers = new Map<number, number>();
  let tokens = 0;
  for (const i of order) {
    const c = chunks[i];
    let header = headers.get(c.doc);
    if (header === undefined) headers.set(c.doc, (header = countPromptTokens(`## ${names[c.doc]}\n`)));
    const cost = header + (c.tokens ??= chunkTokens(c.text));
    if (tokens + cost > budget) continue;
    picked.push(c);
    tokens += cost;
  }
  return { picked, tokens };
}

/** The last `budget` tokens of the concatenated documents. */
export function recency(docs: string[], budget: number): Chunk[] {
  const out: Chunk[] = [];
  let left = budget;
  for (let d = docs.length - 1; d >= 0 && left > 0; d--) {
    const text = docs[d];
    // Walk back by lines until the budget is spent.
    let start = text.length;
    while (start > 0) {
      const prev = text.lastIndexOf('\n', start - 2) + 1;
      const t = countPromptTokens(text.slice(prev, start));
      if (t > left) break;
      left -= t;
      start = prev;
    }
    if (start < text.length) out.push({ doc: d, start, end: text.length, text: text.slice(start) });
    if (start > 0) break;
  }
  return out;
}

/** Share of [a, b) covered by the given ranges (ranges of one document, any order). */
export function coveredShare(a: number, b: number, ranges: [number, number][]): number {
  if (b <= a) return 1;
  const sorted = ranges.filter(([s, e]) => e > a && s < b).sort((x, y) => x[0] - y[0]);
  let covered = 0;
  let pos = a;
  for (const [s, e] of sorted) {
    const lo = Math.max(pos, s);
    const hi = Math.min(b, e);
    if (hi > lo) {
      covered += hi - lo;
      pos = hi;
    }
  }
  return covered / (b - a);
}
