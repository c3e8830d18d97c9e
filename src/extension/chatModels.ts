// Whether VS Code offers any chat model. Without one, VS Code's chat view refuses `@megacontext` before the
// participant runs (its own bare "Language model unavailable"), so the extension says so where it can: the
// focus viewer shows NO_MODEL_NOTICE until a model appears.
import * as vscode from 'vscode';

/** NO_MODEL_GUIDANCE (chatParticipant.ts), short enough for the top of a side bar. */
export const NO_MODEL_NOTICE =
  'No chat model: sign in to GitHub Copilot (or another provider) and pick a model to ask @megacontext. ' +
  'Without one, focus here, or give any agent the memory through the MCP server (megacontext mcp) or the CLI (megacontext focus).';

export class ChatModelWatch implements vscode.Disposable {
  private available: boolean | undefined;
  private readonly changed = new vscode.EventEmitter<void>();
  /** Fires when models appear or disappear. */
  readonly onDidChange = this.changed.event;
  private readonly subscription: vscode.Disposable;

  constructor(
    private readonly select: () => Thenable<readonly vscode.LanguageModelChat[]> = () => vscode.lm.selectChatModels(),
    onDidChangeModels: vscode.Event<void> = vscode.lm.onDidChangeChatModels,
  ) {
    this.subscription = onDidChangeModels(() => void this.refresh());
    void this.refresh();
  }

  /** Asks VS Code again; resolves to whether any chat model is available. */
  async refresh(): Promise<boolean> {
    let now: boolean;
    try {
      now = (await this.select()).length > 0;
    } catch {
      now = false;
    }
    if (now !== this.available) {
      this.available = now;
      this.changed.fire();
    }
    return now;
  }

  /** The guidance while no model is available (nothing before the first answer, so a slow start shows no false alarm). */
  notice(): string | undefined {
    return this.available === false ? NO_MODEL_NOTICE : undefined;
  }

  dispose(): void {
    this.subscription.dispose();
    this.changed.dispose();
  }
}
