// The memory the MCP server serves: the engine's MemorySession (src/engine/session.ts) over the same
// store the extension and the CLI use, indexed with the same rules (src/engine/workspaceIndex.ts) and
// focused by the same request (src/engine/focusRequest.ts) as the extension's engine host. It runs
// in-process, like the CLI. The store is shared with other processes (the extension's engine host, a
// second agent), so every change is written at once and a store another process wrote is read again.
import type { ModelRuntime } from '../core/runtime';
import { runFocus } from '../engine/focusRequest';
import type { EngineStatus, ExpandResult, FocusResult, IndexParams, ScorerChoice } from '../engine/protocol';
import { MemorySession, storeFileMtime } from '../engine/session';
import { indexWorkspace } from '../engine/workspaceIndex';

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
  private session: Promise<MemorySession> | undefined;
  private readonly storeDir: string | undefined;
  /** The store file's mtime after our last read or write of it; another value means another process wrote it. */
  private storeMtimeMs: number | undefined;
  private lastWalk = 0;
  /** Changes to the tree run one at a time. */
  private writes: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: McpMemoryOptions) {
    this.storeDir = options.storeDir;
  }

  get roots(): string[] {
    return this.options.scope.roots;
  }

  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const next = this.writes.then(work, work);
    this.writes = next.catch(() => undefined);
    return next;
  }

  private storeMtime(): Promise<number | undefined> {
    return storeFileMtime(this.storeDir);
  }

  private async open(): Promise<MemorySession> {
    const m = await MemorySession.open(this.options.runtime, this.storeDir);
    this.storeMtimeMs = await this.storeMtime();
    this.lastWalk = 0;
    this.options.log(`megacontext mcp: store ${this.storeDir ?? '(none)'}: ${m.store}; models ${this.options.runtime.modelId} on ${this.options.runtime.info().executionProvider}`);
    return m;
  }

  /** Writes the tree now and remembers the store's new mtime as our own. */
  private async save(m: MemorySession): Promise<void> {
    if (!this.storeDir) return;
    try {
      await m.flush();
      this.storeMtimeMs = await this.storeMtime();
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      this.options.log(`megacontext mcp: warning: could not save the store in ${this.storeDir} (${code ?? (e instanceof Error ? e.message : String(e))})`);
    }
  }

  /**
   * The session, current with the store and the folders: opened on first use, read again when another
   * process wrote the store since, and the folders walked again when the last walk is older than REWALK_MS.
   */
  private current(): Promise<MemorySession> {
    return this.exclusive(async () => {
      let m = this.session && (await this.session.catch(() => undefined));
      if (m && (await this.storeMtime()) !== this.storeMtimeMs) {
        this.options.log('megacontext mcp: the store was written by another process; reading it again');
        m = undefined;
      }
      if (!m) {
        this.session = this.open();
        m = await this.session;
      }
      if (Date.now() - this.lastWalk > REWALK_MS) {
        const r = await indexWorkspace(m, { ...this.options.scope }, new AbortController().signal, () => undefined);
        this.lastWalk = Date.now();
        if (r.added + r.updated + r.removed > 0 || !m.store.startsWith('loaded')) {
          this.options.log(`megacontext mcp: indexed ${r.files} files, ${r.tokens} tokens (${r.added} new, ${r.updated} changed, ${r.removed} removed)`);
          await this.save(m);
        }
      }
      return m;
    });
  }

  async focus(query: string, budget: number, scorer: ScorerChoice): Promise<FocusResult> {
    const m = await this.current();
    // Files shown exact lately are compared with the disk by content first, as the engine host does.
    await this.exclusive(async () => {
      const fresh = await m.verifyFiles();
      if (fresh.changed.length + fresh.removed.length > 0) await this.save(m);
    });
    const result = await runFocus(m, { query, budget, scorer });
    m.noteRecentFiles(result.entries.filter((e) => e.lod === 0).map((e) => e.path));
    return result;
  }

  async expand(id: string, startLine: number, endLine: number): Promise<ExpandResult> {
    const m = await this.current();
    return m.expand(id, startLine, endLine);
  }

  async remember(note: string): Promise<{ docId: string; tokens: number }> {
    const m = await this.current();
    return this.exclusive(async () => {
      const doc = await m.remember(note);
      await this.save(m);
      return { docId: doc.id, tokens: doc.tokenCount };
    });
  }

  async status(): Promise<EngineStatus> {
    return (await this.current()).status();
  }

  /**
   * Writes what is not yet in the store (at exit). Only a pending change is written: every change was
   * saved when it was made, and an unneeded write would replace what another process stored since.
   */
  async close(): Promise<void> {
    const m = this.session && (await this.session.catch(() => undefined));
    await this.writes.catch(() => undefined);
    if (m?.savePending) await this.save(m);
  }
}
