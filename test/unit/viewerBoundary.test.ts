import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(__dirname, '..', '..', '..');
const importsOf = (file: string) => [...readFileSync(file, 'utf8').matchAll(/^\s*(?:import|export)[^'"]*from\s+['"]([^'"]+)['"]/gm)].map((m) => m[1]);

test('the webview app imports only itself and the shared protocol and layout modules', () => {
  const dir = join(root, 'media', 'src');
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.ts'))) {
    for (const spec of importsOf(join(dir, name))) {
      assert.ok(/^\.\/[\w]+$/.test(spec) || spec === '../../src/webview/protocol' || spec === '../../src/webview/layout', `${name} imports ${spec}`);
    }
  }
});

test('the shared modules import nothing runtime-specific', () => {
  assert.deepEqual(importsOf(join(root, 'src', 'webview', 'protocol.ts')), []);
  assert.deepEqual(importsOf(join(root, 'src', 'webview', 'layout.ts')), ['./protocol']);
  assert.ok(!importsOf(join(root, 'src', 'webview', 'viewerSession.ts')).includes('vscode'));
  assert.ok(!importsOf(join(root, 'src', 'engine', 'snapshot.ts')).includes('vscode'));
});
