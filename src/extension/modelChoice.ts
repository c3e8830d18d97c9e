// "Select Connected Model": the chat model whose input window sizes the budget of commands that focus
// outside a chat request (the chat participant always uses the model picked in the chat view).
import * as vscode from 'vscode';
import { answerReserve, NO_MODEL_GUIDANCE } from './chatParticipant';

const KEY = 'megacontext.modelId';

export interface ModelSummary {
  id: string;
  name: string;
  vendor: string;
  family: string;
  maxInputTokens: number;
}

function summary(m: vscode.LanguageModelChat): ModelSummary {
  return { id: m.id, name: m.name, vendor: m.vendor, family: m.family, maxInputTokens: m.maxInputTokens };
}

export class ModelChoice {
  constructor(private readonly state: vscode.Memento) {}

  get selectedId(): string | undefined {
    return this.state.get<string>(KEY);
  }

  /** Picks a model by id (when given) or with a quick pick over the connected models. */
  async pick(modelId?: string): Promise<ModelSummary | undefined> {
    const models = await vscode.lm.selectChatModels();
    if (models.length === 0) {
      void vscode.window.showWarningMessage(NO_MODEL_GUIDANCE.replace(/[`*]/g, ''));
      return undefined;
    }
    let chosen: vscode.LanguageModelChat | undefined;
    if (typeof modelId === 'string') {
      chosen = models.find((m) => m.id === modelId);
      if (!chosen) throw new Error(`no connected chat model has the id ${modelId}`);
    } else {
      const item = await vscode.window.showQuickPick(
        models.map((m) => ({ label: m.name, description: `${m.vendor} · ${m.family}`, detail: `${m.maxInputTokens.toLocaleString('en-US')} input tokens`, model: m })),
        { title: 'MegaContext: Select Connected Model', placeHolder: 'The model whose window sizes the working context' },
      );
      chosen = item?.model;
    }
    if (!chosen) return undefined;
    await this.state.update(KEY, chosen.id);
    return summary(chosen);
  }

  /** Largest budget the selected model can take (its window less a fifth for the answer); no cap without one. */
  async budgetCap(): Promise<number> {
    const id = this.selectedId;
    if (!id) return Number.MAX_SAFE_INTEGER;
    const [model] = await vscode.lm.selectChatModels({ id });
    return model ? Math.max(256, model.maxInputTokens - answerReserve(model.maxInputTokens)) : Number.MAX_SAFE_INTEGER;
  }
}
