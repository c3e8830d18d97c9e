// Units: the pieces of a document a reader thinks in (DESIGN.md, "unit"). Code is parsed by tree-sitter
// (web-tree-sitter with the grammars VS Code ships, @vscode/tree-sitter-wasm), Markdown and chat
// transcripts by their line structure, and everything else falls back to indentation and blank lines.
// Nothing here throws: whatever goes wrong with a parser ends in the fallback.
import { dirname, join } from 'node:path';
import type * as TreeSitter from 'web-tree-sitter';
import { own } from './lexical';
import { LANGUAGES, type LanguageSpec } from './units/languages';
import { compileLanguage, treeUnits, type CompiledLanguage } from './units/syntax';
import { conversationUnits, fallbackUnits, looksLikeConversation, markdownUnits } from './units/text';

export type UnitKind = 'function' | 'method' | 'class' | 'interface' | 'type' | 'statement' | 'section' | 'session' | 'turn' | 'block';
export interface Unit {
  kind: UnitKind;
  /** identifier (function/class name), heading text, or speaker; '' when there is none */
  name: string;
  /** 0-based first line of the unit (decorators / attributes included, leading comments not) */
  start: number;
  /** 0-based line holding the name (the `def`/`class`/`function` line, the heading line, the turn's first line) */
  line: number;
  /** 0-based last line, inclusive */
  end: number;
  /** 0-based last line of the head: decorators + signature (+ a Python docstring / leading JSDoc is NOT part; the docstring right after the signature IS); start <= headEnd <= end */
  headEnd: number;
  /** index in the returned array of the innermost enclosing unit, -1 at top level */
  parent: number;
}
export type DocumentKind = 'file' | 'chat' | 'notes';

/** Longer texts are not parsed (fallback): tree-sitter's time and memory grow with the file. */
export const MAX_PARSE_CHARS = 1_000_000;
/** A parse that runs longer than this is cancelled (fallback); 1 MB parses in about 200 ms. */
export const PARSE_TIMEOUT_MS = 2_000;
/** How many documents' trees a UnitParser keeps for incremental reparsing. */
export const MAX_KEPT_TREES = 64;

const MARKDOWN = new Set(['md', 'markdown', 'mdx']);

interface Grammar extends CompiledLanguage {
  parser: TreeSitter.Parser;
}
interface Runtime {
  Edit: typeof TreeSitter.Edit;
  /** Loaded grammars by extension (lower case) or whole file name. */
  byName: Map<string, Grammar>;
}
let runtime: Runtime | undefined;
let starting: Promise<Runtime | undefined> | undefined;
/** Each language's load, started once (a failed one resolves too: that language keeps the fallback). */
const languageLoads = new Map<LanguageSpec, Promise<void>>();
/** Lower-case extension or whole file name → its language. */
const SPEC_BY_NAME = new Map(LANGUAGES.flatMap((spec) => spec.extensions.map((name) => [name.toLowerCase(), spec] as const)));

/**
 * Loads web-tree-sitter and the grammars of the languages among `paths` (every grammar when no paths
 * are given), each once; never throws (a grammar that fails to load just means fallback for that
 * language). A workspace of Python files loads Python's grammar alone: every grammar took ~70 MB.
 */
export async function loadGrammars(paths?: Iterable<string>): Promise<void> {
  const specs = new Set<LanguageSpec>();
  if (paths === undefined) for (const spec of LANGUAGES) specs.add(spec);
  else {
    for (const p of paths) {
      const spec = SPEC_BY_NAME.get(extension(p)) ?? SPEC_BY_NAME.get(baseName(p).toLowerCase());
      if (spec) specs.add(spec);
      if (specs.size === LANGUAGES.length) break;
    }
  }
  const loads: Promise<void>[] = [];
  for (const spec of specs) {
    let l = languageLoads.get(spec);
    if (!l) languageLoads.set(spec, (l = loadLanguage(spec)));
    loads.push(l);
  }
  await Promise.all(loads);
}

async function loadLanguage(spec: LanguageSpec): Promise<void> {
  const rt = await (starting ??= start().catch(() => undefined));
  if (!rt) return;
  try {
    const ts = require('web-tree-sitter') as typeof TreeSitter;
    const wasm = join(dirname(require.resolve('@vscode/tree-sitter-wasm/package.json')), 'wasm');
    const language = await ts.Language.load(join(wasm, `tree-sitter-${spec.grammar}.wasm`));
    const parser = new ts.Parser();
    parser.setLanguage(language);
    const grammar: Grammar = { ...compileLanguage(spec, language), parser };
    for (const name of spec.extensions) rt.byName.set(name.toLowerCase(), grammar);
  } catch {
    // This language keeps the fallback.
  }
}

async function start(): Promise<Runtime> {
  // Required here, not imported at the top: the CLI and the engine host pay for the runtime only when
  // they ask for grammars. The package stays outside the dist/ bundles (scripts/build.mjs): it finds
  // its own web-tree-sitter.wasm beside itself.
  const ts = require('web-tree-sitter') as typeof TreeSitter;
  await ts.Parser.init();
  runtime = { Edit: ts.Edit, byName: new Map() };
  return runtime;
}

/** The names of the grammars loaded so far (empty before loadGrammars() resolves). */
export function loadedGrammars(): string[] {
  return [...new Set([...(runtime?.byName.values() ?? [])].map((g) => g.spec.grammar))].sort();
}

function baseName(path: string): string {
  return path.slice(Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\')) + 1);
}
function extension(path: string): string {
  const base = baseName(path);
  const dot = base.lastIndexOf('.');
  return dot > 0 ? base.slice(dot + 1).toLowerCase() : '';
}

function grammarFor(path: string, kind: DocumentKind): Grammar | undefined {
  if (kind !== 'file' || !runtime) return undefined;
  return runtime.byName.get(extension(path)) ?? runtime.byName.get(baseName(path).toLowerCase());
}

/** Units of a document, sorted by start (parents before their children). Synchronous; before loadGrammars() resolved, or for a language without grammar, or when parsing throws/times out, it uses the fallback. kind 'chat'/'notes' are memory documents (chat transcripts). Never throws. */
export function documentUnits(path: string, text: string, kind: DocumentKind): Unit[] {
  try {
    const grammar = grammarFor(path, kind);
    if (grammar) {
      const parsed = parse(grammar, text, null);
      if (parsed) {
        parsed.tree.delete();
        return parsed.units;
      }
    }
    return textUnits(path, text, kind);
  } catch {
    return safeFallback(text);
  }
}

/**
 * Names are slices of the document's text (a tree-sitter node's text, a regex capture): kept on the
 * outline, a slice of 13 characters or more would keep the whole text alive after the decoded-text cache
 * let it go (1M tokens: ~1.6 bytes/token). Each name becomes a string of its own.
 */
function ownNames(units: Unit[]): Unit[] {
  for (const u of units) u.name = own(u.name);
  return units;
}

/** Units from line structure only: Markdown, conversations, or the indentation fallback. */
function textUnits(path: string, text: string, kind: DocumentKind): Unit[] {
  return ownNames(lineUnits(path, text, kind));
}

function lineUnits(path: string, text: string, kind: DocumentKind): Unit[] {
  if (kind !== 'file') {
    const chat = conversationUnits(text, false);
    if (chat.some((u) => u.kind === 'turn')) return chat;
    return looksLikeConversation(text) ? conversationUnits(text, true) : fallbackUnits(text);
  }
  // A conversation in a file without a grammar, Markdown included (`## Session …` headings over `Speaker: text`
  // lines): its turns, not one section per session whose map words would be the turns' labels.
  if (!grammarFor(path, kind) && looksLikeConversation(text)) return conversationUnits(text, true);
  if (MARKDOWN.has(extension(path))) {
    const sections = markdownUnits(text);
    return sections.length ? sections : fallbackUnits(text); // no heading at all: paragraphs
  }
  return fallbackUnits(text);
}

function safeFallback(text: string): Unit[] {
  try {
    return ownNames(fallbackUnits(text));
  } catch {
    return [];
  }
}

/**
 * Parses with a time limit and extracts units. undefined (the caller falls back) for a text too long
 * or binary, a cancelled parse, or a tree so broken that it holds errors and no declaration at all.
 * The caller owns the returned tree.
 */
function parse(grammar: Grammar, text: string, old: TreeSitter.Tree | null): { tree: TreeSitter.Tree; units: Unit[] } | undefined {
  if (text.length > MAX_PARSE_CHARS || text.includes('\0')) return undefined;
  const deadline = performance.now() + PARSE_TIMEOUT_MS;
  const tree = grammar.parser.parse(text, old, { progressCallback: () => performance.now() > deadline });
  if (!tree) {
    grammar.parser.reset(); // a cancelled parse would otherwise be resumed by the next one
    return undefined;
  }
  try {
    const units = ownNames(treeUnits(grammar, tree, text));
    if (tree.rootNode.hasError && units.every((u) => u.kind === 'statement')) {
      tree.delete();
      return undefined;
    }
    return { tree, units };
  } catch {
    tree.delete();
    return undefined;
  }
}

/** A UTF-16 offset as a tree-sitter point (row, and column in UTF-16 code units like web-tree-sitter's). */
function pointAt(text: string, index: number): TreeSitter.Point {
  let row = 0;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i >= 0 && i < index; i = text.indexOf('\n', i + 1)) {
    row++;
    lineStart = i + 1;
  }
  return { row, column: index - lineStart };
}

const isHighSurrogate = (c: number) => c >= 0xd800 && c <= 0xdbff;
const isLowSurrogate = (c: number) => c >= 0xdc00 && c <= 0xdfff;

/** The one edit that turns `before` into `after`: the span between their common prefix and suffix. */
export function editBetween(before: string, after: string): { startIndex: number; oldEndIndex: number; newEndIndex: number; startPosition: TreeSitter.Point; oldEndPosition: TreeSitter.Point; newEndPosition: TreeSitter.Point } {
  const max = Math.min(before.length, after.length);
  let prefix = 0;
  while (prefix < max && before.charCodeAt(prefix) === after.charCodeAt(prefix)) prefix++;
  if (prefix > 0 && prefix < max && isHighSurrogate(before.charCodeAt(prefix - 1))) prefix--; // never split a pair
  let suffix = 0;
  while (suffix < max - prefix && before.charCodeAt(before.length - 1 - suffix) === after.charCodeAt(after.length - 1 - suffix)) suffix++;
  if (suffix > 0 && isLowSurrogate(before.charCodeAt(before.length - suffix))) suffix--;
  const oldEndIndex = before.length - suffix;
  const newEndIndex = after.length - suffix;
  return {
    startIndex: prefix,
    oldEndIndex,
    newEndIndex,
    startPosition: pointAt(before, prefix),
    oldEndPosition: pointAt(before, oldEndIndex),
    newEndPosition: pointAt(after, newEndIndex),
  };
}

/**
 * Incremental parsing across edits: keeps the last tree (and text) of the most recently updated
 * documents (an LRU of `maxTrees`, MAX_KEPT_TREES by default; evicted trees are deleted, since wasm
 * memory is not garbage-collected), turns old and new text into one edit (common prefix and suffix),
 * applies it with tree.edit() and reparses with the old tree. Same output as documentUnits.
 */
export class UnitParser {
  /** Oldest first: a Map iterates in insertion order, and update() re-inserts. */
  private readonly trees = new Map<string, { tree: TreeSitter.Tree; text: string; grammar: Grammar }>();

  constructor(private readonly maxTrees = MAX_KEPT_TREES) {}

  update(id: string, path: string, text: string, kind: DocumentKind): Unit[] {
    const kept = this.trees.get(id);
    this.trees.delete(id);
    try {
      const grammar = grammarFor(path, kind);
      // Error recovery depends on the tree it starts from: reusing a tree that has or gets an ERROR
      // node can give other units than a fresh parse of the same text. Units must not depend on the
      // edit history, so a broken text is always parsed afresh.
      let old: TreeSitter.Tree | null = null;
      if (kept && kept.grammar === grammar && runtime && !kept.tree.rootNode.hasError) {
        old = kept.tree;
        old.edit(new runtime.Edit(editBetween(kept.text, text)));
      }
      let parsed = grammar ? parse(grammar, text, old) : undefined;
      if (parsed && old && parsed.tree.rootNode.hasError) {
        parsed.tree.delete();
        parsed = parse(grammar!, text, null);
      }
      if (!parsed) return textUnits(path, text, kind);
      this.trees.set(id, { tree: parsed.tree, text, grammar: grammar! });
      for (const [oldest, entry] of this.trees) {
        if (this.trees.size <= this.maxTrees) break;
        entry.tree.delete();
        this.trees.delete(oldest);
      }
      return parsed.units;
    } catch {
      return documentUnits(path, text, kind);
    } finally {
      kept?.tree.delete();
    }
  }

  /** Drops the kept tree of one document (closed, deleted, renamed). */
  forget(id: string): void {
    const kept = this.trees.get(id);
    if (!kept) return;
    this.trees.delete(id);
    try {
      kept.tree.delete();
    } catch {
      // A tree that cannot be freed is gone either way.
    }
  }

  /** Frees every kept tree. */
  dispose(): void {
    for (const id of [...this.trees.keys()]) this.forget(id);
  }

  /** How many trees are kept (for tests and status). */
  get size(): number {
    return this.trees.size;
  }
}
