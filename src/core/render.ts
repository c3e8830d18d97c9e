import { LRUCache } from 'lru-cache';
import { GROUP_BLOCKS } from './constants';
import type { Entry, FolderFold } from './entry';
import { own, terms, type QueryTerms } from './lexical';
import { mapName, outline, outlineItems, outlineNames, unitDepth } from './outline';
import { countPromptTokens, lineOf, tokenByteLength } from './tokenizer';
import type { TreeDocument } from './tree';

/**
 * The prompt form of a working context. Exact text is whole lines between an `[[exact La-b]]` line and
 * an `[[/exact]]` line; `~` lines are the map of block runs (the units that start there, `name L12`, or a
 * word of every 4th block), `≈` lines of groups (about 1,000 tokens); a document collapsed to its root
 * is one `·` line.
 *
 * Unforgeable structure (DESIGN.md invariant 7): structure is only ever a whole line, and no line of
 * content can look like one. Inside exact text a line that starts like a structure line (`##`, `[[`,
 * `~`, `≈`, `·`, `⋮`) or with a backslash gets one backslash in front (escapeExactLine); the exact text is
 * recovered by removing one leading backslash from every line that has one (unescapeExact). Paths and
 * names are shown on one line with control characters escaped (displayText). See parsePrompt for the
 * grammar, checked against every rendering by the property test.
 */
export const PREAMBLE =
  'MegaContext working context. Every document is listed. Text between [[exact Lx-y]] and [[/exact]] is verbatim ' +
  '(a line starting with \\ had one \\ added); lines starting with ~ or ≈ map spans not shown in full, with the units ' +
  'that start there (name Lline) or a salient word, separated by |; ⋮ marks skipped lines; a line starting with · is a ' +
  'whole document collapsed to its path and main names (`· dir/: a | b`: several in one folder).\n';

/** Line starts that only structure lines may have: exact text lines starting so are escaped. */
const STRUCTURE_START = /^(?:##|\[\[|[~≈·⋮\\])/;

/** An exact line as the prompt shows it. */
function escapeExactLine(line: string): string {
  return STRUCTURE_START.test(line) ? '\\' + line : line;
}

/** Exact text as the prompt shows it: every line escaped (escapeExactLine). */
export function escapeExact(text: string): string {
  if (!/(?:^|\n)(?:##|\[\[|[~≈·⋮\\])/.test(text)) return text;
  return text.split('\n').map(escapeExactLine).join('\n');
}

/** The document text of exact text as shown in a prompt: one leading backslash removed from each line. */
export function unescapeExact(shown: string): string {
  return shown.split('\n').map((l) => (l.startsWith('\\') ? l.slice(1) : l)).join('\n');
}

/** A path or name on one line: line breaks, other control characters and backslashes escaped as in JSON. */
export function displayText(s: string): string {
  // eslint-disable-next-line no-control-regex
  if (!/[\u0000-\u001f\u007f\u0085\u2028\u2029\\]/.test(s)) return s;
  // JSON's escapes, and \uXXXX for the line separators JSON leaves as they are.
  return JSON.stringify(s).slice(1, -1).replace(/[\u007f\u0085\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export const OPEN = (a: number, b: number) => `[[exact L${a}-${b}]]\n`;
export const CLOSE = '[[/exact]]\n';

export interface RenderOptions {
  displayPath: (doc: TreeDocument) => string;
  /** Words per block gist on a `~` line (default BLOCK_WORDS); fewer leaves more of the budget for exact text. */
  blockWords?: number;
  /** Block gists (of 2 words each) on a `≈` group line (default GROUP_CHILDREN). */
  groupChildren?: number;
  /** Only every n-th block shows its words on a `~` line (default BLOCK_STRIDE); 1 shows every block's. */
  blockStride?: number;
  /** The units a document's root line names first, with their lines (queryUnits for the focus's query). */
  rootUnits?: (doc: TreeDocument) => readonly number[];
}

/**
 * Map detail: 1 word per block on `~` lines and 1 block gist per `≈` line. Each block of an opened group
 * costs its gist, so at 3 words a group entered for one block took ~220 tokens; on the development
 * conversations (LoCoMo 26, 30, 41; the greedy lexical scorer) 1 word raised recall at W = 1024/2048/4096 from
 * 52.0/70.5/80.4 to 59.5/74.2/81.5 (2 words: 57.2/72.8/81.2), and 1 child per group line (instead of
 * 3) added 0.5-2 points more.
 */
export const BLOCK_WORDS = 1;
export const GROUP_CHILDREN = 1;

/**
 * A `~` line shows the words of every 4th block only (blocks 0, 4, 8, … of the document: one landmark
 * per ~128 tokens); its line range still covers every block of the run. Entering a group for one block
 * turned its 31 other blocks into ~2 tokens each of single words that rarely say much (`your | You |
 * several | yield`); at a quarter of that the map keeps its landmarks and the budget goes to exact
 * text. Development sets, `mc-lexical`, recall at W = 1024/2048/4096, every block (1) → every 4th:
 * LoCoMo 26/30/41 70.0/77.5/84.9 → 71.8/79.9/85.1; wsgiref+urllib+xmlrpc 66.7/77.8/88.0 →
 * 69.4/85.2/90.7; dev2 62.7/78.2/87.3 → 66.9/79.9/88.0; dev3 56.3/76.5/83.0 → 59.5/76.2/84.7.
 * Every 2nd and every 8th block did no better (README, "Focus quality").
 */
export const BLOCK_STRIDE = 4;

/**
 * What a `~` line shows for block b: the units whose name line it holds (`name L12`, the outline), else
 * its gist words when b is a landmark (b % stride = 0), else nothing.
 */
export function shownBlockGist(doc: TreeDocument, b: number, words = BLOCK_WORDS, stride = BLOCK_STRIDE): string {
  const names = outlineItems(doc, b, b);
  if (names.length > 0) return names.join(' | ');
  return b % stride === 0 ? blockGistText(doc, b, words) : '';
}

/** Unit names a `≈` group line shows: the outermost first, then by GistNet's salience of their block in the group. */
export const GROUP_NAMES = 3;

export interface ExactRun {
  doc: TreeDocument;
  charStart: number;
  charEnd: number;
  promptStart: number;
  promptEnd: number;
}

/** A map line (`~`, `≈` or `·`) of one document: its 1-based line range and the units it names. */
export interface MapLine {
  docId: string;
  startLine: number;
  endLine: number;
  names: { name: string; line: number }[];
}

export interface Rendered {
  prompt: string;
  tokens: number;
  exactRuns: ExactRun[];
  /** Every map line with the names it shows (the outline an agent reads to know where to expand). */
  mapLines: MapLine[];
}

/**
 * Render caches, beside the documents rather than on them: gist texts by block * 8 + words kept
 * (LOD1) and group * 8 + children kept (LOD2), and the names a document defines. A document never
 * changes (a new version or an append is a new TreeDocument), so an entry never goes stale and goes
 * with its document; only documents that were rendered have one.
 */
const gistTexts1 = new WeakMap<TreeDocument, Map<number, string>>();
const gistTexts2 = new WeakMap<TreeDocument, Map<number, string>>();
const documentNames = new WeakMap<TreeDocument, string[]>();

/** `doc`'s map in `table`, made on first use. */
export function cacheOf<K, V>(table: WeakMap<TreeDocument, Map<K, V>>, doc: TreeDocument): Map<K, V> {
  let m = table.get(doc);
  if (m === undefined) table.set(doc, (m = new Map()));
  return m;
}

/** A word on a map line: a whole identifier or word of at least two characters holding a letter. */
const WORD = /[\p{L}\p{N}_$]*\p{L}[\p{L}\p{N}_$]*/gu;

/**
 * Words of talk that say nothing about what a span is about (greetings, assent, exclamations): rare
 * enough in a transcript to look like keywords, they filled its map lines (`~ L521-530: up | Yep | Thanks`).
 */
const CHAT_FILLER = new Set(('yeah yep yes yup nope hey hi hello wow oh ooh aww aw thanks thank ok okay sure cool great awesome ' +
  'nice haha lol hmm um uh congrats gonna wanna gotta kinda ya woah really totally definitely sorry sounds amazing glad anyway btw').split(' '));

/**
 * For a block of a chat turn, where its words start: past the turn's label (`D3:5 Maria: `, `User: `)
 * when the block opens the turn, else 0; -1 for a block of anything else.
 */
function turnWordsStart(doc: TreeDocument, b: number, text: string): number {
  const o = outline(doc);
  const u = o.innermost[b] ?? -1;
  if (u < 0 || o.units[u].kind !== 'turn') return -1;
  if (o.first[u] !== b) return 0;
  const m = /^(?:D\d+:\d+ )?[^:\n]{1,80}:[ \t]/.exec(text);
  return m ? m[0].length : 0;
}

/**
 * Gist text of an LOD1 node: its `keep` most salient whole words (GistNet's per-token salience, a word
 * scoring its best token), in order, joined with ` … ` where words were skipped. A word is never a
 * fragment: a token inside `_accept_connection` shows the whole identifier.
 */
export function blockGistText(doc: TreeDocument, b: number, keep = 3): string {
  // Keyed by block and keep count: a group line shows 2 words of a block, a block line BLOCK_WORDS.
  const key = b * 8 + Math.min(keep, 7);
  const cache = cacheOf(gistTexts1, doc);
  const cached = cache.get(key);
  if (cached !== undefined) return cached;
  const s = doc.blockTok[b];
  const e = doc.blockTok[b + 1];
  const text = doc.blockText(b);
  // Byte offset of each token's end within the block, to find the tokens inside each word.
  const ends: number[] = [];
  let at = 0;
  for (let k = s; k < e; k++) ends.push((at += tokenByteLength(doc.tokens.at(k))));
  const cand: { pos: number; w: number; text: string }[] = [];
  let byte = 0;
  let from = 0;
  let tok = 0;
  // In a chat turn: not its label, a filler word, or the end of a contraction (`re` of `you're`).
  const talk = turnWordsStart(doc, b, text);
  for (const m of text.matchAll(WORD)) {
    if (m[0].length < 2) continue;
    if (talk >= 0 && (m.index! < talk || CHAT_FILLER.has(m[0].toLowerCase()) || /['’]/.test(text[m.index! - 1] ?? ''))) continue;
    byte += Buffer.byteLength(text.slice(from, m.index!));
    const w0 = byte;
    const w1 = w0 + Buffer.byteLength(m[0]);
    from = m.index! + m[0].length;
    byte = w1;
    while (tok < ends.length && ends[tok] <= w0) tok++;
    // A keyword: salient (GistNet's weight of its best token) and rare in the document (a speaker's
    // name on every line, or a stop word, says nothing about the span).
    const t = terms(m[0]);
    if (t.length === 0) continue;
    let w = 0;
    for (let k = tok; k < ends.length && (k === 0 ? 0 : ends[k - 1]) < w1; k++) w = Math.max(w, doc.salience1(b, k));
    const df = doc.postings.get(t[0])?.length ?? 1;
    cand.push({ pos: m.index!, w: (w + 1) * Math.log((doc.nBlocks + 1) / (df + 0.5)), text: m[0] });
  }
  const seen = new Set<string>();
  const unique = cand.sort((x, y) => y.w - x.w || x.pos - y.pos).filter((c) => !seen.has(c.text) && seen.add(c.text));
  const chosen = unique.slice(0, keep).sort((x, y) => x.pos - y.pos);
  // One word joins to itself: a slice of the document's text that would keep the whole text alive in this cache.
  const out = own(chosen.map((c) => c.text).join(' … '));
  cache.set(key, out);
  return out;
}

/**
 * Gist text of an LOD2 node: the names of up to GROUP_NAMES units that start in it (`name L12`; the
 * outermost first, then public before `_private` ones, then the most salient by GistNet's LOD2 salience of
 * their block), in line order; a group without named units shows the words of its most salient children.
 * Public first (round 11, development data): a function the map names when its definition line is not
 * exact, urllib/http at 1k 52.4/34.5% → 61.9/51.7%, and nothing lost on any development suite.
 */
export function groupGistText(doc: TreeDocument, g: number, children = GROUP_CHILDREN): string {
  // Keyed by group and child count, like block gists: a root line shows 2 children, a group line GROUP_CHILDREN.
  const key = g * 8 + Math.min(children, 7);
  const cache = cacheOf(gistTexts2, doc);
  const cached = cache.get(key);
  if (cached !== undefined) return cached;
  const b0 = g * GROUP_BLOCKS;
  const b1 = Math.min(doc.nLod1, b0 + GROUP_BLOCKS);
  const o = outline(doc);
  const named = groupUnits(doc, g);
  let out: string;
  if (named.length > 0) {
    out = named.map((u) => `${mapName(o.units[u].name)} L${o.units[u].line + 1}`).join(' | ');
  } else {
    const idx: number[] = [];
    for (let b = b0; b < b1; b++) idx.push(b);
    idx.sort((x, y) => doc.salience2(g, y - b0) - doc.salience2(g, x - b0) || x - y);
    out = idx
      .slice(0, children)
      .sort((x, y) => x - y)
      .map((b) => blockGistText(doc, b, 2))
      .filter((t) => t.length > 0)
      .join(' … ');
  }
  cache.set(key, out);
  return out;
}

/** 1 for a `_private` name, 0 for a public one: maps list public names first (or only). */
function privateRank(name: string): number {
  return name.startsWith('_') ? 1 : 0;
}

/** The named units a group line shows (see groupGistText), in line order. */
export function groupUnits(doc: TreeDocument, g: number): number[] {
  const o = outline(doc);
  const b0 = g * GROUP_BLOCKS;
  const b1 = Math.min(doc.nLod1, b0 + GROUP_BLOCKS);
  const named: { u: number; depth: number; priv: number; w: number }[] = [];
  for (let b = b0; b < b1; b++) {
    for (const u of o.namedIn.get(b) ?? []) named.push({ u, depth: unitDepth(o.units, u), priv: privateRank(o.units[u].name), w: doc.salience2(g, b - b0) });
  }
  return named
    .sort((x, y) => x.depth - y.depth || x.priv - y.priv || y.w - x.w || x.u - y.u)
    .slice(0, GROUP_NAMES)
    .map((x) => x.u)
    .sort((x, y) => x - y);
}

/** Names found once per document (a root line shows 3). */
const NAMES_KEPT = 4;

/** The names a document defines, its outermost public units first, in order of appearance (at most `max`). */
export function salientNames(doc: TreeDocument, max = 4): string[] {
  if (max > NAMES_KEPT) return findNames(doc, max);
  let names = documentNames.get(doc);
  if (names === undefined) documentNames.set(doc, (names = findNames(doc, NAMES_KEPT)));
  return names.slice(0, max);
}

function findNames(doc: TreeDocument, max: number): string[] {
  const o = outline(doc);
  const order: number[] = [];
  for (const list of o.namedIn.values()) for (const u of list) if (!privateRank(o.units[u].name)) order.push(u);
  order.sort((x, y) => unitDepth(o.units, x) - unitDepth(o.units, y) || x - y);
  const names: string[] = [];
  const seen = new Set<string>();
  for (const u of order) {
    const n = mapName(o.units[u].name);
    if (seen.has(n)) continue;
    seen.add(n);
    names.push(n);
    if (names.length >= max) break;
  }
  if (names.length === 0 && doc.nLod2 > 0) return [groupGistText(doc, 0, 2)].filter(Boolean);
  return names;
}

function lineSpan(doc: TreeDocument, e: { start: number; end: number }): [number, number] {
  const [c0, c1] = doc.charRange(e.start, e.end);
  return [lineOf(doc.lines, c0), lineOf(doc.lines, Math.max(c0, c1 - 1))];
}

export function headerLine(doc: TreeDocument, path: string): string {
  return `## ${path} (${doc.tokenCount} tokens, ${doc.lines.length} lines)\n`;
}

/** The one line of a folded folder (on its head document; the others render nothing). */
export function foldLine(f: FolderFold): string {
  return f.head ? `· ${f.folder}/ (${f.files} files, ${f.tokens} tok)\n` : '';
}

/**
 * A document collapsed to its root: one short line (path, size, most salient names), so a workspace of
 * thousands of files still lists every one of them.
 */
export function rootLine(doc: TreeDocument, path: string, bare = false, first: readonly number[] = NO_UNITS): string {
  if (bare) return `· ${path}\n`;
  let names = salientNames(doc, ROOT_NAMES);
  if (first.length > 0) {
    const o = outline(doc);
    const lead = first.map((u) => mapName(o.units[u].name));
    names = [...lead.map((n, k) => `${n} L${o.units[first[k]].line + 1}`), ...names.filter((n) => !lead.includes(n))].slice(0, Math.max(ROOT_NAMES, first.length));
  }
  return `· ${path} (${doc.tokenCount} tok)${names.length ? ': ' + names.join(', ') : ''}\n`;
}

/** Names on a root line. */
export const ROOT_NAMES = 3;
const NO_UNITS: readonly number[] = [];
/** Units whose names a root line lists for the query: definitions (not headings, turns or statements). */
const NAMED_CODE = new Set(['function', 'method', 'class', 'interface', 'type']);

/**
 * The units of `doc` whose names hold terms of the query, for its root line (issue #17: root lines list
 * the query-relevant names first, with their lines, so an agent that reads only the map can expand one):
 * up to `max`, the most query weight first (the idf of the distinct query terms a name holds), then outer
 * before inner, public before `_private`, earlier first.
 */
export function queryUnits(doc: TreeDocument, q: QueryTerms, max = ROOT_NAMES): number[] {
  if (q.terms.length === 0) return [];
  const index = unitTermIndex(doc);
  if (index.size === 0) return [];
  const weight = new Map<number, number>();
  for (let i = 0; i < q.terms.length; i++) {
    for (const u of index.get(q.terms[i]) ?? NO_UNITS) weight.set(u, (weight.get(u) ?? 0) + q.idf[i]);
  }
  if (weight.size === 0) return [];
  const o = outline(doc);
  return [...weight]
    .map(([u, w]) => ({ u, w, depth: unitDepth(o.units, u), priv: privateRank(o.units[u].name) }))
    .sort((x, y) => y.w - x.w || x.depth - y.depth || x.priv - y.priv || x.u - y.u)
    .slice(0, max)
    .map((x) => x.u);
}

/** Per document version: each term of a definition's name → the definitions whose names hold it (once each). */
const unitTerms = new WeakMap<TreeDocument, Map<string, number[]>>();
function unitTermIndex(doc: TreeDocument): Map<string, number[]> {
  let index = unitTerms.get(doc);
  if (index) return index;
  index = new Map();
  const o = outline(doc);
  for (let u = 0; u < o.units.length; u++) {
    const unit = o.units[u];
    if (!unit.name || !NAMED_CODE.has(unit.kind)) continue;
    for (const t of new Set(terms(unit.name))) {
      const list = index.get(t);
      if (list) list.push(u);
      else index.set(t, [u]);
    }
  }
  unitTerms.set(doc, index);
  return index;
}

/** A path's folder (up to its last `/`, '' for a top-level file) and its name. */
export function splitPath(path: string): [string, string] {
  const cut = path.lastIndexOf('/');
  return cut < 0 ? ['', path] : [path.slice(0, cut), path.slice(cut + 1)];
}

/** Whether `entries` show their document as a bare path (which may share a folder line). */
export function isBarePath(entries: Entry[] | undefined): boolean {
  return !!entries && entries.length === 1 && entries[0].lod === 3 && !!entries[0].bare && !entries[0].fold;
}

/** The folder of each document shown as a bare path (undefined otherwise): its neighbours decide its folder line. */
export function bareFolders(perDoc: Entry[][], paths: string[]): (string | undefined)[] {
  return perDoc.map((es, i) => (isBarePath(es) ? splitPath(paths[i])[0] : undefined));
}

/**
 * Bare paths of one folder that follow each other share one line, `· folder/: a.py | b.py | …`: a
 * name mid-line costs ~4 tokens where a line of its own costs ~7, and a workspace of thousands of files
 * lists them all. A lone bare path keeps its own line. Each document's part of the line is its own
 * segment: ` | name` starts with a space-led punctuation pre-token, so token counts stay additive.
 */
export function bareRunPart(path: string, prevFolder: string | undefined, nextFolder: string | undefined): string {
  const [folder, name] = splitPath(path);
  const joinsPrev = folder !== '' && prevFolder === folder;
  const joinsNext = folder !== '' && nextFolder === folder;
  if (!joinsPrev && !joinsNext) return `· ${path}\n`;
  return (joinsPrev ? ` | ${name}` : `· ${folder}/: ${name}`) + (joinsNext ? '' : '\n');
}

/**
 * Consecutive entries of one gist level share one line: `~ La-b: gist | gist | …` for blocks (LOD1,
 * landmark blocks only: `~ La-b` alone when the run holds none), `≈ La-b: gist | …` for groups (LOD2),
 * a few tokens per entry instead of a line range each.
 */
export function gistRunLine(run: Entry[], words = BLOCK_WORDS, children = GROUP_CHILDREN, stride = BLOCK_STRIDE): string {
  const doc = run[0].doc;
  const [a] = lineSpan(doc, run[0]);
  const [, b] = lineSpan(doc, run[run.length - 1]);
  if (run[0].lod === 1) {
    const shown = run.map((e) => shownBlockGist(doc, e.index, words, stride)).filter((t) => t !== '');
    // A run that names nothing is lines left out between exact text: an elision line.
    return shown.length > 0 ? `~ L${a}-${b}: ${shown.join(' | ')}\n` : `⋮ L${a}-${b}\n`;
  }
  return `≈ L${a}-${b}: ${run.map((e) => groupGistText(doc, e.index, children) || '…').join(' | ')}\n`;
}

/** The map line record of a gist run: its line range and the units it names with their lines. */
function mapLineOf(run: Entry[]): MapLine {
  const doc = run[0].doc;
  const [a] = lineSpan(doc, run[0]);
  const [, b] = lineSpan(doc, run[run.length - 1]);
  let names: { name: string; line: number }[];
  if (run[0].lod === 1) names = outlineNames(doc, run[0].index, run[run.length - 1].index);
  else {
    const o = outline(doc);
    names = run.flatMap((e) => groupUnits(doc, e.index).map((u) => ({ name: o.units[u].name, line: o.units[u].line + 1 })));
  }
  return { docId: doc.id, startLine: a, endLine: b, names };
}

/** Renders one document's entries (already in order) and appends exact-run positions. */
function renderDocument(
  entries: Entry[],
  path: string,
  base: number,
  runs: ExactRun[],
  maps: MapLine[],
  words: number,
  children: number,
  stride: number,
  neighbours: [string | undefined, string | undefined],
  rootUnits?: (doc: TreeDocument) => readonly number[],
): string {
  const doc = entries[0].doc;
  if (entries.length === 1 && entries[0].lod === 3) {
    const e = entries[0];
    if (e.fold) return foldLine(e.fold);
    if (e.bare) return bareRunPart(path, ...neighbours);
    const first = rootUnits?.(doc) ?? NO_UNITS;
    if (first.length > 0) {
      const o = outline(doc);
      maps.push({ docId: doc.id, startLine: 1, endLine: doc.lines.length, names: first.map((u) => ({ name: o.units[u].name, line: o.units[u].line + 1 })) });
    }
    return rootLine(doc, path, false, first);
  }
  let out = headerLine(doc, path);
  let docText: string | undefined; // decoded once per rendering, only when something is exact
  for (let i = 0; i < entries.length; ) {
    const e = entries[i];
    if (e.lod === 1 || e.lod === 2) {
      let j = i;
      while (j + 1 < entries.length && entries[j + 1].lod === e.lod) j++;
      const run = entries.slice(i, j + 1);
      out += gistRunLine(run, words, children, stride);
      maps.push(mapLineOf(run));
      i = j + 1;
      continue;
    }
    let j = i;
    while (j + 1 < entries.length && entries[j + 1].lod === 0) j++;
    const [c0, c1] = doc.charRange(e.start, entries[j].end);
    const [a, b] = lineSpan(doc, { start: e.start, end: entries[j].end });
    out += OPEN(a, b);
    const text = escapeExact((docText ??= doc.text).slice(c0, c1));
    runs.push({ doc, charStart: c0, charEnd: c1, promptStart: base + out.length, promptEnd: base + out.length + text.length });
    out += text;
    if (!text.endsWith('\n')) out += '\n';
    out += CLOSE;
    i = j + 1;
  }
  return out;
}

/** Renderings longer than this (a focused document) are not cached. */
const SEGMENT_CACHE_MAX_CHARS = 8192;

/**
 * Token counts of rendered documents, by their text. Every document's rendering starts with `## ` or
 * `· ` and ends with a line break, or is the ` | name` continuation of a folder line (see bareRunPart),
 * and o200k's pre-tokenizer always splits between a line break and a following `#` or `·`, and between
 * a name and a following ` |`, so the prompt's count is exactly the sum of its parts' (checked against
 * a whole count by the unit tests). Most documents render the same across refocuses (root lines, folded folders,
 * unchanged regions), so only what changed is counted again. Bounded by characters held (1M).
 */
const segmentTokens = new LRUCache<string, number>({ maxSize: 1_000_000, maxEntrySize: SEGMENT_CACHE_MAX_CHARS, sizeCalculation: (_v, k) => Math.max(1, k.length) });
export const PREAMBLE_TOKENS = countPromptTokens(PREAMBLE);

export function countSegment(text: string): number {
  if (text.length === 0) return 0;
  // A long rendering holds exact text that changes with the focus: counted, not kept.
  if (text.length > SEGMENT_CACHE_MAX_CHARS) return countPromptTokens(text);
  let n = segmentTokens.get(text);
  if (n === undefined) {
    n = countPromptTokens(text);
    segmentTokens.set(text, n);
  }
  return n;
}

export function renderWorkingContext(perDoc: Entry[][], options: RenderOptions): Rendered {
  const parts = [PREAMBLE];
  let length = PREAMBLE.length;
  let tokens = PREAMBLE_TOKENS;
  const exactRuns: ExactRun[] = [];
  const mapLines: MapLine[] = [];
  const paths = perDoc.map((es) => (es.length > 0 ? displayText(options.displayPath(es[0].doc)) : ''));
  const bareFolder = bareFolders(perDoc, paths);
  for (let i = 0; i < perDoc.length; i++) {
    const entries = perDoc[i];
    if (entries.length === 0) continue;
    const neighbours: [string | undefined, string | undefined] = [bareFolder[i - 1], bareFolder[i + 1]];
    const part = renderDocument(
      entries, paths[i], length, exactRuns, mapLines,
      options.blockWords ?? BLOCK_WORDS, options.groupChildren ?? GROUP_CHILDREN, options.blockStride ?? BLOCK_STRIDE, neighbours,
      options.rootUnits,
    );
    parts.push(part);
    length += part.length;
    tokens += countSegment(part);
  }
  return { prompt: parts.join(''), tokens, exactRuns, mapLines };
}
