// The extension's side of the engine host: a child Node process (dist/host.js) that owns
// onnxruntime-node and the models, so inference never runs on the extension-host thread and a native
// crash cannot take the editor down. Started lazily on the first request; after a crash the next
// request starts a fresh host. Deliberately free of `vscode` so plain-Node tests can drive a real host.
import { fork, type ChildProcess } from 'node:child_process';
import {
  parseFromHost,
  type EngineError,
  type EngineMethod,
  type EventOf,
  type ParamsOf,
  type ResultOf,
  type ToHost,
} from '../engine/protocol';

/** The subset of `vscode.CancellationToken` the client needs (structurally compatible). */
export interface CancellationSignal {
  readonly isCancellationRequested: boolean;
  onCancellationRequested(listener: () => unknown): { dispose(): unknown };
}

export interface EngineClientOptions {
  /** Absolute path of the host entry (dist/host.js). */
  hostPath: string;
  /** Receives the host's stdout/stderr and lifecycle lines. */
  log?: (line: string) => void;
  /** Called once per unexpected exit of the host. */
  onCrash?: (reason: string) => void;
  /** How long the host may take to say it is ready. */
  startTimeoutMs?: number;
  /** Default per-request timeout. */
  requestTimeoutMs?: number;
  /** Extra environment for the host, read each time a host starts. */
  env?: NodeJS.ProcessEnv | (() => NodeJS.ProcessEnv);
  /** Called after a new host process has started (the first one and every restart). */
  onStart?: (pid: number | undefined) => void;
}

/** A request failed in the host, timed out, was cancelled, or the host died. */
export class EngineRequestError extends Error {
  constructor(message: string, readonly code: EngineError['code'] | 'timeout' | 'hostExited' | 'disposed', readonly hostStack?: string) {
    super(message);
    this.name = 'EngineRequestError';
  }
}

interface Pending {
  onEvent?(event: unknown): void;
  resolve(value: unknown): void;
  reject(error: Error): void;
  cleanup(): void;
}

interface Host {
  child: ChildProcess;
  ready: Promise<void>;
}

export class EngineClient {
  private host: Host | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private disposed = false;
  private startCount = 0;

  constructor(private readonly options: EngineClientOptions) {}

  /** True once a host process has been started (even if it later exited). */
  get started(): boolean {
    return this.startCount > 0;
  }

  /** Process id of the running host, if any. */
  get pid(): number | undefined {
    return this.host?.child.pid;
  }

  async request<M extends EngineMethod>(
    method: M,
    params: ParamsOf<M>,
    options: { token?: CancellationSignal; timeoutMs?: number; onEvent?: (event: EventOf<M>) => void } = {},
  ): Promise<ResultOf<M>> {
    if (this.disposed) throw new EngineRequestError('the engine client is disposed', 'disposed');
    if (options.token?.isCancellationRequested) throw new EngineRequestError(`${method} cancelled`, 'cancelled');
    const host = this.ensureHost();
    await host.ready;
    if (this.host !== host) throw new EngineRequestError('the engine host exited while starting', 'hostExited');

    const id = this.nextId++;
    const timeoutMs = options.timeoutMs ?? this.options.requestTimeoutMs ?? 120_000;
    return new Promise<ResultOf<M>>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.settle(id, new EngineRequestError(`${method} timed out after ${timeoutMs} ms`, 'timeout'));
        this.send({ kind: 'cancel', id });
      }, timeoutMs);
      const subscription = options.token?.onCancellationRequested(() => {
        this.settle(id, new EngineRequestError(`${method} cancelled`, 'cancelled'));
        this.send({ kind: 'cancel', id });
      });
      this.pending.set(id, {
        onEvent: options.onEvent as ((event: unknown) => void) | undefined,
        resolve: resolve as (value: unknown) => void,
        reject,
        cleanup: () => { clearTimeout(timer); subscription?.dispose(); },
      });
      if (!this.send({ kind: 'request', id, method, params })) {
        this.settle(id, new EngineRequestError('cannot send to the engine host', 'hostExited'));
      }
    });
  }

  /** Stops the running host (pending requests reject); the next request starts a fresh one. */
  restart(): void {
    const host = this.host;
    this.host = undefined;
    this.rejectAll(new EngineRequestError('the engine host was restarted', 'hostExited'));
    if (host && host.child.exitCode === null && host.child.signalCode === null) {
      host.child.disconnect?.();
      host.child.kill();
    }
  }

  /** Stops the host; pending requests reject. Safe to call twice. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    const host = this.host;
    this.host = undefined;
    this.rejectAll(new EngineRequestError('the engine client was disposed', 'disposed'));
    if (host && host.child.exitCode === null && host.child.signalCode === null) {
      host.child.disconnect?.();
      host.child.kill();
    }
  }

  private ensureHost(): Host {
    if (this.host) return this.host;
    const child = fork(this.options.hostPath, [], {
      // In VS Code's Electron extension host process.execPath is Electron: ELECTRON_RUN_AS_NODE makes
      // it a plain Node. In code-server's (plain Node) extension host the variable is ignored.
      execPath: process.execPath,
      env: {
        ...process.env,
        ...(typeof this.options.env === 'function' ? this.options.env() : this.options.env),
        ELECTRON_RUN_AS_NODE: '1',
      },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'json',
    });
    this.startCount++;
    const log = this.options.log ?? (() => undefined);
    const pipe = (stream: NodeJS.ReadableStream | null) =>
      stream?.on('data', (chunk: Buffer) => {
        for (const line of chunk.toString().split('\n')) if (line.trim()) log(`[engine] ${line}`);
      });
    pipe(child.stdout);
    pipe(child.stderr);

    let readyResolve!: () => void;
    let readyReject!: (e: Error) => void;
    const ready = new Promise<void>((resolve, reject) => { readyResolve = resolve; readyReject = reject; });
    const startTimeoutMs = this.options.startTimeoutMs ?? 30_000;
    const startTimer = setTimeout(() => {
      readyReject(new EngineRequestError(`the engine host did not start within ${startTimeoutMs} ms`, 'timeout'));
      child.kill();
    }, startTimeoutMs);
    const host: Host = { child, ready };
    this.host = host;

    child.on('message', (raw) => {
      const message = parseFromHost(raw);
      if (!message) { log(`[engine] ignored a malformed message`); return; }
      if (message.kind === 'ready') { clearTimeout(startTimer); readyResolve(); return; }
      if (message.kind === 'event') { this.pending.get(message.id)?.onEvent?.(message.event); return; }
      if ('error' in message) this.settle(message.id, new EngineRequestError(message.error.message, message.error.code, message.error.stack));
      else this.settle(message.id, undefined, message.result);
    });
    child.on('error', (err) => log(`[engine] process error: ${err.message}`));
    child.on('exit', (code, signal) => {
      clearTimeout(startTimer);
      if (this.host !== host) return; // disposed or replaced: an expected exit
      this.host = undefined;
      const reason = `the engine host exited unexpectedly (${signal ?? `exit code ${code}`})`;
      readyReject(new EngineRequestError(reason, 'hostExited'));
      this.rejectAll(new EngineRequestError(reason, 'hostExited'));
      log(`[engine] ${reason}; it restarts on the next request`);
      this.options.onCrash?.(reason);
    });
    ready.catch(() => undefined); // observed by callers of request()
    log(`[engine] started host pid ${child.pid}`);
    this.options.onStart?.(child.pid);
    return host;
  }

  private send(message: ToHost): boolean {
    const child = this.host?.child;
    if (!child || !child.connected) return false;
    try {
      child.send(message);
      return true;
    } catch {
      return false;
    }
  }

  private settle(id: number, error: Error | undefined, result?: unknown): void {
    const pending = this.pending.get(id);
    if (!pending) return; // already timed out or cancelled
    this.pending.delete(id);
    pending.cleanup();
    if (error) pending.reject(error);
    else pending.resolve(result);
  }

  private rejectAll(error: Error): void {
    for (const id of [...this.pending.keys()]) this.settle(id, error);
  }
}
