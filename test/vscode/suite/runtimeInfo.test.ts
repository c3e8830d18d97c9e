import * as assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';
import type { RuntimeInfo } from '../../../src/engine/protocol';
import { test } from './harness';
import { activateExtension, getExtension, onnxruntimeModulesInThisProcess } from './util';

test('showRuntimeInfo starts the engine in its own process and reports onnxruntime', async () => {
  const api = await activateExtension();
  const info = await vscode.commands.executeCommand<RuntimeInfo>('megacontext.showRuntimeInfo');
  assert.ok(info, 'the command returned nothing');
  assert.equal(api.engineStarted, true);
  const expectedOrt = (getExtension().packageJSON as { dependencies: Record<string, string> }).dependencies['onnxruntime-node'];
  assert.equal(info.ortVersion, expectedOrt);
  assert.ok(info.backends.includes('cpu'), `backends: ${info.backends.join(', ')}`);
  assert.equal(typeof info.pid, 'number');
  assert.notEqual(info.pid, process.pid, 'the engine must not run in the extension host process');
  // The extension host itself still has not loaded the native runtime.
  assert.deepEqual(onnxruntimeModulesInThisProcess(), []);
}, { timeoutMs: 120_000 });

test('models load when they are present in the models folder, and say why not otherwise', async () => {
  const info = await vscode.commands.executeCommand<RuntimeInfo>('megacontext.showRuntimeInfo');
  // The host looks beside its bundle (<extension>/models) unless MEGACONTEXT_MODELS_DIR points elsewhere.
  assert.equal(info.modelsDir, process.env.MEGACONTEXT_MODELS_DIR || join(getExtension().extensionPath, 'models'));
  const present = ['gistnet-lod1.onnx', 'models.json'].filter((f) => existsSync(join(info.modelsDir, f)));
  if (present.length > 0) {
    assert.equal(info.modelsLoaded, true, `${present.join(' and ')} present in ${info.modelsDir} but the models did not load: ${info.modelsError}`);
    assert.ok(info.backends.includes(info.executionProvider), `runs on ${info.executionProvider}, not one of ${info.backends.join(', ')}`);
    assert.ok(info.modelId);
  } else {
    assert.equal(info.modelsLoaded, false);
    assert.equal(info.executionProvider, 'none');
    assert.match(info.modelsError ?? '', /models\.json|gistnet/);
  }
}, { timeoutMs: 120_000 });

test('the engine host keeps serving: a second request reaches the same process', async () => {
  const first = await vscode.commands.executeCommand<RuntimeInfo>('megacontext.showRuntimeInfo');
  const second = await vscode.commands.executeCommand<RuntimeInfo>('megacontext.showRuntimeInfo');
  assert.equal(second.pid, first.pid);
});
