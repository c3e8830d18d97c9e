import { encode, countTokens } from 'gpt-tokenizer/encoding/o200k_base';
import enc from 'gpt-tokenizer/encoding/o200k_base';

const PLAIN = { allowedSpecial: new Set<string>(), disallowedSpecial: new Set<string>() };

/**
 * gpt-tokenizer's byte-pair merge is quadratic in the length of one pre-token, and o200k's pre-tokens
 * are unbounded for runs of whitespace, of letters or of punctuation: a 1 MB file of newlines took
 * about 40 minutes. A run of one class longer than LONG_RUN code points is therefore encoded in
 * pieces of RUN_PIECE code points. Text without such a run (all ordinary text) is encoded exactly as
 * o200k does; inside such a run the ids may differ from o200k's at the cuts (the count by a token or
 * so per piece), and the text still round-trips exactly. Counting uses the same cuts, so token counts
 * agree with `tokenize` everywhere.
 */
const LONG_RUN = 256;
const RUN_PIECE = 128;
const LONG_RUNS = new RegExp(`\\s{${LONG_RUN},}|[\\p{L}\\p{M}]{${LONG_RUN},}|[^\\s\\p{L}\\p{N}]{${LONG_RUN},}`, 'gu');

const WS = /\s/;
const LETTER_OR_MARK = /[\p{L}\p{M}]/u;
const LETTER = /\p{L}/u;
const NUMBER = /\p{N}/u;

/**
 * Whether `text` holds a run that LONG_RUNS matches, in one pass over the code points (the regex is
 * tried at every position, a tenth of a refocus when counting whole prompts). ASCII is classified by
 * code; anything else by the same Unicode classes the regex uses.
 */
export function hasLongRun(text: string): boolean {
  let ws = 0;
  let letters = 0;
  let other = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    let isWs: boolean;
    let isLM: boolean;
    let isOther: boolean;
    if (c < 128) {
      isWs = c === 32 || (c >= 9 && c <= 13);
      isLM = (c | 32) >= 97 && (c | 32) <= 122;
      isOther = !isWs && !isLM && !(c >= 48 && c <= 57);
    } else {
      const cp = text.codePointAt(i)!;
      if (cp > 0xffff) i++;
      const ch = String.fromCodePoint(cp);
      isWs = WS.test(ch);
      isLM = LETTER_OR_MARK.test(ch);
      isOther = !isWs && !LETTER.test(ch) && !NUMBER.test(ch);
    }
    ws = isWs ? ws + 1 : 0;
    letters = isLM ? letters + 1 : 0;
    other = isOther ? other + 1 : 0;
    if (ws >= LONG_RUN || letters >= LONG_RUN || other >= LONG_RUN) return true;
  }
  return false;
}

/** `text` cut into pieces that hold no run longer than LONG_RUN; one piece for ordinary text. */
function pieces(text: string): string[] {
  if (text.length < LONG_RUN || !hasLongRun(text)) return [text];
  const out: string[] = [];
  let from = 0;
  LONG_RUNS.lastIndex = 0;
  for (const m of text.matchAll(LONG_RUNS)) {
    const start = m.index!;
    if (start > from) out.push(text.slice(from, start));
    const run = m[0];
    let at = 0;
    while (at < run.length) {
      let end = at;
      for (let k = 0; k < RUN_PIECE && end < run.length; k++) end += run.codePointAt(end)! > 0xffff ? 2 : 1;
      out.push(run.slice(at, end));
      at = end;
    }
    from = start + run.length;
  }
  if (from < text.length) out.push(text.slice(from));
  return out;
}

/** o200k_base token ids for `text`; special-token strings are encoded as plain text. */
export function tokenize(text: string): Uint32Array {
  const parts = pieces(text);
  if (parts.length === 1) return Uint32Array.from(encode(text, PLAIN));
  const ids: number[] = [];
  for (const p of parts) for (const id of encode(p, PLAIN)) ids.push(id);
  return Uint32Array.from(ids);
}

/** Non-streaming, BOM-keeping: every call starts fresh. */
const UTF8 = new TextDecoder('utf-8', { ignoreBOM: true });

/**
 * The text of `tokens`, decoded from their bytes in one piece. Not gpt-tokenizer's `decode`: it shares
 * one streaming TextDecoder across calls, so bytes of a character cut at the end of one call leak into
 * the next call's result (tokenText of a partial token, then detokenize of a document, gave a wrong
 * text), and it drops a leading byte-order mark (a file starting with a BOM came back from the store
 * one character short, every block offset shifted by one).
 */
export function detokenize(tokens: ArrayLike<number>): string {
  let n = 0;
  for (let i = 0; i < tokens.length; i++) n += tokenByteLength(tokens[i]);
  const buf = Buffer.allocUnsafe(n);
  let at = 0;
  for (let i = 0; i < tokens.length; i++) {
    const id = tokens[i];
    const off = POOL_AT[id];
    const end = off + BYTE_LENGTHS[id];
    for (let k = off; k < end; k++) buf[at++] = pool[k];
  }
  return UTF8.decode(buf.subarray(0, at));
}

/** Token count of a rendered string (what the budget counts). */
export function countPromptTokens(text: string): number {
  let n = 0;
  for (const p of pieces(text)) n += countTokens(p, PLAIN);
  return n;
}

const textCache = new Map<number, string>();

/** The text of one token on its own (a partial UTF-8 character decodes to U+FFFD). */
export function tokenText(id: number): string {
  let t = textCache.get(id);
  if (t === undefined) {
    t = detokenize([id]);
    textCache.set(id, t);
  }
  return t;
}

/**
 * Every token's bytes, fetched once from gpt-tokenizer (its per-token bytes sit on a private member,
 * the only exact source) into one pool: detokenize then copies bytes instead of walking a generator
 * per token (about 10× faster, so a document's text can be decoded when it is needed rather than kept).
 * Fixed tables for the 2^18 ids o200k can have (1.5 MB) plus the pool (~1.3 MB once every id was seen).
 */
const MAX_IDS = 1 << 18;
const BYTE_LENGTHS = new Uint16Array(MAX_IDS);
const POOL_AT = new Int32Array(MAX_IDS).fill(-1);
let pool = new Uint8Array(1 << 16);
let poolUsed = 0;
const core = (enc as unknown as { bytePairEncodingCoreProcessor: { decodeNativeGenerator(t: Iterable<number>): Iterable<string | Uint8Array> } })
  .bytePairEncodingCoreProcessor;

function learn(id: number): void {
  if (!(id >= 0 && id < MAX_IDS && Number.isInteger(id))) throw new RangeError(`not an o200k token id: ${id}`);
  const parts: Uint8Array[] = [];
  let n = 0;
  for (const piece of core.decodeNativeGenerator([id])) {
    const bytes = typeof piece === 'string' ? Buffer.from(piece, 'utf8') : piece;
    parts.push(bytes);
    n += bytes.length;
  }
  if (n > 0xffff) throw new RangeError(`token ${id} is ${n} bytes long`);
  if (poolUsed + n > pool.length) {
    const grown = new Uint8Array(Math.max(pool.length * 2, poolUsed + n));
    grown.set(pool.subarray(0, poolUsed));
    pool = grown;
  }
  POOL_AT[id] = poolUsed;
  for (const b of parts) {
    pool.set(b, poolUsed);
    poolUsed += b.length;
  }
  BYTE_LENGTHS[id] = n;
}

/** UTF-8 byte length of one token's bytes. */
export function tokenByteLength(id: number): number {
  if (!(POOL_AT[id] >= 0)) learn(id);
  return BYTE_LENGTHS[id];
}

/**
 * JavaScript string offsets of token boundaries: result[k] is where token `starts[k]` begins (a value of
 * tokens.length maps to text.length). A boundary that falls inside a multi-byte character (a token can
 * end mid-character) moves to the end of that character, so consecutive slices tile the text exactly.
 * `starts` must be ascending.
 */
export function boundaryCharOffsets(text: string, tokens: Uint32Array, starts: ArrayLike<number>): Uint32Array {
  const nb = starts.length - 1;
  const out = new Uint32Array(nb + 1);
  // Byte offsets of each boundary.
  const byteStarts = new Float64Array(nb + 1);
  let bytes = 0;
  let k = 0;
  for (let i = 0; i <= tokens.length && k <= nb; i++) {
    while (k <= nb && starts[k] === i) byteStarts[k++] = bytes;
    if (i < tokens.length) bytes += tokenByteLength(tokens[i]);
  }
  while (k <= nb) byteStarts[k++] = bytes;
  // Walk code points once, mapping each byte boundary to the first char boundary at or after it.
  k = 0;
  let byte = 0;
  let ch = 0;
  while (k <= nb && byteStarts[k] <= 0) out[k++] = 0;
  while (ch < text.length && k <= nb) {
    const cp = text.codePointAt(ch)!;
    const units = cp > 0xffff ? 2 : 1;
    byte += cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    ch += units;
    while (k <= nb && byteStarts[k] <= byte) out[k++] = ch;
  }
  while (k <= nb) out[k++] = text.length;
  return out;
}

const NEWLINE = 10;
/** Per token id: 0 unknown, 1 + number of line feeds in its bytes, with bit 7 set when a line feed is followed by another byte than a line feed or a carriage return (the token straddles a line start). */
const LINE_INFO = new Uint8Array(MAX_IDS);

function lineInfo(id: number): number {
  let v = LINE_INFO[id];
  if (v !== 0) return v;
  const n = tokenByteLength(id);
  const off = POOL_AT[id];
  let feeds = 0;
  let straddles = false;
  for (let k = 0; k < n; k++) {
    if (pool[off + k] !== NEWLINE) continue;
    feeds++;
    for (let j = k + 1; j < n; j++) {
      const b = pool[off + j];
      if (b !== NEWLINE && b !== 13) { straddles = true; break; }
    }
  }
  v = (Math.min(feeds, 126) + 1) | (straddles ? 128 : 0);
  LINE_INFO[id] = v;
  return v;
}

/** Line feeds in one token's bytes. */
export function tokenLineFeeds(id: number): number {
  return (lineInfo(id) & 127) - 1;
}

/**
 * A document's token ids: o200k's, except that a token holding a line feed followed by more text on the
 * next line (o200k merges punctuation across a line break, e.g. `}\n//`) is re-encoded line by line, so
 * every line start that is not inside a run of empty lines is a token boundary. Blocks are cut at line
 * starts (see blocks.ts); the text still round-trips exactly.
 */
export function tokenizeDocument(text: string): Uint32Array {
  const ids = tokenize(text);
  let split = false;
  for (let i = 0; i < ids.length && !split; i++) split = (lineInfo(ids[i]) & 128) !== 0;
  if (!split) return ids;
  const out: number[] = [];
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if ((lineInfo(id) & 128) === 0) { out.push(id); continue; }
    // A straddling token is punctuation and line breaks; one that also holds part of a multi-byte
    // character cannot be re-encoded on its own and is kept (that line start stays inside it).
    const t = detokenize([id]);
    if (t.includes('\uFFFD')) { out.push(id); continue; }
    for (const part of t.split(/(?<=\n)(?=[^\r\n])/)) for (const p of encode(part, PLAIN)) out.push(p);
  }
  return Uint32Array.from(out);
}

/** Offsets (string indices) where each line starts; used to name line ranges. */
export function lineStarts(text: string): Uint32Array {
  const starts = [0];
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  return Uint32Array.from(starts);
}

/** 1-based line number containing string offset `pos`. */
export function lineOf(starts: Uint32Array, pos: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid] <= pos) lo = mid;
    else hi = mid - 1;
  }
  return lo + 1;
}
