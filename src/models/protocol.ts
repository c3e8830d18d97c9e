// The extension ↔ engine-host boundary: one typed request/response protocol over Node's IPC channel.
// Add a method by adding one entry to `EngineMethods`; the client, the host dispatcher and the
// tests all derive their types from that map, so a method cannot be half-declared.

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
  /** Process id of the engine host: differs from the extension host's. */
  pid: number;
  /** `process.version` of the engine host. */
  node: string;
}

export interface RuntimeInfoParams {
  /** Execution providers to try in order when models are loaded for the first time. */
  providers?: string[];
}

/** Method name → params and result. Extend here (`index`, `focus`, ...). */
export interface EngineMethods {
  runtimeInfo: { params: RuntimeInfoParams; result: RuntimeInfo };
}

export type EngineMethod = keyof EngineMethods;
export type ParamsOf<M extends EngineMethod> = EngineMethods[M]['params'];
export type ResultOf<M extends EngineMethod> = EngineMethods[M]['result'];

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

export type ToHost = EngineRequest | EngineCancel;
export type FromHost = EngineResponse | EngineReady;

const methods: { [M in EngineMethod]: true } = { runtimeInfo: true };

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
  if (m.kind !== 'response' || typeof m.id !== 'number') return undefined;
  if ('error' in m) {
    const e = m.error as Record<string, unknown> | null;
    if (typeof e !== 'object' || e === null || typeof e.message !== 'string') return undefined;
    return { kind: 'response', id: m.id, error: e as unknown as EngineError };
  }
  if (!('result' in m)) return undefined;
  return { kind: 'response', id: m.id, result: m.result as ResultOf<EngineMethod> };
}
