// The one definition of each language-model tool's input: its JSON schema (package.json
// contributes.languageModelTools[].inputSchema must equal it; test/unit/tools.test.ts checks) and
// the TypeScript type the tool receives after validation. The extension's language-model tools and the
// MCP server both take their inputs from it (src/tools: the agent tools' contract, shared by both).

export interface JsonSchema {
  type: 'object' | 'string' | 'integer';
  description?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
}

export const RECALL_TOOL = 'megacontext_recall';
export const EXPAND_TOOL = 'megacontext_expand';
export const REMEMBER_TOOL = 'megacontext_remember';

export interface RecallInput { query: string; budget?: number }
export interface ExpandInput { path: string; startLine: number; endLine: number }
export interface RememberInput { note: string }

export const TOOL_SCHEMAS = {
  [RECALL_TOOL]: {
    type: 'object',
    properties: {
      query: { type: 'string', minLength: 1, maxLength: 4000, description: 'What to recall: a question or topic, in natural language or as identifiers.' },
      budget: { type: 'integer', minimum: 256, maximum: 128000, description: 'Token budget of the returned working context (default: the megacontext.budget setting).' },
    },
    required: ['query'],
    additionalProperties: false,
  },
  [EXPAND_TOOL]: {
    type: 'object',
    properties: {
      path: { type: 'string', minLength: 1, maxLength: 1024, description: 'Workspace-relative path of an indexed file (as shown in the working context), or a memory document such as chat:workspace or notes:memory.' },
      startLine: { type: 'integer', minimum: 1, description: 'First line, 1-based.' },
      endLine: { type: 'integer', minimum: 1, description: 'Last line, 1-based and inclusive.' },
    },
    required: ['path', 'startLine', 'endLine'],
    additionalProperties: false,
  },
  [REMEMBER_TOOL]: {
    type: 'object',
    properties: {
      note: { type: 'string', minLength: 1, maxLength: 4000, description: 'A fact, decision or preference to keep in memory across sessions.' },
    },
    required: ['note'],
    additionalProperties: false,
  },
} satisfies Record<string, JsonSchema>;

export type ToolName = keyof typeof TOOL_SCHEMAS;
