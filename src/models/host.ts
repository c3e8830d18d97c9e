// Entry of the engine host: a child Node process forked by the extension (src/extension/engineClient.ts)
// or the CLI. It owns onnxruntime-node and the models; requests arrive over the IPC channel and are
// dispatched by method name (src/models/protocol.ts). Models load lazily, on the first request that
// needs them, so starting the host is cheap.
import { join } from 'node:path';
import {
  isEngineMethod,
  parseToHost,
  type EngineError,
  type EngineMethod,
  type EngineResponse,
  type FromHost,
  type ParamsOf,
  type ResultOf,
  type RuntimeInfo,
} from './protocol';

type Ort = typeof import('onnxruntime-node');
type Handler<M extends EngineMethod> = (params: ParamsOf<M>, signal: AbortSignal) => Promise<ResultOf<M>>;

/** The bundle lives in <extensionRoot>/dist; the models beside it in <extensionRoot>/models. */
const modelsDir = process.env.MEGACONTEXT_MODELS_DIR || join(__dirname, '..', 'models');

let ort: Ort | undefined;
function loadOrt(): Ort {
  // Required on first use only: loading the native addon is the expensive, risky part.
  ort ??= require('onnxruntime-node') as Ort;
  return ort;
}

type OnnxRuntimeModule = typeof import('./onnxRuntime');
type LoadedModels = Awaited<ReturnType<OnnxRuntimeModule['loadModels']>>;
type ModelState = { loaded: LoadedModels } | { error: string };
let models: Promise<ModelState> | undefined;

async function loadModels(providers: string[] | undefined): Promise<ModelState> {
  // Required lazily: the module imports onnxruntime-node at its top.
  const { loadModels: load, DEFAULT_PROVIDERS } = require('./onnxRuntime') as OnnxRuntimeModule;
  try {
    return { loaded: await load(modelsDir, { providers: providers?.length ? providers : DEFAULT_PROVIDERS }) };
  } catch (err) {
    return { error: errorMessage(err) };
  }
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
    } else {
      info.modelsError = state.error;
    }
    return info;
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
    const result = await handler(message.params, controller.signal);
    if (controller.signal.aborted) fail('cancelled', new Error(`${method} cancelled`));
    else send({ kind: 'response', id, result });
  } catch (err) {
    fail(controller.signal.aborted ? 'cancelled' : 'failed', err);
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
    const state = await models?.catch(() => undefined);
    if (state && 'loaded' in state) await state.loaded.dispose().catch(() => undefined);
    process.exit(0);
  })();
});
send({ kind: 'ready', pid: process.pid });
