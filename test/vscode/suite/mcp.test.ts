// The MCP server as VS Code gets it: the definition the extension's McpServerDefinitionProvider gives
// (read through the extension's exports: VS Code's API lists no other extension's MCP servers), and that
// definition's command, spawned as VS Code would spawn it and driven by the MCP SDK's own client.
import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { test } from './harness';
import { DOTENV_MARKER, PLANTED_TOKEN, getExtension, indexedApi, workspaceRoot } from './util';

test('the extension provides one MCP server definition: the bundled CLI on this workspace and the extension\'s store', async () => {
  const api = await indexedApi();
  const pkg = getExtension().packageJSON as { contributes: { mcpServerDefinitionProviders?: { id: string }[] } };
  assert.deepEqual(pkg.contributes.mcpServerDefinitionProviders?.map((p) => p.id), ['megacontext.mcp']);
  const defs = api.mcpServerDefinitions();
  assert.equal(defs.length, 1);
  const def = defs[0];
  assert.ok(def instanceof vscode.McpStdioServerDefinition, 'not a stdio server definition');
  assert.equal(def.label, 'MegaContext');
  assert.equal(def.command, process.execPath);
  assert.equal(def.args[0], join(getExtension().extensionPath, 'bin', 'megacontext.js'));
  assert.deepEqual(def.args.slice(1, 3), ['mcp', workspaceRoot()]);
  const status = await api.engine.request('status', {});
  assert.ok(status.storeDir, 'the engine has no store folder');
  assert.equal(def.args[def.args.indexOf('--store') + 1], status.storeDir, 'the MCP server would not share the extension\'s store');
  assert.equal(def.cwd?.fsPath, workspaceRoot());
});

test('the provided MCP server starts and answers recall with the workspace\'s exact text, no secret included', async () => {
  const api = await indexedApi();
  const [def] = api.mcpServerDefinitions();
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  for (const [k, v] of Object.entries(def.env)) if (v === null) delete env[k]; else env[k] = String(v);
  const transport = new StdioClientTransport({ command: def.command, args: def.args, env, cwd: def.cwd?.fsPath, stderr: 'pipe' });
  const client = new Client({ name: 'megacontext-vscode-suite', version: '1.0.0' });
  await client.connect(transport);
  try {
    const { tools } = await client.listTools();
    assert.deepEqual(tools.map((t) => t.name).sort(), ['expand', 'focus_map', 'recall', 'remember']);
    const result = (await client.callTool({ name: 'recall', arguments: { query: 'restock threshold for low inventory items', budget: 2000 } })) as { content: { text?: string }[]; isError?: boolean };
    const text = result.content.map((c) => c.text ?? '').join('');
    assert.notEqual(result.isError, true, text);
    assert.match(text, /^MegaContext working context/);
    const source = readFileSync(join(workspaceRoot(), 'src', 'inventory.py'), 'utf8');
    // The body of Inventory.low_stock, the function the query is about.
    const lowStock = source.split('\n').find((l) => l.includes('i.quantity <= threshold'));
    assert.ok(lowStock, 'the fixture has no low_stock body line');
    assert.ok(text.includes(`\n${lowStock}\n`), `recall over MCP did not show ${JSON.stringify(lowStock)} exactly`);
    assert.ok(!text.includes(PLANTED_TOKEN) && !text.includes(DOTENV_MARKER), 'a secret reached the MCP answer');
  } finally {
    await client.close();
  }
}, { timeoutMs: 120_000 });
