// The extension ↔ focus-viewer boundary: the one module both sides import. It must stay free of
// `vscode`, Node and DOM imports, because the webview build (media/tsconfig.json) compiles it too and
// cannot see host code. Messages are named `scope/method`; host → viewer updates carry whole
// snapshots (never deltas), so a viewer that missed one is repaired by the next.

/** LOD of a span: 0 exact text, 1 block gist, 2 group gist, 3 document root line. */
export type SpanLod = 0 | 1 | 2 | 3;

export interface FocusSpan {
  lod: SpanLod;
  /** Token range [start, end) in the document. */
  start: number;
  end: number;
  /** 1-based, inclusive line range the span covers. */
  startLine: number;
  endLine: number;
  /** Last score the scorer gave the span (> 0 wants detail, < 0 wants less). */
  score: number;
  /**
   * What the model sees for the span: the exact text (LOD0, cut at a limit, see `truncated`), the
   * block's gist (LOD1), the group's gist (LOD2; runs of either share a line in the prompt) or the
   * document's root line (LOD3).
   */
  gistText: string;
  /** True when `gistText` is a prefix of longer exact text. */
  truncated: boolean;
  /** Held at LOD0 (pinned by the user, the active editor, or the recent chat tail). */
  pinned: boolean;
  /** Prompt tokens this span costs (its own lines, without the document header). */
  cost: number;
  /** The units the span covers, from the document's outline (`name L12`, or `in name L40-120` inside one). */
  names?: string[];
}

/** One exact run of the prompt: what the model reads verbatim, and why it is there. */
export interface InContextItem {
  /** Index of its document in `FocusSnapshot.documents`. */
  doc: number;
  path: string;
  /** 1-based, inclusive line range of the run. */
  startLine: number;
  endLine: number;
  /** Units the run shows (`name L12`), from the outline. */
  names: string[];
  /** The query's words (as typed) found in the run, by their search terms (identifier parts, lightly stemmed). */
  matched: string[];
  /** Best score the scorer gave its blocks. */
  score: number;
  /** Held exact by a pin, the active editor or the chat tail. */
  pinned: boolean;
  /** Prompt tokens of its text. */
  tokens: number;
}

export interface FocusDocument {
  /** The document's id in the tree (absolute file path, `chat:…`, `notes:…`). */
  id: string;
  /** Display path (workspace-relative file path, or a chat/notes label), as in the prompt. */
  path: string;
  tokens: number;
  /** Spans in order, covering [0, tokens) exactly once. */
  spans: FocusSpan[];
}

export interface LodTotals {
  0: number;
  1: number;
  2: number;
  3: number;
}

export interface StageTimings {
  tailMs: number;
  scoreMs: number;
  allocateMs: number;
  renderMs: number;
  totalMs: number;
}

export interface RefocusTelemetry {
  actions: number;
  expands: number;
  collapses: number;
  swapRate: number;
  iterations: number;
  oscillations: number;
  budgetUtilisation: number;
  timings: StageTimings;
}

export interface FocusSnapshot {
  query: string;
  budget: number;
  /** Exact token count of the rendered prompt (headers and preamble included). */
  usedTokens: number;
  /** Prompt tokens spent on spans of each LOD. */
  byLod: LodTotals;
  /** Prompt tokens not attributable to a span: preamble, document headers, exact-text markers. */
  overheadTokens: number;
  /**
   * By relevance: documents with exact text first (the most first), then those with gists by best score,
   * then those shown only by their root line, by path (the viewer folds these by folder).
   */
  documents: FocusDocument[];
  /** The prompt's exact runs in document order: what the model sees verbatim, and why. */
  inContext?: InContextItem[];
  telemetry: RefocusTelemetry;
  /** Spans of this snapshot (see `spanKey`) that the last refocus made finer or coarser. */
  changed?: { expanded: string[]; collapsed: string[] };
  /** Set when the learned models did not load and focus ran on lexical evidence alone: why. */
  lexicalOnly?: string;
}

/** Identifies one span of one snapshot; what the viewer sends back to act on a span. */
export interface SpanRef {
  path: string;
  lod: SpanLod;
  start: number;
  end: number;
  startLine: number;
  endLine: number;
  /** The document's tree id; set by the host when it resolves a ref against its snapshot, never trusted from the webview. */
  docId?: string;
}

export function spanKey(path: string, span: { lod: number; start: number }): string {
  return `${span.lod}:${span.start}:${path}`;
}

export function spanRef(path: string, s: FocusSpan): SpanRef {
  return { path, lod: s.lod, start: s.start, end: s.end, startLine: s.startLine, endLine: s.endLine };
}

// ---- messages ---------------------------------------------------------------------------------

/**
 * host → viewer. `animate` is false when a snapshot is only re-sent (the view was hidden, reloaded). `notice`: a
 * line the view shows above everything (for example that no chat model is available, and what to do).
 */
export type HostToViewer = { type: 'snapshot/didChange'; snapshot: FocusSnapshot | null; animate: boolean; notice?: string };

const MAX_NOTICE = 2000;

export type SpanAction = 'span/open' | 'span/pin' | 'span/collapse' | 'span/unpin';

/** viewer → host. `focus/query` runs a focus for the question typed into the view. */
export type ViewerToHost = { type: 'viewer/ready' } | { type: SpanAction; span: SpanRef } | { type: 'focus/query'; query: string };

/** Longest question the view's query box sends (the recall tool's limit). */
export const MAX_QUERY_CHARS = 4000;

const SPAN_ACTIONS: readonly string[] = ['span/open', 'span/pin', 'span/collapse', 'span/unpin'];

/** The host side of the viewer: what the extension plugs in (wired to the engine host). */
export interface FocusSource {
  /** Fires after every refocus (a command, a chat request, a tool call) with the whole new snapshot. */
  readonly onDidFocus: FocusEvent<FocusSnapshot>;
  /** The latest snapshot, if there has been a refocus. */
  current(): FocusSnapshot | undefined;
  /** Hold the span at LOD0 (a user constraint for the allocator), then refocus. */
  pin(span: SpanRef): unknown;
  /** Ask for the span at less detail, then refocus. */
  collapse(span: SpanRef): unknown;
  /** Release a pin covering the span, then refocus. */
  unpin(span: SpanRef): unknown;
  /** Open the span's source; when absent the viewer opens `path` (absolute or workspace-relative). */
  open?(span: SpanRef): unknown;
  /** Focus on a question typed into the view (as "Focus on Query…" does). */
  query?(query: string): unknown;
  /** A line the view shows above everything, if any; `onDidChangeNotice` fires when it changes. */
  notice?(): string | undefined;
  readonly onDidChangeNotice?: FocusEvent<void>;
}

/** Structurally a `vscode.Event<T>` (an `EventEmitter<T>.event` fits), without importing vscode here. */
export type FocusEvent<T> = (listener: (e: T) => unknown) => { dispose(): unknown };

// ---- validation (hand-written; everything from the other side is untrusted) ------------------

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isLine = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 1;
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isLod = (v: unknown): v is SpanLod => v === 0 || v === 1 || v === 2 || v === 3;
const MAX_PATH = 4096;

/** Validates a span reference; undefined for anything malformed (extra keys are dropped). */
export function parseSpanRef(v: unknown): SpanRef | undefined {
  if (!isObj(v)) return undefined;
  const { path, lod, start, end, startLine, endLine } = v;
  if (typeof path !== 'string' || path.length === 0 || path.length > MAX_PATH) return undefined;
  if (!isLod(lod) || !isCount(start) || !isCount(end) || end < start) return undefined;
  if (!isLine(startLine) || !isLine(endLine) || endLine < startLine) return undefined;
  return { path, lod, start, end, startLine, endLine };
}

/** Validates a message from the webview; undefined for unknown types and malformed payloads. */
export function parseViewerMessage(message: unknown): ViewerToHost | undefined {
  if (!isObj(message) || typeof message.type !== 'string') return undefined;
  if (message.type === 'viewer/ready') return { type: 'viewer/ready' };
  if (message.type === 'focus/query') {
    const q = typeof message.query === 'string' ? message.query.trim() : '';
    return q.length > 0 && q.length <= MAX_QUERY_CHARS ? { type: 'focus/query', query: q } : undefined;
  }
  if (!SPAN_ACTIONS.includes(message.type)) return undefined;
  const span = parseSpanRef(message.span);
  return span ? { type: message.type as SpanAction, span } : undefined;
}

function isSpan(v: unknown): v is FocusSpan {
  return isObj(v) && isLod(v.lod) && isCount(v.start) && isCount(v.end) && isLine(v.startLine) && isLine(v.endLine) &&
    isNum(v.score) && typeof v.gistText === 'string' && typeof v.truncated === 'boolean' && typeof v.pinned === 'boolean' && isCount(v.cost) &&
    (v.names === undefined || isStrings(v.names));
}

function isDocument(v: unknown): v is FocusDocument {
  return isObj(v) && typeof v.id === 'string' && typeof v.path === 'string' && isCount(v.tokens) && Array.isArray(v.spans) && v.spans.every(isSpan);
}

function isSnapshot(v: unknown): v is FocusSnapshot {
  if (!isObj(v) || typeof v.query !== 'string' || !isCount(v.budget) || !isCount(v.usedTokens) || !isCount(v.overheadTokens)) return false;
  const by = v.byLod;
  if (!isObj(by) || ![0, 1, 2, 3].every((l) => isCount(by[l]))) return false;
  const t = v.telemetry;
  if (!isObj(t) || !['actions', 'expands', 'collapses', 'swapRate', 'iterations', 'oscillations', 'budgetUtilisation'].every((k) => isNum(t[k]))) return false;
  const tm = t.timings;
  if (!isObj(tm) || !['tailMs', 'scoreMs', 'allocateMs', 'renderMs', 'totalMs'].every((k) => isNum(tm[k]))) return false;
  const ch = v.changed;
  if (ch !== undefined && !(isObj(ch) && isStrings(ch.expanded) && isStrings(ch.collapsed))) return false;
  if (v.lexicalOnly !== undefined && typeof v.lexicalOnly !== 'string') return false;
  if (!Array.isArray(v.documents) || !v.documents.every(isDocument)) return false;
  const docs = v.documents.length;
  return v.inContext === undefined || (Array.isArray(v.inContext) && v.inContext.every((i) => isInContext(i, docs)));
}

function isInContext(v: unknown, documents: number): v is InContextItem {
  return isObj(v) && isCount(v.doc) && v.doc < documents && typeof v.path === 'string' && isLine(v.startLine) && isLine(v.endLine) &&
    isStrings(v.names) && isStrings(v.matched) && isNum(v.score) && typeof v.pinned === 'boolean' && isCount(v.tokens);
}

const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === 'string');

/** Validates a message arriving in the webview (it also receives messages it did not ask for). */
export function parseHostMessage(message: unknown): HostToViewer | undefined {
  if (!isObj(message) || message.type !== 'snapshot/didChange' || typeof message.animate !== 'boolean') return undefined;
  if (message.snapshot !== null && !isSnapshot(message.snapshot)) return undefined;
  const notice = message.notice;
  if (notice !== undefined && (typeof notice !== 'string' || notice.length > MAX_NOTICE)) return undefined;
  const parsed: HostToViewer = { type: 'snapshot/didChange', snapshot: message.snapshot as FocusSnapshot | null, animate: message.animate };
  if (notice !== undefined) parsed.notice = notice;
  return parsed;
}
