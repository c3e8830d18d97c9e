// Entry of the engine host: a child Node process forked by the extension (src/extension/engineClient.ts).
// It owns onnxruntime-node and the models; requests arrive over the IPC channel and are dispatched by
// method name (src/engine/protocol.ts). The CLI does not use it: it runs the same engine in-process.
// Models load lazily, on the first request that needs them, so starting the host is cheap.
import { join } from 'node:path';
import { packageRoot } from '../core/packageRoot';
import type { ModelRuntime } from '../core/runtime';
import { chatDocId, runFocus } from './focusRequest';
import { chooseRuntime } from './runtimeChoice';
import { MemoryRequestError, MemorySession } from './session';
import { indexWorkspace, updateFiles } from './workspaceIndex';
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

let session: Promise<MemorySession> | undefined;

/**
 * The memory tree, opened from the store on first use. When the models do not load (missing, corrupt,
 * no provider), memory still works in lexical-only mode; that tree lives in a store folder of its own
 * so the learned gists of the real store are kept for when the models are back.
 */
async function memory(): Promise<MemorySession> {
  session ??= (async () => {
    models ??= loadModels(undefined);
    const state = await models;
    const choice = await chooseRuntime(async () => {
      if ('loaded' in state) return state.loaded as ModelRuntime;
      throw new Error(state.error);
    }, storeDir);
    if (choice.lexicalOnly !== undefined) process.stderr.write(`[megacontext] the models did not load, running lexical-only: ${choice.lexicalOnly}\n`);
    return MemorySession.open(choice.runtime, choice.storeDir);
  })();
  session.catch(() => { session = undefined; });
  return session;
}

/** Changes to the tree run one at a time; focus and reads may run beside them. */
let writes: Promise<unknown> = Promise.resolve();
function exclusive<T>(work: () => Promise<T>): Promise<T> {
  const next = writes.then(work, work);
  writes = next.catch(() => undefined);
  return next;
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
    const m = await memory();
    return exclusive(async () => {
      const result = await indexWorkspace(m, params, signal, emit);
      // A finished index is written at once, not after the debounce: it is the costly part to lose, and
      // the status the extension asks for next reports the store's real size (not 0 B before the first write).
      if (m.savePending) await m.flush().catch((err: unknown) => process.stderr.write(`[megacontext] could not write the store: ${errorMessage(err)}\n`));
      return result;
    });
  },

  async updateFiles(params, signal) {
    const m = await memory();
    return exclusive(() => updateFiles(m, params, signal));
  },

  async focus(params) {
    requireString(params.query, 'query');
    if (!Number.isInteger(params.budget) || params.budget < 1) throw new BadRequest('budget must be a positive integer');
    if (params.scorer !== undefined && params.scorer !== 'lens' && params.scorer !== 'lens2' && params.scorer !== 'lexical') throw new BadRequest('scorer must be lens, lens2 or lexical');
    const m = await memory();
    // Files shown exact by recent focuses and pinned ones are checked by content first: an edit that kept
    // the modification time (cp -p, rsync -t) must not leave old text in the prompt.
    // Notes another process (the MCP server) stored since are taken in, so every agent recalls them.
    await exclusive(async () => {
      if (await m.syncNotes()) m.changed();
      await m.verifyFiles((params.holds ?? []).map((h) => h.path));
    });
    const result = await runFocus(m, params);
    m.noteRecentFiles(result.entries.filter((e) => e.lod === 0).map((e) => e.path));
    return result;
  },

  async appendChat(params) {
    requireString(params.session, 'session');
    requireString(params.text, 'text');
    const m = await memory();
    const doc = await exclusive(() => m.append(chatDocId(params.session), 'chat', params.text));
    return { docId: doc.id, tokens: doc.tokenCount };
  },

  async remember(params) {
    const note = requireString(params.note, 'note');
    const m = await memory();
    const doc = await exclusive(() => m.remember(note));
    return { docId: doc.id, tokens: doc.tokenCount };
  },

  async expand(params) {
    requireString(params.path, 'path');
    const m = await memory();
    return m.expand(params.path, params.startLine, params.endLine);
  },

  async clearChat() {
    const m = await memory();
    return exclusive(async () => {
      let removed = 0;
      for (const d of [...m.tree.documents.values()]) if (d.kind === 'chat' && m.tree.remove(d.id)) removed++;
      if (removed > 0) m.changed();
      return { removed };
    });
  },

  async status() {
    return (await memory()).status();
  },

  async flush() {
    const m = await memory();
    return { bytes: await exclusive(() => m.flush()) };
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
    const open = await session?.catch(() => undefined);
    await open?.flush().catch(() => undefined);
    const state = await models?.catch(() => undefined);
    if (state && 'loaded' in state) await state.loaded.dispose().catch(() => undefined);
    process.exit(0);
  })();
});
send({ kind: 'ready', pid: process.pid });
