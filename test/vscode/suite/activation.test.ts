import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { test } from './harness';
import { EXTENSION_ID, activateExtension, getExtension, onnxruntimeModulesInThisProcess } from './util';

test('the extension is installed and activates', async () => {
  const ext = getExtension();
  assert.equal(ext.id, EXTENSION_ID);
  const api = await activateExtension();
  assert.equal(ext.isActive, true);
  assert.equal(typeof api.engineStarted, 'boolean');
});

test('activation does not start the engine host', async () => {
  const api = await activateExtension();
  assert.equal(api.engineStarted, false, 'the engine host was started during activation; it must start on first use');
});

test('activation does not load onnxruntime-node into the extension host', async () => {
  await activateExtension();
  assert.deepEqual(onnxruntimeModulesInThisProcess(), []);
});

test('the extension contributes megacontext.showRuntimeInfo', async () => {
  await activateExtension();
  const commands = await vscode.commands.getCommands(true);
  assert.ok(commands.includes('megacontext.showRuntimeInfo'));
});
