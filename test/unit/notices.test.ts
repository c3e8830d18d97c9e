// The third-party notices (scripts/notices.mjs): the packages a bundle inlines are found in esbuild's
// metafile, each with its licence text, and the build's dist/THIRD_PARTY_NOTICES.txt carries them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as esbuild from 'esbuild';

const repoRoot = join(__dirname, '..', '..', '..');

interface Notice { name: string; version: string; license: string; texts: { file: string; text: string }[] }
interface NoticesModule {
  NOTICES_FILE: string;
  bundledPackageDirs(metafiles: { inputs?: Record<string, unknown> }[]): string[];
  packageNotice(root: string, dir: string): Notice;
  noticesText(notices: Notice[]): string;
  writeNotices(root: string, metafiles: unknown[], out?: string): Notice[];
}
// A path held in a variable keeps TypeScript from resolving the .mjs; the import stays a real ESM import.
const modulePath = pathToFileURL(join(repoRoot, 'scripts', 'notices.mjs')).href;
const load = (): Promise<NoticesModule> => import(modulePath) as Promise<NoticesModule>;

test('package folders come from metafile inputs: scoped, nested and Windows paths; sources are not packages', async () => {
  const n = await load();
  const dirs = n.bundledPackageDirs([
    { inputs: { 'src/core/plan.ts': {}, 'node_modules/some-pkg/dist/index.js': {}, 'node_modules/some-pkg/dist/x.js': {} } },
    { inputs: { 'node_modules/@scope/pkg/lib/a.js': {}, 'node_modules/a/node_modules/b/index.js': {}, 'node_modules\\win\\index.js': {} } },
    {},
  ]);
  assert.deepEqual(dirs, ['node_modules/@scope/pkg', 'node_modules/a/node_modules/b', 'node_modules/some-pkg', 'node_modules/win']);
});

test('a real bundle of two dependencies yields both notices with their licence texts', async () => {
  const n = await load();
  const dir = mkdtempSync(join(tmpdir(), 'mc-notices-'));
  try {
    const entry = join(dir, 'entry.js');
    writeFileSync(entry, "const { LRUCache } = require('lru-cache');\nconst ignore = require('ignore');\nmodule.exports = [LRUCache, ignore];\n");
    const built = await esbuild.build({ entryPoints: [entry], bundle: true, platform: 'node', write: false, metafile: true, absWorkingDir: repoRoot, nodePaths: [join(repoRoot, 'node_modules')], logLevel: 'silent' });
    const out = join(dir, 'NOTICES.txt');
    const notices = n.writeNotices(repoRoot, [built.metafile], out);
    const byName = new Map(notices.map((x) => [x.name, x]));
    assert.deepEqual([...byName.keys()].sort(), ['ignore', 'lru-cache']);
    assert.equal(byName.get('lru-cache')!.license, 'BlueOak-1.0.0');
    assert.match(byName.get('lru-cache')!.texts.map((t) => t.text).join('\n'), /Blue Oak/);
    assert.match(byName.get('ignore')!.texts.map((t) => t.text).join('\n'), /Permission is hereby granted/);
    const text = readFileSync(out, 'utf8');
    assert.match(text, /^lru-cache@\d+\.\d+\.\d+ \(BlueOak-1\.0\.0\)$/m);
    assert.match(text, /^ignore@\d+\.\d+\.\d+ \(MIT\)$/m);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a package without a licence file is listed with its licence id', async () => {
  const n = await load();
  const text = n.noticesText([{ name: 'bare', version: '1.0.0', license: 'ISC', texts: [] }]);
  assert.match(text, /^bare@1\.0\.0 \(ISC\)$/m);
  assert.match(text, /no licence file; its package\.json says "ISC"/);
});

test("the build's notices carry the licence of every package the shipped bundles inline", async () => {
  const n = await load();
  const text = readFileSync(join(repoRoot, n.NOTICES_FILE), 'utf8');
  // The tokenizer (its own bundle), the cache, the ignore matcher and the MCP server's SDK.
  for (const name of ['gpt-tokenizer', 'lru-cache', 'ignore', '@modelcontextprotocol/sdk']) {
    assert.match(text, new RegExp(`^${name.replace(/[/.]/g, '\\$&')}@\\S+ \\(`, 'm'), `${name} missing from ${n.NOTICES_FILE}`);
  }
  assert.doesNotMatch(text, /no licence file/, 'every bundled package ships a licence file today');
});
