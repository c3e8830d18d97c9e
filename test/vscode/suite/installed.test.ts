// Which copy of the extension this suite runs against. Under `npm run package` (scripts/package.mjs)
// runCodeServer installs the packaged VSIX and sets MEGACONTEXT_EXTENSIONS_DIR: then the extension must
// be the installed copy, running from the VSIX's own files (bundles, models, onnxruntime-node), so every
// other test in this suite tests what users install. Otherwise it is the development folder.
import * as assert from 'node:assert/strict';
import { existsSync, realpathSync } from 'node:fs';
import { join, relative, isAbsolute } from 'node:path';
import * as vscode from 'vscode';
import type { RuntimeInfo } from '../../../src/engine/protocol';
import { test } from './harness';
import { activateExtension, getExtension } from './util';

const extensionsDir = process.env.MEGACONTEXT_EXTENSIONS_DIR;

function isInside(child: string, parent: string): boolean {
  const rel = relative(realpathSync(parent), realpathSync(child));
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
}

if (extensionsDir) {
  test('the extension under test is the installed VSIX, not the development folder', () => {
    const path = getExtension().extensionPath;
    assert.ok(isInside(path, extensionsDir), `extensionPath ${path} is not inside the extensions folder ${extensionsDir}`);
    // A packaged extension carries its bundles but none of the sources they were built from.
    assert.ok(existsSync(join(path, 'dist', 'extension.js')), `${path}/dist/extension.js is missing`);
    assert.ok(!existsSync(join(path, 'src')), `${path}/src exists: the VSIX ships sources`);
    assert.ok(!existsSync(join(path, 'test')), `${path}/test exists: the VSIX ships tests`);
  });

  test('the installed extension loads its models and onnxruntime-node from its own folder', async () => {
    await activateExtension();
    const path = getExtension().extensionPath;
    const info = await vscode.commands.executeCommand<RuntimeInfo>('megacontext.showRuntimeInfo');
    assert.ok(info, 'megacontext.showRuntimeInfo returned nothing');
    assert.equal(info.modelsDir, join(path, 'models'));
    assert.equal(info.modelsLoaded, true, `the models shipped in the VSIX did not load: ${info.modelsError}`);
    assert.ok(info.backends.includes('cpu'), `onnxruntime backends: ${info.backends.join(', ')}`);
    assert.ok(existsSync(join(path, 'node_modules', 'onnxruntime-node', 'package.json')), 'onnxruntime-node is not in the installed extension');
  }, { timeoutMs: 120_000 });
} else {
  test('the extension under test is the development folder (set MEGACONTEXT_VSIX to test a packaged VSIX)', () => {
    const path = getExtension().extensionPath;
    assert.ok(existsSync(join(path, 'src', 'extension', 'extension.ts')), `extensionPath ${path} is not the development folder`);
  });
}
