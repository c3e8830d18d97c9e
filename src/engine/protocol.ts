import type { IndexSummary, SkippedFile } from '../core/indexer';
import type { FocusSnapshot } from '../webview/protocol';
// The extension ↔ engine-host boundary: one typed request/response protocol over Node's IPC channel,
// with progress events tied to a request id.
// Add a method by adding one entry to `EngineMethods`; the client, the host dispatcher and the
// tests all derive their types from that map, so a method cannot be half-declared.

/** The scorers a front end may ask for (core's ScorerKind without the kept-for-comparison greedy one). */
export type ScorerChoice = 'lens' | 'lens2' | 'lexical';

/** What the engine host reports about its own runtime. */
export interface RuntimeInfo {
  /** onnxruntime version (`ort.env.versions.common`). */
  ortVersion: string;
  /** Backends compiled into the onnxruntime binary (`ort.listSupportedBackends()` names). */
  backends: string[];
  /** The execution provider the loaded models run on, or `'none'` when no model is loaded. */
  executionProvider: string;
  /** Absolute path of the folder the host looks for models in. */
  modelsDir: string;
  modelsLoaded: boolean;
  /** Why no model is loaded (absent when `modelsLoaded`). */
  modelsError?: string;
  /** Identifier of the loaded model set (models.json `modelId`). */
  modelId?: string;
  /** Providers tried before the one that runs, with why each failed. */
  providersTried?: { provider: string; error?: string }[];
  /** Intra-op threads the models run with. */
  threads?: number;
  /** Process id of the engine host: differs from the extension host's. */
  pid: number;
  /** `process.version` of the engine host. */
  node: string;
}

export interface RuntimeInfoParams {
  /** Execution providers to try in order when models are loaded for the first time. */
  providers?: string[];
}

/** A file of the workspace that indexing left out, and why (discovery's SkipReason). */
export type { SkippedFile };

export interface IndexParams {
  /** Absolute paths of the workspace folders. */
  roots: string[];
  /** Globs relative to a root; when given, only matching files are indexed. */
  include?: string[];
  /** Globs relative to a root, added to discovery's defaults (and `files.exclude`). */
  exclude?: string[];
  maxFileBytes?: number;
  /** Drop every file document first, so every gist is recomputed. */
  rebuild?: boolean;
}

/** The core indexer's summary, with every skipped path listed (for the output channel). */
export interface IndexResult extends Pick<IndexSummary, 'files' | 'tokens' | 'added' | 'updated' | 'unchanged' | 'removed' | 'ms'> {
  skipped: SkippedFile[];
  /** Files kept with secrets redacted before tokenization. */
  redacted: string[];
}

/** Streamed while `index` runs (an `event` message tied to the request id). */
export interface IndexProgress {
  documents: number;
  totalDocuments: number;
  tokens: number;
}

export interface UpdateFilesParams extends IndexParams {
  /** Files created or changed on disk, or open editors (with their unsaved `text`). */
  changed: { path: string; text?: string }[];
  deleted: string[];
}

export interface UpdateFilesResult {
  updated: number;
  removed: number;
  /** True when a new file made the host re-walk the roots. */
  rewalked: boolean;
  /** Files left out or dropped, with why (a file that now holds a credential is dropped as secret). */
  skipped: SkippedFile[];
  /** Files whose new text had secrets redacted before tokenization. */
  redacted: string[];
}

/** A line range (1-based, inclusive) of a file held at LOD0. */
export interface LineHold {
  path: string;
  startLine: number;
  endLine: number;
}

/** Allocator parameters the extension may override (src/core/focus.ts FocusSettings). */
export interface FocusSettingsParams {
  tauExpand?: number;
  tauCollapse?: number;
  nDiff?: number;
  cooldown?: number;
  gate?: number;
  shift?: [number, number, number] | null;
  sharpen?: number;
}

export interface FocusParams {
  query: string;
  budget: number;
  /** Pinned line ranges, held at LOD0. */
  holds?: LineHold[];
  /** Line ranges the user collapsed: kept at group gists (LOD2) or coarser. */
  collapsed?: LineHold[];
  /** The chat session whose most recent tokens are held at LOD0. */
  chatSession?: string;
  settings?: FocusSettingsParams;
  /**
   * lens (default): LensNet scores the entries for the allocator. lexical: the budget-aware lexical plan
   * (src/core/plan.ts), which measures higher recall (README, "Focus quality"). lens2: the lexical plan
   * choosing by LensNet v2's block values (src/core/valueModel.ts; the lexical plan without it).
   */
  scorer?: ScorerChoice;
}

/** One entry of the working context, as the extension sees it. */
export interface EntrySummary {
  /** Absolute path for files, `chat:<session>` / `notes:<name>` for memory documents. */
  path: string;
  /** Path as rendered in the prompt (workspace-relative for files). */
  display: string;
  kind: 'file' | 'chat' | 'notes';
  /** 0 exact, 1 block gist, 2 group gist, 3 document root. */
  lod: number;
  start: number;
  end: number;
  charStart: number;
  charEnd: number;
  /** 1-based, inclusive. */
  startLine: number;
  endLine: number;
  held: boolean;
}

export interface FocusResult {
  query: string;
  budget: number;
  prompt: string;
  tokens: number;
  entries: EntrySummary[];
  /** Entries per LOD (index = lod). */
  composition: { lod: number; entries: number }[];
  /** Prompt tokens that are exact (LOD0) text; the rest are gists, headers and markers. */
  exactTokens: number;
  documents: number;
  /** Who scored relevance: LensNet, the plan by LensNet v2's values, or the lexical plan (asked for, or the models did not load). */
  scorer: ScorerChoice;
  telemetry: Record<string, number>;
  timings: Record<string, number>;
  /** What the focus viewer draws (built in the host, where the tree is). */
  snapshot: FocusSnapshot;
  /** Set when the learned models are not in use and focus ran on lexical evidence alone: why. */
  lexicalOnly?: string;
  /** The result as Markdown (src/engine/report.ts): budget, composition and one LOD strip per document. */
  report: string;
}

/** The line every surface shows when focus ran without the learned models. */
export function lexicalOnlyNotice(reason: string): string {
  return `Lexical-only mode: the MegaContext models did not load (${reason}), so focus follows word matches alone. Run "MegaContext: Show Runtime Info" for details.`;
}

export interface AppendResult {
  docId: string;
  tokens: number;
}

export interface ExpandParams {
  /** Absolute path of an indexed file, or a memory document id (`chat:…`, `notes:…`). */
  path: string;
  startLine: number;
  endLine: number;
}

export interface ExpandResult {
  path: string;
  startLine: number;
  endLine: number;
  /** Exact text (secrets redacted, as indexed). */
  text: string;
  totalLines: number;
}

export interface EngineStatus {
  documents: number;
  files: number;
  chatDocuments: number;
  notesDocuments: number;
  tokens: number;
  storeDir: string | null;
  storeBytes: number;
  /** How the tree was opened: 'new', 'loaded N documents', 'rebuilt (reason)', or 'not opened'. */
  store: string;
  executionProvider: string;
  modelId: string | null;
  /**
   * True when the learned models did not load: memory works in lexical-only mode (BM25 evidence,
   * hashed-word gists, kept in its own store) and every surface says so; `degradedReason` says why.
   */
  degraded: boolean;
  degradedReason?: string;
  /** Blocks gisted by the models since this host started (0 after a warm start that changed nothing). */
  blocksGisted: number;
  blocksReused: number;
}

/** Method name → params, result and (optionally) the events it streams. */
export interface EngineMethods {
  runtimeInfo: { params: RuntimeInfoParams; result: RuntimeInfo };
  index: { params: IndexParams; result: IndexResult; event: IndexProgress };
  updateFiles: { params: UpdateFilesParams; result: UpdateFilesResult };
  focus: { params: FocusParams; result: FocusResult };
  appendChat: { params: { session: string; text: string }; result: AppendResult };
  remember: { params: { note: string }; result: AppendResult };
  expand: { params: ExpandParams; result: ExpandResult };
  clearChat: { params: Record<string, never>; result: { removed: number } };
  status: { params: Record<string, never>; result: EngineStatus };
  /** Writes the tree to the store now (otherwise it is written shortly after each change). */
  flush: { params: Record<string, never>; result: { bytes: number } };
}

export type EngineMethod = keyof EngineMethods;
export type ParamsOf<M extends EngineMethod> = EngineMethods[M]['params'];
export type ResultOf<M extends EngineMethod> = EngineMethods[M]['result'];
export type EventOf<M extends EngineMethod> = EngineMethods[M] extends { event: infer E } ? E : never;

/** extension → host */
export interface EngineRequest<M extends EngineMethod = EngineMethod> {
  kind: 'request';
  id: number;
  method: M;
  params: ParamsOf<M>;
}

/** extension → host: the caller gave up on request `id`; the host may stop working on it. */
export interface EngineCancel {
  kind: 'cancel';
  id: number;
}

export interface EngineError {
  message: string;
  /** A stable code the client can branch on. */
  code: 'unknownMethod' | 'badRequest' | 'failed' | 'cancelled';
  stack?: string;
}

/** host → extension */
export type EngineResponse<M extends EngineMethod = EngineMethod> =
  | { kind: 'response'; id: number; result: ResultOf<M> }
  | { kind: 'response'; id: number; error: EngineError };

/** host → extension, once, when the host is ready to take requests. */
export interface EngineReady {
  kind: 'ready';
  pid: number;
}

/** host → extension: progress of the running request `id` (for example `index`'s IndexProgress). */
export interface EngineEvent {
  kind: 'event';
  id: number;
  event: unknown;
}

export type ToHost = EngineRequest | EngineCancel;
export type FromHost = EngineResponse | EngineReady | EngineEvent;

const methods: { [M in EngineMethod]: true } = {
  runtimeInfo: true, index: true, updateFiles: true, focus: true, appendChat: true, remember: true,
  expand: true, clearChat: true, status: true, flush: true,
};

export function isEngineMethod(name: unknown): name is EngineMethod {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(methods, name);
}

/** Validates a message arriving at the host; returns undefined for anything malformed. */
export function parseToHost(message: unknown): ToHost | undefined {
  if (typeof message !== 'object' || message === null) return undefined;
  const m = message as Record<string, unknown>;
  if (typeof m.id !== 'number' || !Number.isInteger(m.id)) return undefined;
  if (m.kind === 'cancel') return { kind: 'cancel', id: m.id };
  if (m.kind !== 'request' || typeof m.method !== 'string') return undefined;
  const params = m.params === undefined ? {} : m.params;
  if (typeof params !== 'object' || params === null) return undefined;
  return { kind: 'request', id: m.id, method: m.method as EngineMethod, params: params as ParamsOf<EngineMethod> };
}

/** Validates a message arriving at the extension; returns undefined for anything malformed. */
export function parseFromHost(message: unknown): FromHost | undefined {
  if (typeof message !== 'object' || message === null) return undefined;
  const m = message as Record<string, unknown>;
  if (m.kind === 'ready' && typeof m.pid === 'number') return { kind: 'ready', pid: m.pid };
  if (m.kind === 'event' && typeof m.id === 'number') return { kind: 'event', id: m.id, event: m.event };
  if (m.kind !== 'response' || typeof m.id !== 'number') return undefined;
  if ('error' in m) {
    const e = m.error as Record<string, unknown> | null;
    if (typeof e !== 'object' || e === null || typeof e.message !== 'string') return undefined;
    return { kind: 'response', id: m.id, error: e as unknown as EngineError };
  }
  if (!('result' in m)) return undefined;
  return { kind: 'response', id: m.id, result: m.result as ResultOf<EngineMethod> };
}
