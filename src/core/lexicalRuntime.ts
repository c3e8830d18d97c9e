/**
 * The degraded mode's runtime: what the engine uses when the learned models are missing, corrupt or
 * cannot load. It has no GistNet and no LensNet. Gists are hashed bags of words (so the root-level
 * relevance still compares words), salience prefers identifiers, names and numbers over stop words
 * (so gist lines stay readable), and focus is decided by BM25 evidence alone (`lexicalOnly`).
 * Every surface that shows a working context from it says "lexical only".
 */
import { BLOCK_TOKENS, GROUP_BLOCKS } from './constants';
import { EXTRA_FEATURES } from './features';
import type { GistBatch, ModelRuntime, RuntimeInfo } from './runtime';
import { tokenText } from './tokenizer';

export const LEXICAL_MODEL_ID = 'lexical-only-v1';
const DIM = 64;

const STOP = new Set(
  ('a an and are as at be but by for from has have he her his i if in into is it its me my no not of on or our she so ' +
    'that the their them then there these they this to was we were what when which who will with you your ' +
    'def fn func function return const let var import export from self this true false null none undefined new else elif')
    .split(' '),
);

/** How informative one token's text is, in [0, 1]: 0 for punctuation and space, low for stop words. */
export function tokenSalience(text: string): number {
  const word = text.trim();
  if (!/[\p{L}\p{N}]/u.test(word)) return 0;
  if (STOP.has(word.toLowerCase())) return 0.1;
  let s = Math.min(0.7, 0.2 + 0.06 * word.length);
  if (/[0-9]/.test(word)) s += 0.15; // numbers, dates, versions
  if (/^[A-Z]/.test(word) || /[_$]/.test(word)) s += 0.15; // names, identifiers
  return Math.min(1, s);
}

function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

const bucketCache = new Map<number, number>();
/** The gist dimension a token's word falls in, with a sign (hashing trick); 0 for non-words. */
function bucket(id: number): number {
  let b = bucketCache.get(id);
  if (b === undefined) {
    const word = tokenText(id).trim().toLowerCase();
    if (!/[\p{L}\p{N}]/u.test(word)) b = 0;
    else {
      const h = fnv1a(word);
      b = ((h % DIM) + 1) * (h & 0x80000000 ? -1 : 1);
    }
    bucketCache.set(id, b);
  }
  return b;
}

function normalise(v: Float32Array, row: number, dim: number): void {
  let n = 0;
  for (let d = 0; d < dim; d++) n += v[row * dim + d] ** 2;
  n = Math.sqrt(n);
  if (n > 0) for (let d = 0; d < dim; d++) v[row * dim + d] /= n;
}

export class LexicalRuntime implements ModelRuntime {
  readonly dim = DIM;
  readonly modelId = LEXICAL_MODEL_ID;
  readonly lensFeatures = DIM + EXTRA_FEATURES;
  readonly lexicalOnly = true;

  /** @param reason why the learned models are not in use (shown to the user). */
  constructor(readonly reason: string) {}

  async gistBlocks(tokens: Int32Array, mask: Float32Array, count: number): Promise<GistBatch> {
    const gists = new Float32Array(count * DIM);
    const salience = new Float32Array(count * BLOCK_TOKENS);
    for (let r = 0; r < count; r++) {
      // A word split into several tokens (parse_header → parse, _header) is judged as the whole word.
      let k = 0;
      while (k < BLOCK_TOKENS) {
        if (mask[r * BLOCK_TOKENS + k] <= 0) { k++; continue; }
        let end = k + 1;
        let word = tokenText(tokens[r * BLOCK_TOKENS + k]);
        while (end < BLOCK_TOKENS && mask[r * BLOCK_TOKENS + end] > 0 && /[\p{L}\p{N}_$]$/u.test(word)) {
          const next = tokenText(tokens[r * BLOCK_TOKENS + end]);
          if (!/^[\p{L}\p{N}_$]/u.test(next)) break;
          word += next;
          end++;
        }
        const s = tokenSalience(word);
        for (let j = k; j < end; j++) {
          const i = r * BLOCK_TOKENS + j;
          salience[i] = s;
          const b = bucket(tokens[i]);
          if (b !== 0) gists[r * DIM + Math.abs(b) - 1] += Math.sign(b) * (0.25 + s);
        }
        k = end;
      }
      normalise(gists, r, DIM);
    }
    return { gists, salience };
  }

  async gistGroups(children: Float32Array, mask: Float32Array, count: number): Promise<GistBatch> {
    const gists = new Float32Array(count * DIM);
    const salience = new Float32Array(count * GROUP_BLOCKS);
    for (let r = 0; r < count; r++) {
      for (let c = 0; c < GROUP_BLOCKS; c++) {
        if (mask[r * GROUP_BLOCKS + c] <= 0) continue;
        for (let d = 0; d < DIM; d++) gists[r * DIM + d] += children[(r * GROUP_BLOCKS + c) * DIM + d];
      }
      normalise(gists, r, DIM);
      // A child unlike the group's mean says most about what sets this part of the document apart.
      for (let c = 0; c < GROUP_BLOCKS; c++) {
        if (mask[r * GROUP_BLOCKS + c] <= 0) continue;
        let cos = 0;
        for (let d = 0; d < DIM; d++) cos += gists[r * DIM + d] * children[(r * GROUP_BLOCKS + c) * DIM + d];
        salience[r * GROUP_BLOCKS + c] = 0.5 + 0.5 * (1 - Math.max(-1, Math.min(1, cos)));
      }
    }
    return { gists, salience };
  }

  async scoreEntries(): Promise<Float32Array> {
    throw new Error(`LensNet is not loaded (lexical-only mode: ${this.reason})`);
  }

  info(): RuntimeInfo {
    return { executionProvider: 'none', modelId: LEXICAL_MODEL_ID, dim: DIM, lensFeatures: this.lensFeatures };
  }

  async dispose(): Promise<void> {}
}
