// The Settings UI lists MegaContext's settings by `order`: what a user sets first (budget, scorer,
// include/exclude) on top, the focus allocator's internals last and marked advanced.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

type Setting = { order?: number; description?: string; markdownDescription?: string };
const pkg = JSON.parse(readFileSync(join(__dirname, '..', '..', '..', 'package.json'), 'utf8')) as {
  contributes: { configuration: { properties: Record<string, Setting> } };
};
const settings = Object.entries(pkg.contributes.configuration.properties);

test('every setting has an order, and budget, scorer, include and exclude come first', () => {
  for (const [name, s] of settings) assert.equal(typeof s.order, 'number', `${name} has no order`);
  const ordered = [...settings].sort((a, b) => a[1].order! - b[1].order!).map(([name]) => name);
  assert.deepEqual(ordered.slice(0, 4), ['megacontext.budget', 'megacontext.scorer', 'megacontext.include', 'megacontext.exclude']);
  assert.equal(new Set(settings.map(([, s]) => s.order)).size, settings.length, 'two settings share an order');
});

test('the allocator internals come last, each marked (advanced), and nothing else is', () => {
  const ordered = [...settings].sort((a, b) => a[1].order! - b[1].order!);
  const firstAllocator = ordered.findIndex(([name]) => name.startsWith('megacontext.allocator.'));
  assert.ok(firstAllocator > 0);
  for (const [name, s] of ordered.slice(firstAllocator)) {
    assert.ok(name.startsWith('megacontext.allocator.'), `${name} sits among the allocator internals`);
    assert.match(s.description ?? s.markdownDescription ?? '', /^\(advanced\) /, `${name} is not marked advanced`);
  }
  for (const [name, s] of ordered.slice(0, firstAllocator)) assert.doesNotMatch(s.description ?? s.markdownDescription ?? '', /\(advanced\)/, name);
});
