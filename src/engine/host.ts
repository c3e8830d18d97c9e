// Entry of the engine host: a child Node process forked by the extension (src/extension/engineClient.ts).
// It owns onnxruntime-node and the models; requests arrive over the IPC channel and are dispatched by
// method name (src/engine/protocol.ts) to the one engine, Memory (memory.ts). Only the extension (and
// tests driving it as the extension does) starts it: the CLI and the MCP server run Memory in-process.
// Models load lazily, on the first request that needs them, so starting the host is cheap.
import { join } from 'node:path';
import { packageRoot } from '../core/packageRoot';
import type { ModelRuntime } from '../core/runtime';
import { Memory, MemoryRequestError } from './memory';
import { chooseRuntime } from './runtimeChoice';
import {
  isEngineMethod,
  parseToHost,
  type EngineError,
  type EngineMethod,
  type EngineResponse,
  type EventOf,
  type FromHost,
  type ParamsOf,
  type ResultOf,
  type RuntimeInfo,
} from './protocol';

type Ort = typeof import('onnxruntime-node');
type Handler<M extends EngineMethod> = (params: ParamsOf<M>, signal: AbortSignal, emit: (event: EventOf<M>) => void) => Promise<ResultOf<M>>;

/** The bundle lives in <extensionRoot>/dist; the models beside it in <extensionRoot>/models. */
const modelsDir = process.env.MEGACONTEXT_MODELS_DIR || join(packageRoot(), 'models');
/** The extension's storage folder for this workspace (its `storageUri`); unset: nothing is persisted. */
const storeDir = process.env.MEGACONTEXT_STORE_DIR || undefined;
/** Execution providers in the order the user's settings give them. */
const envProviders = process.env.MEGACONTEXT_PROVIDERS?.split(',').filter(Boolean);

let ort: Ort | undefined;
function loadOrt(): Ort {
  // Required on first use only: loading the native addon is the expensive, risky part.
  ort ??= require('onnxruntime-node') as Ort;
  return ort;
}

type OnnxRuntimeModule = typeof import('../models/onnxRuntime');
type LoadedModels = Awaited<ReturnType<OnnxRuntimeModule['loadModels']>>;
type ModelState = { loaded: LoadedModels } | { error: string };
let models: Promise<ModelState> | undefined;

async function loadModels(providers: string[] | undefined): Promise<ModelState> {
  // Required lazily: the module imports onnxruntime-node at its top.
  const { loadModels: load, DEFAULT_PROVIDERS } = require('../models/onnxRuntime') as OnnxRuntimeModule;
  try {
    const order = providers?.length ? providers : envProviders?.length ? envProviders : DEFAULT_PROVIDERS;
    return { loaded: await load(modelsDir, { providers: order }) };
  } catch (err) {
    return { error: errorMessage(err) };
  }
}

let memory: Promise<Memory> | undefined;

/**
 * The memory, opened from the store on first use. When the models do not load (missing, corrupt, no
 * provider), memory still works in lexical-only mode; that tree lives in a store folder of its own so
 * the learned gists of the real store are kept for when the models are back.
 */
function openMemory(): Promise<Memory> {
  memory ??= (async () => {
    models ??= loadModels(undefined);
    const state = await models;
    const choice = await chooseRuntime(async () => {
      if ('loaded' in state) return state.loaded as ModelRuntime;
      throw new Error(state.error);
    }, storeDir);
    if (choice.lexicalOnly !== undefined) process.stderr.write(`[megacontext] the models did not load, running lexical-only: ${choice.lexicalOnly}\n`);
    const m = await Memory.open({ runtime: choice.runtime, storeDir: choice.storeDir });
    // The first question usually comes after the startup index: parse the restored outlines meanwhile.
    m.prewarm().catch((err: unknown) => process.stderr.write(`[megacontext] prewarm failed: ${errorMessage(err)}\n`));
    return m;
  })();
  memory.catch(() => { memory = undefined; });
  return memory;
}

class BadRequest extends Error {}

function requireString(value: unknown, name: string): string {
  if (typeof value !== 'string' || value.trim() === '') throw new BadRequest(`${name} must be a non-empty string`);
  return value;
}

const handlers: { [M in EngineMethod]: Handler<M> } = {
  async runtimeInfo(params) {
    const runtime = loadOrt();
    models ??= loadModels(params.providers);
    const state = await models;
    const info: RuntimeInfo = {
      ortVersion: runtime.env.versions.common,
      backends: runtime.listSupportedBackends().map((b) => b.name),
      executionProvider: 'loaded' in state ? state.loaded.info().executionProvider : 'none',
      modelsDir,
      modelsLoaded: 'loaded' in state,
      pid: process.pid,
      node: process.version,
    };
    if ('loaded' in state) {
      info.modelId = state.loaded.modelId;
      info.providersTried = state.loaded.info().providersTried;
      info.threads = state.loaded.info().threads;
    } else {
      info.modelsError = state.error;
    }
    return info;
  },

  async index(params, signal, emit) {
    if (!Array.isArray(params.roots)) throw new BadRequest('roots must be an array of folder paths');
    // A finished index is written at once (a failed write is logged on stderr): the status the extension
    // asks for next reports the store's real size.
    return (await openMemory()).index(params, signal, emit);
  },

  async updateFiles(params, signal) {
    return (await openMemory()).update(params, signal);
  },

  async focus(params) {
    requireString(params.query, 'query');
    if (!Number.isInteger(params.budget) || params.budget < 1) throw new BadRequest('budget must be a positive integer');
    if (params.scorer !== undefined && params.scorer !== 'lens' && params.scorer !== 'lens2' && params.scorer !== 'lexical') throw new BadRequest('scorer must be lens, lens2 or lexical');
    return (await openMemory()).focus(params);
  },

  async appendChat(params) {
    requireString(params.session, 'session');
    requireString(params.text, 'text');
    return (await openMemory()).appendChat(params.session, params.text);
  },

  async remember(params) {
    const note = requireString(params.note, 'note');
    return (await openMemory()).remember(note);
  },

  async expand(params) {
    requireString(params.path, 'path');
    return (await openMemory()).expand(params.path, params.startLine, params.endLine);
  },

  async clearChat() {
    return (await openMemory()).clearChat();
  },

  async status() {
    return (await openMemory()).status();
  },

  async flush() {
    return { bytes: await (await openMemory()).flush() };
  },
};

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function send(message: FromHost): void {
  process.send?.(message);
}

const running = new Map<number, AbortController>();

async function handle(raw: unknown): Promise<void> {
  const message = parseToHost(raw);
  if (!message) return; // nothing to answer: no usable id
  if (message.kind === 'cancel') {
    running.get(message.id)?.abort();
    return;
  }
  const { id, method } = message;
  const fail = (code: EngineError['code'], err: unknown) => {
    const response: EngineResponse = {
      kind: 'response', id,
      error: { code, message: errorMessage(err), stack: err instanceof Error ? err.stack : undefined },
    };
    send(response);
  };
  if (!isEngineMethod(method)) { fail('unknownMethod', new Error(`unknown method ${String(method)}`)); return; }
  const controller = new AbortController();
  running.set(id, controller);
  try {
    const handler = handlers[method] as Handler<EngineMethod>;
    const emit = (event: unknown) => { if (!controller.signal.aborted) send({ kind: 'event', id, event }); };
    const result = await handler(message.params, controller.signal, emit);
    if (controller.signal.aborted) fail('cancelled', new Error(`${method} cancelled`));
    else send({ kind: 'response', id, result });
  } catch (err) {
    fail(controller.signal.aborted ? 'cancelled' : err instanceof BadRequest || err instanceof MemoryRequestError ? 'badRequest' : 'failed', err);
  } finally {
    running.delete(id);
  }
}

if (!process.send) {
  process.stderr.write('host.js is the engine host: start it with child_process.fork (an IPC channel is required)\n');
  process.exit(2);
}
process.on('message', (raw) => { void handle(raw); });
// The parent went away (editor closed, extension host crashed): do not linger.
process.on('disconnect', () => {
  void (async () => {
    const open = await memory?.catch(() => undefined);
    await open?.close().catch(() => undefined);
    const state = await models?.catch(() => undefined);
    if (state && 'loaded' in state) await state.loaded.dispose().catch(() => undefined);
    process.exit(0);
  })();
});
send({ kind: 'ready', pid: process.pid });
