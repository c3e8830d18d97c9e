// One way to focus, shared by the chat participant, the tools and the commands: makes sure the
// workspace is indexed, adds the user's pins, the active editor's neighbourhood, the chat tail and
// the allocator settings.
import * as vscode from 'vscode';
import type { EngineClient } from './engineClient';
import type { FocusResult, LineHold } from '../engine/protocol';
import type { Pins } from './pins';
import { allocatorSettings, scorerSetting } from './settings';
import type { WorkspaceMemory } from './workspaceMemory';

/** The one chat transcript of this workspace's `@megacontext` conversations. */
export const CHAT_SESSION = 'workspace';

/** Lines around the cursor held at LOD0 when the active editor has no selection. */
const EDITOR_NEIGHBOURHOOD_LINES = 12;
/** At most this many lines of a selection are held. */
const MAX_EDITOR_HOLD_LINES = 200;

/** The active editor's neighbourhood (its selection, or lines around the cursor), held at LOD0 (DESIGN.md). */
export function activeEditorHold(): LineHold | undefined {
  const editor = vscode.window.activeTextEditor;
  if (!editor || editor.document.uri.scheme !== 'file' || !vscode.workspace.getWorkspaceFolder(editor.document.uri)) return undefined;
  const { selection } = editor;
  let startLine: number;
  let endLine: number;
  if (!selection.isEmpty) {
    startLine = selection.start.line + 1;
    endLine = Math.min(selection.end.line + 1, startLine + MAX_EDITOR_HOLD_LINES - 1);
  } else {
    startLine = Math.max(1, selection.active.line + 1 - EDITOR_NEIGHBOURHOOD_LINES);
    endLine = Math.min(editor.document.lineCount, selection.active.line + 1 + EDITOR_NEIGHBOURHOOD_LINES);
  }
  return { path: editor.document.uri.fsPath, startLine, endLine };
}

/** Thrown by anything that would read the workspace's memory while the workspace is not trusted. */
export class UntrustedWorkspaceError extends Error {
  constructor() {
    super('this workspace is not trusted: MegaContext reads nothing in it until you trust it (Workspaces: Manage Workspace Trust)');
    this.name = 'UntrustedWorkspaceError';
  }
}

/** Restricted mode (package.json "untrustedWorkspaces": limited): no index, no focus, no memory reads. */
export function requireTrust(): void {
  if (!vscode.workspace.isTrusted) throw new UntrustedWorkspaceError();
}

export class FocusService {
  /** The last focus result, for "Copy Working Context as Prompt" and the viewer. */
  last: FocusResult | undefined;
  private readonly emitter = new vscode.EventEmitter<FocusResult>();
  /** Fires after every refocus, whoever asked for it. */
  readonly onDidFocus = this.emitter.event;

  constructor(
    readonly engine: EngineClient,
    readonly memory: WorkspaceMemory,
    readonly pins: Pins,
    /** Ranges the user collapsed in the viewer: kept at group gists or coarser. */
    readonly collapsed: Pins,
  ) {}

  async focus(query: string, budget: number, token?: vscode.CancellationToken): Promise<FocusResult> {
    requireTrust();
    await this.memory.ensureIndexed(token);
    await this.memory.flushChanges();
    const editor = activeEditorHold();
    const result = await this.engine.request('focus', {
      query,
      budget,
      holds: [...this.pins.list(), ...(editor ? [editor] : [])],
      collapsed: this.collapsed.list(),
      chatSession: CHAT_SESSION,
      settings: allocatorSettings(),
      scorer: scorerSetting(),
    }, { token });
    this.last = result;
    this.emitter.fire(result);
    return result;
  }
}
