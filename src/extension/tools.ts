// Language-model tools for agent mode: recall (query → focused working context), expand (path + lines →
// exact text), remember (note → memory). Inputs are validated against the schemas in toolSchemas.ts.
import * as vscode from 'vscode';
import { requireTrust, type FocusService } from './focusService';
import { budgetSetting } from './settings';
import { ToolInputError, validateInput } from '../tools/toolInput';
import {
  EXPAND_TOOL, RECALL_TOOL, REMEMBER_TOOL, TOOL_SCHEMAS,
  type ExpandInput, type RecallInput, type RememberInput,
} from '../tools/toolSchemas';
import { PathOutsideWorkspaceError, resolveExpandTarget } from '../tools/workspacePath';
import { lexicalOnlyNotice } from '../engine/protocol';

function text(value: string): vscode.LanguageModelToolResult {
  return new vscode.LanguageModelToolResult([new vscode.LanguageModelTextPart(value)]);
}

function roots(): { name: string; fsPath: string }[] {
  return (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file').map((f) => ({ name: f.name, fsPath: f.uri.fsPath }));
}

/** Input errors become an Error whose message tells the model what to fix. */
function invalid(tool: string, err: unknown): never {
  if (err instanceof ToolInputError || err instanceof PathOutsideWorkspaceError) throw new Error(`${tool}: invalid input: ${err.message}`);
  throw err;
}

function recallTool(focus: FocusService): vscode.LanguageModelTool<RecallInput> {
  return {
    prepareInvocation(options) {
      const query = typeof options.input?.query === 'string' ? options.input.query : '';
      return { invocationMessage: `Recalling from MegaContext memory: "${query.slice(0, 80)}"` };
    },
    async invoke(options, token) {
      let input: RecallInput;
      try { input = validateInput<RecallInput>(options.input, TOOL_SCHEMAS[RECALL_TOOL]); } catch (err) { invalid(RECALL_TOOL, err); }
      const result = await focus.focus(input.query, input.budget ?? budgetSetting(), token);
      return text(result.lexicalOnly === undefined ? result.prompt : `[${lexicalOnlyNotice(result.lexicalOnly)}]\n${result.prompt}`);
    },
  };
}

function expandTool(focus: FocusService): vscode.LanguageModelTool<ExpandInput> {
  return {
    prepareInvocation(options) {
      const i = options.input;
      return { invocationMessage: `Reading ${String(i?.path)} lines ${String(i?.startLine)}–${String(i?.endLine)} from MegaContext memory` };
    },
    async invoke(options, token) {
      let input: ExpandInput;
      let target: string;
      try {
        input = validateInput<ExpandInput>(options.input, TOOL_SCHEMAS[EXPAND_TOOL]);
        if (input.endLine < input.startLine) throw new ToolInputError(`"endLine" (${input.endLine}) is before "startLine" (${input.startLine})`);
        target = resolveExpandTarget(input.path, roots());
      } catch (err) { invalid(EXPAND_TOOL, err); }
      requireTrust();
      await focus.memory.ensureIndexed(token);
      await focus.memory.flushChanges();
      const r = await focus.engine.request('expand', { path: target, startLine: input.startLine, endLine: input.endLine }, { token });
      return text(`${input.path} lines ${r.startLine}-${r.endLine} of ${r.totalLines} (exact):\n${r.text}`);
    },
  };
}

function rememberTool(focus: FocusService): vscode.LanguageModelTool<RememberInput> {
  return {
    prepareInvocation(options) {
      const note = typeof options.input?.note === 'string' ? options.input.note : '';
      return { invocationMessage: `Saving a note to MegaContext memory: "${note.slice(0, 80)}"` };
    },
    async invoke(options, token) {
      let input: RememberInput;
      try { input = validateInput<RememberInput>(options.input, TOOL_SCHEMAS[REMEMBER_TOOL]); } catch (err) { invalid(REMEMBER_TOOL, err); }
      requireTrust();
      const r = await focus.engine.request('remember', { note: input.note }, { token });
      return text(`Remembered in ${r.docId} (${r.tokens} tokens of notes).`);
    },
  };
}

export function registerTools(context: vscode.ExtensionContext, focus: FocusService): void {
  context.subscriptions.push(
    vscode.lm.registerTool(RECALL_TOOL, recallTool(focus)),
    vscode.lm.registerTool(EXPAND_TOOL, expandTool(focus)),
    vscode.lm.registerTool(REMEMBER_TOOL, rememberTool(focus)),
  );
}
