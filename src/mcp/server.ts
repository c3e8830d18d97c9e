// `megacontext mcp`: the memory as a Model Context Protocol server over stdio, for any agent (VS Code's
// agent mode through the extension's server definition, Claude Code, Cursor, …). Tools: recall, expand,
// remember, focus_map; resource: the memory's status. The low-level SDK `Server` is used rather than
// `McpServer` because the tools' input schemas are the language-model tools' JSON schemas
// (src/tools/toolSchemas.ts) and are validated by the same validator (src/tools/toolInput.ts),
// so both kinds of agent meet one set of rules and one-line errors. stdout carries the protocol only;
// every log line goes to stderr.
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import {
  CallToolRequestSchema, ListResourcesRequestSchema, ListToolsRequestSchema, ReadResourceRequestSchema,
  McpError, ErrorCode, type CallToolResult,
} from '@modelcontextprotocol/sdk/types.js';
import { BudgetTooSmallError } from '../core/focus';
import { packageRoot } from '../core/packageRoot';
import type { ModelRuntime } from '../core/runtime';
import type { FocusResult, IndexParams, ScorerChoice } from '../engine/protocol';
import { MemoryRequestError } from '../engine/memory';
import { ToolInputError, validateInput } from '../tools/toolInput';
import type { ExpandInput, RecallInput, RememberInput } from '../tools/toolSchemas';
import { PathOutsideWorkspaceError, resolveExpandTarget } from '../tools/workspacePath';
import { McpMemory } from './memory';
import { MCP_EXPAND, MCP_FOCUS_MAP, MCP_RECALL, MCP_REMEMBER, MCP_TOOLS, STATUS_URI, isMcpToolName, type FocusMap, type FocusMapSpan } from './tools';

export interface McpServerOptions {
  /** Token budget of recall and focus_map when the call names none. */
  budget: number;
  scorer: ScorerChoice;
}

/** An error an agent can act on, as one line. */
class ToolError extends Error {}

function oneLine(message: string): string {
  return message.replace(/\s*\n\s*/g, ' ').trim();
}

function errorResult(message: string): CallToolResult {
  return { content: [{ type: 'text', text: oneLine(message) }], isError: true };
}

/** The line recall starts with when focus ran without the learned models. */
function lexicalOnlyNotice(reason: string): string {
  return `Lexical-only mode: the MegaContext models did not load (${reason}), so focus follows word matches alone. The megacontext://status resource says more.`;
}

function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version?: string }).version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

/** The working context as a map: each document's spans by level of detail, and the exact spans. */
export function focusMap(result: FocusResult): FocusMap {
  const documents: FocusMap['documents'] = [];
  const exact: FocusMap['exact'] = [];
  for (const e of result.entries) {
    let doc = documents[documents.length - 1];
    if (!doc || doc.path !== e.display) documents.push((doc = { path: e.display, kind: e.kind, lines: 0, spans: [] }));
    doc.lines = Math.max(doc.lines, e.endLine);
    const last: FocusMapSpan | undefined = doc.spans[doc.spans.length - 1];
    if (last && last.lod === e.lod && e.startLine <= last.endLine + 1) last.endLine = Math.max(last.endLine, e.endLine);
    else doc.spans.push({ lod: e.lod, startLine: e.startLine, endLine: e.endLine });
  }
  for (const doc of documents) {
    for (const s of doc.spans) if (s.lod === 0) exact.push({ path: doc.path, startLine: s.startLine, endLine: s.endLine });
  }
  return {
    query: result.query,
    budget: result.budget,
    usedTokens: result.tokens,
    exactTokens: result.exactTokens,
    scorer: result.scorer,
    ...(result.lexicalOnly !== undefined ? { lexicalOnly: result.lexicalOnly } : {}),
    exact,
    documents,
  };
}

function validated<T>(tool: string, input: unknown, schemaOf: (typeof MCP_TOOLS)[number]): T {
  try {
    return validateInput<T>(input ?? {}, schemaOf.inputSchema);
  } catch (err) {
    if (err instanceof ToolInputError) throw new ToolError(`${tool}: invalid input: ${err.message}`);
    throw err;
  }
}

/** The MCP server over `memory`, not yet connected to a transport. */
export function createMcpServer(memory: McpMemory, options: McpServerOptions): Server {
  const server = new Server(
    { name: 'megacontext', title: 'MegaContext', version: packageVersion() },
    {
      capabilities: { tools: {}, resources: {} },
      instructions:
        'MegaContext is a memory of this workspace and of past conversations far larger than a context window. ' +
        'Call recall with a question to get every document listed, the relevant spans as exact text and the rest as gists; ' +
        'expand reads exact lines named in a gist; remember keeps a note for later conversations; focus_map shows where the memory points.',
    },
  );
  const roots = () => memory.roots.map((r) => ({ name: basename(r), fsPath: r }));
  const definition = (name: string) => MCP_TOOLS.find((t) => t.name === name)!;

  server.setRequestHandler(ListToolsRequestSchema, () => ({
    tools: MCP_TOOLS.map((t) => ({
      name: t.name,
      title: t.title,
      description: t.description,
      inputSchema: t.inputSchema as { type: 'object' },
      ...(t.outputSchema ? { outputSchema: t.outputSchema as unknown as { type: 'object' } } : {}),
      annotations: { title: t.title, readOnlyHint: t.readOnly, destructiveHint: false, openWorldHint: false },
    })),
  }));

  server.setRequestHandler(CallToolRequestSchema, async (request): Promise<CallToolResult> => {
    const name = request.params.name;
    if (!isMcpToolName(name)) return errorResult(`unknown tool ${JSON.stringify(name.slice(0, 60))} (tools: ${MCP_TOOLS.map((t) => t.name).join(', ')})`);
    const args: unknown = request.params.arguments;
    try {
      switch (name) {
        case MCP_RECALL: {
          const input = validated<RecallInput>(name, args, definition(name));
          const r = await memory.focus(input.query, input.budget ?? options.budget, options.scorer);
          const text = r.lexicalOnly === undefined ? r.prompt : `[${lexicalOnlyNotice(r.lexicalOnly)}]\n${r.prompt}`;
          return { content: [{ type: 'text', text }] };
        }
        case MCP_FOCUS_MAP: {
          const input = validated<RecallInput>(name, args, definition(name));
          const map = focusMap(await memory.focus(input.query, input.budget ?? options.budget, options.scorer));
          return { content: [{ type: 'text', text: JSON.stringify(map) }], structuredContent: map as unknown as Record<string, unknown> };
        }
        case MCP_EXPAND: {
          const input = validated<ExpandInput>(name, args, definition(name));
          if (input.endLine < input.startLine) throw new ToolError(`${name}: invalid input: "endLine" (${input.endLine}) is before "startLine" (${input.startLine})`);
          let target: string;
          try {
            target = resolveExpandTarget(input.path, roots());
          } catch (err) {
            if (err instanceof PathOutsideWorkspaceError) throw new ToolError(`${name}: invalid input: ${err.message}`);
            throw err;
          }
          const r = await memory.expand(target, input.startLine, input.endLine);
          return { content: [{ type: 'text', text: `${input.path} lines ${r.startLine}-${r.endLine} of ${r.totalLines} (exact):\n${r.text}` }] };
        }
        case MCP_REMEMBER: {
          const input = validated<RememberInput>(name, args, definition(name));
          const r = await memory.remember(input.note);
          return { content: [{ type: 'text', text: `Remembered in ${r.docId} (${r.tokens} tokens of notes).` }] };
        }
      }
    } catch (err) {
      if (err instanceof ToolError) return errorResult(err.message);
      if (err instanceof MemoryRequestError || err instanceof BudgetTooSmallError) return errorResult(`${name}: ${err.message}`);
      return errorResult(`${name}: failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  });

  server.setRequestHandler(ListResourcesRequestSchema, () => ({
    resources: [{
      uri: STATUS_URI,
      name: 'status',
      title: 'MegaContext memory status',
      description: 'What the memory holds (files, chat and notes documents, tokens), where it is stored and what the models run on.',
      mimeType: 'application/json',
    }],
  }));

  server.setRequestHandler(ReadResourceRequestSchema, async (request) => {
    if (request.params.uri !== STATUS_URI) throw new McpError(ErrorCode.InvalidParams, `unknown resource ${JSON.stringify(request.params.uri.slice(0, 120))} (resources: ${STATUS_URI})`);
    const status = { roots: memory.roots, ...(await memory.status()) };
    return { contents: [{ uri: STATUS_URI, mimeType: 'application/json', text: JSON.stringify(status, null, 2) }] };
  });

  return server;
}

export interface ServeMcpOptions extends McpServerOptions {
  runtime: ModelRuntime;
  storeDir: string | undefined;
  scope: Omit<IndexParams, 'rebuild'>;
  log: (line: string) => void;
}

/** Serves the memory over stdin/stdout until the client goes away; resolves with the exit code. */
export async function serveMcp(options: ServeMcpOptions): Promise<number> {
  const memory = new McpMemory({ runtime: options.runtime, storeDir: options.storeDir, scope: options.scope, log: options.log });
  const server = createMcpServer(memory, options);
  const transport = new StdioServerTransport();
  const closed = new Promise<void>((resolve) => { server.onclose = resolve; });
  const stop = () => { void server.close(); };
  // The client closing our stdin, or stopping us, ends the session; the store is written before exit.
  process.stdin.once('end', stop);
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  await server.connect(transport);
  options.log(`megacontext mcp: serving ${options.scope.roots.join(', ')} over stdio`);
  await closed;
  process.stdin.off('end', stop);
  await memory.close();
  await options.runtime.dispose().catch(() => undefined);
  return 0;
}
