// The MCP server's tools: names, descriptions and schemas. Inputs reuse the language-model tools'
// schemas (src/tools/toolSchemas.ts, the one definition package.json must equal), so an agent over
// MCP and one in agent mode are held to the same rules. Free of `vscode` and of the SDK.
import { EXPAND_TOOL, RECALL_TOOL, REMEMBER_TOOL, TOOL_SCHEMAS, type JsonSchema } from '../tools/toolSchemas';
import type { ScorerChoice } from '../engine/protocol';

export const MCP_RECALL = 'recall';
export const MCP_EXPAND = 'expand';
export const MCP_REMEMBER = 'remember';
export const MCP_FOCUS_MAP = 'focus_map';
export type McpToolName = typeof MCP_RECALL | typeof MCP_EXPAND | typeof MCP_REMEMBER | typeof MCP_FOCUS_MAP;

/** The URI of the memory's status resource. */
export const STATUS_URI = 'megacontext://status';

/** One level-of-detail span of a document in the focus map, lines 1-based and inclusive. */
export interface FocusMapSpan {
  /** 0 exact text, 1 block gist, 2 group gist, 3 the document as its one-line root. */
  lod: number;
  startLine: number;
  endLine: number;
}

/** What `focus_map` returns as structured content (FOCUS_MAP_OUTPUT_SCHEMA describes it). */
export interface FocusMap {
  query: string;
  budget: number;
  /** Tokens of the rendered working context (≤ budget). */
  usedTokens: number;
  /** Of those, tokens of exact text. */
  exactTokens: number;
  scorer: ScorerChoice;
  /** Set when the learned models did not load: why. */
  lexicalOnly?: string;
  /** Every span shown exactly, in document order: where to read without calling `expand`. */
  exact: { path: string; startLine: number; endLine: number }[];
  /** Every document with its spans by level of detail (consecutive spans of one level merged). */
  documents: { path: string; kind: 'file' | 'chat' | 'notes'; lines: number; spans: FocusMapSpan[] }[];
}

const line = { type: 'integer', minimum: 1 } as const;

/** JSON Schema of FocusMap (the SDK's client validates every structured result against it). */
export const FOCUS_MAP_OUTPUT_SCHEMA = {
  type: 'object',
  properties: {
    query: { type: 'string' },
    budget: { type: 'integer', minimum: 1 },
    usedTokens: { type: 'integer', minimum: 0 },
    exactTokens: { type: 'integer', minimum: 0 },
    scorer: { type: 'string', enum: ['lens', 'lens2', 'lexical'] },
    lexicalOnly: { type: 'string' },
    exact: {
      type: 'array',
      items: {
        type: 'object',
        properties: { path: { type: 'string' }, startLine: line, endLine: line },
        required: ['path', 'startLine', 'endLine'],
        additionalProperties: false,
      },
    },
    documents: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          path: { type: 'string' },
          kind: { type: 'string', enum: ['file', 'chat', 'notes'] },
          lines: { type: 'integer', minimum: 0 },
          spans: {
            type: 'array',
            items: {
              type: 'object',
              properties: { lod: { type: 'integer', minimum: 0, maximum: 3 }, startLine: line, endLine: line },
              required: ['lod', 'startLine', 'endLine'],
              additionalProperties: false,
            },
          },
        },
        required: ['path', 'kind', 'lines', 'spans'],
        additionalProperties: false,
      },
    },
  },
  required: ['query', 'budget', 'usedTokens', 'exactTokens', 'scorer', 'exact', 'documents'],
  additionalProperties: false,
} as const;

export interface McpToolDefinition {
  name: McpToolName;
  title: string;
  description: string;
  inputSchema: JsonSchema;
  outputSchema?: typeof FOCUS_MAP_OUTPUT_SCHEMA;
  readOnly: boolean;
}

export const MCP_TOOLS: McpToolDefinition[] = [
  {
    name: MCP_RECALL,
    title: 'MegaContext: Recall',
    description:
      'Returns a focused working context of the whole workspace and past conversations for a query: every document is listed, ' +
      'relevant spans as exact text between [[exact Lx-y]] and [[/exact]] (with line numbers), the rest as one-line gists ' +
      '(~ and ≈ lines name the functions and sections in a line range). Use it before answering questions about code or earlier decisions you cannot see.',
    inputSchema: TOOL_SCHEMAS[RECALL_TOOL],
    readOnly: true,
  },
  {
    name: MCP_EXPAND,
    title: 'MegaContext: Expand',
    description:
      'Returns the exact text of lines startLine..endLine (1-based, inclusive) of a workspace file or memory document named in a working context ' +
      '(for example a gist line ~ L40-52 of src/app.ts). Paths are workspace-relative and must stay inside the workspace; secrets are redacted.',
    inputSchema: TOOL_SCHEMAS[EXPAND_TOOL],
    readOnly: true,
  },
  {
    name: MCP_REMEMBER,
    title: 'MegaContext: Remember',
    description: 'Stores a short note (a fact, decision or user preference) in the workspace memory so future conversations, in any agent, can recall it.',
    inputSchema: TOOL_SCHEMAS[REMEMBER_TOOL],
    readOnly: false,
  },
  {
    name: MCP_FOCUS_MAP,
    title: 'MegaContext: Focus map',
    description:
      'For a query, returns the map of the working context recall would give, as structured data: for every document its line ranges by level of detail ' +
      '(0 exact, 1 block gist, 2 group gist, 3 one-line root), and the list of spans shown exactly. Use it to see where the memory points before reading.',
    inputSchema: TOOL_SCHEMAS[RECALL_TOOL],
    outputSchema: FOCUS_MAP_OUTPUT_SCHEMA,
    readOnly: true,
  },
];

export function isMcpToolName(name: string): name is McpToolName {
  return MCP_TOOLS.some((t) => t.name === name);
}
