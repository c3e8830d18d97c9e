/**
 * Measures the extension's `activate()` in plain Node against a stub `vscode` module injected into
 * the require cache (bench only; product code never sees it). The stub answers every API call
 * instantly, so this is a lower bound on activation inside VS Code: it counts loading the bundle
 * (dist/extension.js) and the extension's own work, not VS Code's API costs. The real figure comes
 * from the VS Code suite.
 */
import Module from 'node:module';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

const VSCODE_KEYS = ['CancellationError', 'CancellationTokenSource', 'ChatRequestTurn', 'ChatResponseMarkdownPart', 'ChatResponseTurn',
  'EventEmitter', 'LanguageModelChatMessage', 'LanguageModelError', 'LanguageModelTextPart', 'LanguageModelToolResult', 'Location',
  'ProgressLocation', 'Range', 'StatusBarAlignment', 'ThemeIcon', 'Uri', 'chat', 'commands', 'env', 'lm', 'window', 'workspace',
  'languages', 'extensions', 'Disposable', 'MarkdownString', 'Position', 'Selection', 'ViewColumn', 'ConfigurationTarget'];
const STUB_ID = '/__bench_stub__/vscode.js';

/** A callable, constructible object whose every property is another such object. */
function deepStub(name: string): unknown {
  const fn = function () {
    return deepStub(`${name}()`);
  };
  const cache = new Map<PropertyKey, unknown>();
  return new Proxy(fn, {
    get(_t, prop) {
      if (prop === 'then') return undefined; // not a thenable
      if (prop === Symbol.toPrimitive) return (hint: string) => (hint === 'number' ? 0 : '');
      if (prop === Symbol.iterator) return function* () {};
      if (prop === 'prototype') return Object.prototype;
      if (prop === 'length') return 0;
      if (prop === 'fsPath' || prop === 'path') return '/tmp/megacontext-bench-stub';
      if (prop === 'workspaceFolders') return [];
      if (prop === 'isTrusted') return false;
      if (cache.has(prop)) return cache.get(prop);
      if (!cache.has(prop)) cache.set(prop, deepStub(`${name}.${String(prop)}`));
      return cache.get(prop);
    },
    set(_t, prop, value) {
      cache.set(prop, value);
      return true;
    },
    apply(_t, _this, args) {
      // configuration.get(key, default) -> default
      if (name.endsWith('.get') && args.length >= 2) return args[1];
      if (name.endsWith('.get') && args.length === 1) return undefined;
      return deepStub(`${name}()`);
    },
    construct() {
      return deepStub(`new ${name}`) as object;
    },
  });
}

function installStub(): void {
  const M = Module as unknown as {
    _resolveFilename: (req: string, ...rest: unknown[]) => string;
    _cache: Record<string, unknown>;
  };
  const orig = M._resolveFilename;
  M._resolveFilename = function (req: string, ...rest: unknown[]) {
    if (req === 'vscode') return STUB_ID;
    return orig.call(this, req, ...rest);
  };
  const mod = new Module(STUB_ID);
  mod.filename = STUB_ID;
  mod.loaded = true;
  // A plain object with the namespaces the bundle reads (esbuild's __toESM copies own keys).
  const api: Record<string, unknown> = {};
  for (const k of VSCODE_KEYS) api[k] = deepStub(`vscode.${k}`);
  mod.exports = api;
  M._cache[STUB_ID] = mod;
}

export interface ActivationResult {
  requireMs: number;
  activateMs: number;
  engineStarted: boolean | undefined;
}

/** Runs in a child process so the module load is cold; see bench.ts. */
export async function measureActivation(projectRoot: string): Promise<ActivationResult> {
  installStub();
  const t0 = performance.now();
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const ext = require(join(projectRoot, 'dist', 'extension.js')) as { activate(ctx: unknown): { engineStarted?: boolean } };
  const t1 = performance.now();
  const subscriptions: { dispose(): unknown }[] = [];
  const context = new Proxy(
    { subscriptions },
    {
      get(_t, prop) {
        if (prop === 'subscriptions') return subscriptions;
        return (deepStub(`context`) as Record<PropertyKey, unknown>)[prop];
      },
    },
  );
  const api = ext.activate(context);
  const t2 = performance.now();
  return { requireMs: t1 - t0, activateMs: t2 - t1, engineStarted: api?.engineStarted };
}

if (require.main === module) {
  measureActivation(process.argv[2] ?? process.cwd())
    .then((r) => {
      process.stdout.write(JSON.stringify(r) + '\n');
      process.exit(0);
    })
    .catch((err) => {
      process.stdout.write(JSON.stringify({ error: String(err instanceof Error ? err.stack : err) }) + '\n');
      process.exit(0);
    });
}
