// The memory the MCP server serves: the engine's Memory (src/engine/memory.ts), the one the extension's
// engine host and the CLI run, over the same store, indexed with the same rules and focused by the same
// request. It runs in-process, like the CLI. The store is shared with other processes (the extension's
// engine host, a second agent), so every change is written at once (writeThrough) and a store another
// process wrote is read again.
import type { ModelRuntime } from '../core/runtime';
import { Memory } from '../engine/memory';
import { Serial } from '../engine/serial';
import type { AppendResult, EngineStatus, ExpandResult, FocusResult, IndexParams, ScorerChoice } from '../engine/protocol';

/** A request this long after the last walk of the folders walks them again (unchanged files are not re-read). */
const REWALK_MS = 5_000;

export interface McpMemoryOptions {
  runtime: ModelRuntime;
  /** The store folder of this runtime's tree (chooseRuntime: the lexical-only tree has its own); undefined: nothing persisted. */
  storeDir: string | undefined;
  scope: Omit<IndexParams, 'rebuild'>;
  log: (line: string) => void;
}

export class McpMemory {
  private memory: Promise<Memory> | undefined;
  private lastWalk = 0;
  /** Opening, reopening and walking run one at a time. */
  private readonly turns = new Serial();

  constructor(private readonly options: McpMemoryOptions) {}

  get roots(): string[] {
    return this.options.scope.roots;
  }

  private async open(): Promise<Memory> {
    const { runtime, storeDir, log } = this.options;
    const m = await Memory.open({
      runtime,
      storeDir,
      writeThrough: true,
      onSaveError: (e, dir) => {
        const code = (e as NodeJS.ErrnoException).code;
        log(`megacontext mcp: warning: could not save the store in ${dir} (${code ?? (e instanceof Error ? e.message : String(e))})`);
      },
    });
    this.lastWalk = 0;
    log(`megacontext mcp: store ${storeDir ?? '(none)'}: ${m.store}; models ${runtime.modelId} on ${runtime.info().executionProvider}`);
    return m;
  }

  /**
   * The memory, current with the store and the folders: opened on first use, read again when another
   * process wrote the store since, and the folders walked again when the last walk is older than REWALK_MS.
   */
  private current(): Promise<Memory> {
    return this.turns.run(async () => {
      let m = this.memory && (await this.memory.catch(() => undefined));
      if (m && (await m.storeWrittenElsewhere())) {
        this.options.log('megacontext mcp: the store was written by another process; reading it again');
        m = undefined;
      }
      if (!m) {
        this.memory = this.open();
        m = await this.memory;
      }
      if (Date.now() - this.lastWalk > REWALK_MS) {
        // Memory.index writes the store when the walk changed anything.
        const r = await m.index({ ...this.options.scope });
        this.lastWalk = Date.now();
        if (r.added + r.updated + r.removed > 0 || !m.store.startsWith('loaded')) {
          this.options.log(`megacontext mcp: indexed ${r.files} files, ${r.tokens} tokens (${r.added} new, ${r.updated} changed, ${r.removed} removed)`);
        }
      }
      return m;
    });
  }

  async focus(query: string, budget: number, scorer: ScorerChoice): Promise<FocusResult> {
    // Files shown exact lately are compared with the disk by content first, as for the engine host.
    return (await this.current()).focus({ query, budget, scorer });
  }

  async expand(id: string, startLine: number, endLine: number): Promise<ExpandResult> {
    return (await this.current()).expand(id, startLine, endLine);
  }

  async remember(note: string): Promise<AppendResult> {
    return (await this.current()).remember(note);
  }

  async status(): Promise<EngineStatus> {
    return (await this.current()).status();
  }

  /** Writes what is not yet in the store (at exit): every change was written when it was made. */
  async close(): Promise<void> {
    await this.turns.idle();
    const m = this.memory && (await this.memory.catch(() => undefined));
    await m?.close();
  }
}
