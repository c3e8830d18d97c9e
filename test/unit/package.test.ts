// The VSIX checks of scripts/package.mjs (npm run package): each kind of mistake is caught, the zip
// reader reads a real zip, the per-target ignore file leaves out the other platforms, and the darwin
// binding's libraries are found (the evidence for dropping its duplicate dylib).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { execFileSync } from 'node:child_process';
import { LANGUAGES } from '../../src/core/units/languages';

const repoRoot = join(__dirname, '..', '..', '..');
const ORT_BIN = 'node_modules/onnxruntime-node/bin/napi-v6';

interface ZipEntry { name: string; method: number; compressedSize: number; size: number; localOffset: number }
interface PackageModule {
  TARGETS: Record<string, { os: string; arch: string }>;
  LIMIT_BYTES: number;
  RUNTIME_PACKAGES: string[];
  GRAMMARS: string[];
  TREE_SITTER_FILES: string[];
  checkEntries(names: string[], options: { target: string; bytes: number; modelFiles: string[]; limitBytes?: number }): string[];
  ignoreFileFor(target: string, baseIgnore: string, productionPackages: string[]): string;
  productionPackages(lock: unknown): string[];
  readZipEntries(zip: Buffer): ZipEntry[];
  readZipEntry(zip: Buffer, entry: ZipEntry): Buffer;
  machOLoads(bin: Buffer): { dylibs: string[]; rpaths: string[]; id?: string };
  checkMachODependencies(binding: Buffer, bindingPath: string, inside: Set<string>): string[];
  peImports(bin: Buffer): { imports: string[]; delayImports: string[] };
  checkPEDependencies(bin: Buffer, binPath: string, inside: Set<string>, shipped: Set<string>): string[];
  selfCheck(): string[];
}

// A path held in a variable keeps TypeScript from resolving the .mjs; the import stays a real ESM import.
const modulePath = pathToFileURL(join(repoRoot, 'scripts', 'package.mjs')).href;
const load = (): Promise<PackageModule> => import(modulePath) as Promise<PackageModule>;

const MODELS = ['gistnet-lod1.onnx', 'models.json'];
const GRAMMAR_DIR = 'node_modules/@vscode/tree-sitter-wasm/wasm';
const TREE_SITTER = ['node_modules/web-tree-sitter/package.json', 'node_modules/web-tree-sitter/web-tree-sitter.cjs',
  'node_modules/web-tree-sitter/web-tree-sitter.wasm', 'node_modules/@vscode/tree-sitter-wasm/package.json',
  ...LANGUAGES.map((l) => `${GRAMMAR_DIR}/tree-sitter-${l.grammar}.wasm`)];
function complete(target = 'linux-x64'): string[] {
  const { os, arch } = { 'linux-x64': { os: 'linux', arch: 'x64' }, 'darwin-arm64': { os: 'darwin', arch: 'arm64' } }[target]!;
  return ['[Content_Types].xml', 'extension.vsixmanifest', ...[
    'package.json', 'README.md', 'dist/extension.js', 'dist/host.js', 'dist/cli.js', 'dist/o200k.js', 'dist/THIRD_PARTY_NOTICES.txt', 'bin/megacontext.js', 'models/models.json',
    'models/gistnet-lod1.onnx', 'media/dist/viewer.js', 'media/viewer.css', `${ORT_BIN}/${os}/${arch}/onnxruntime_binding.node`,
    'node_modules/onnxruntime-node/package.json', 'node_modules/onnxruntime-node/dist/index.js',
    'node_modules/onnxruntime-common/package.json', ...TREE_SITTER,
  ].map((p) => `extension/${p}`)];
}

test('a complete listing for its target passes', async () => {
  const pkg = await load();
  assert.deepEqual(pkg.checkEntries(complete(), { target: 'linux-x64', bytes: 25e6, modelFiles: MODELS }), []);
  assert.deepEqual(pkg.checkEntries(complete('darwin-arm64'), { target: 'darwin-arm64', bytes: 25e6, modelFiles: MODELS }), []);
});

test('each kind of wrong entry is named in its own violation', async () => {
  const pkg = await load();
  const check = (names: string[]) => pkg.checkEntries(names, { target: 'linux-x64', bytes: 25e6, modelFiles: MODELS });
  const cases: [string, string[], RegExp][] = [
    ['missing host bundle', complete().filter((n) => n !== 'extension/dist/host.js'), /missing dist\/host\.js/],
    ['missing MCP server (the CLI bundle)', complete().filter((n) => n !== 'extension/dist/cli.js'), /missing dist\/cli\.js/],
    ['missing shared tokenizer', complete().filter((n) => n !== 'extension/dist/o200k.js'), /missing dist\/o200k\.js/],
    ['missing third-party notices', complete().filter((n) => n !== 'extension/dist/THIRD_PARTY_NOTICES.txt'), /missing dist\/THIRD_PARTY_NOTICES\.txt/],
    ['missing MCP server launcher', complete().filter((n) => n !== 'extension/bin/megacontext.js'), /missing bin\/megacontext\.js/],
    ['missing model', complete().filter((n) => n !== 'extension/models/gistnet-lod1.onnx'), /missing models\/gistnet-lod1\.onnx/],
    ['missing viewer app', complete().filter((n) => !n.startsWith('extension/media/dist/')), /missing media\/dist\/viewer\.js/],
    ['missing own binding', complete().filter((n) => !n.endsWith('.node')), /missing .*linux\/x64\/onnxruntime_binding\.node/],
    ['missing grammar', complete().filter((n) => !n.endsWith('/tree-sitter-python.wasm')), /missing node_modules\/@vscode\/tree-sitter-wasm\/wasm\/tree-sitter-python\.wasm/],
    ['missing parser runtime', complete().filter((n) => !n.endsWith('/web-tree-sitter.wasm')), /missing node_modules\/web-tree-sitter\/web-tree-sitter\.wasm/],
    ['tree-sitter type declarations', [...complete(), 'extension/node_modules/web-tree-sitter/web-tree-sitter.d.cts'], /TypeScript file/],
    ['source', [...complete(), 'extension/src/core/focus.ts'], /src\/.*must not ship: src\/core\/focus\.ts/],
    ['test', [...complete(), 'extension/test/unit/focus.test.js'], /test folder/],
    ['script', [...complete(), 'extension/scripts/build.mjs'], /build scripts/],
    ['training code', [...complete(), 'extension/models/training/gist-data.mjs'], /training code/],
    ['typescript declaration', [...complete(), 'extension/node_modules/onnxruntime-common/dist/index.d.ts'], /TypeScript file/],
    ['map', [...complete(), 'extension/media/dist/viewer.js.map'], /source map/],
    ['cache', [...complete(), 'extension/.cache/megacontext/tree.mgc'], /cache \.cache/],
    ['store', [...complete(), 'extension/.megacontext/tree.mgc'], /\.megacontext/],
    ['test cache', [...complete(), 'extension/.vscode-test/code-server/x.js'], /\.vscode-test/],
    ['other platform', [...complete(), `extension/${ORT_BIN}/darwin/arm64/libonnxruntime.1.dylib`], /another platform's onnxruntime binary/],
    ['install-only package', [...complete(), 'extension/node_modules/global-agent/package.json'], /not needed at run time: node_modules\/global-agent/],
    ['entry outside extension/', [...complete(), 'stray.txt'], /outside extension\//],
  ];
  for (const [what, names, expected] of cases) {
    const problems = check(names);
    assert.equal(problems.length, 1, `${what}: expected one violation, got ${JSON.stringify(problems)}`);
    assert.match(problems[0]!, expected, what);
  }
});

test('a VSIX over the size limit fails with the size and by how much', async () => {
  const pkg = await load();
  const problems = pkg.checkEntries(complete(), { target: 'linux-x64', bytes: pkg.LIMIT_BYTES + 2_500_000, modelFiles: MODELS });
  assert.deepEqual(problems, ['size 42.5 MB is over the 40.0 MB limit by 2.5 MB']);
  assert.deepEqual(pkg.checkEntries(complete(), { target: 'linux-x64', bytes: pkg.LIMIT_BYTES, modelFiles: MODELS }), []);
});

test('the VSIX requires every grammar src/core/units loads, and .vscodeignore leaves none of them out', async () => {
  const pkg = await load();
  assert.deepEqual([...pkg.GRAMMARS].sort(), [...new Set(LANGUAGES.map((l) => l.grammar))].sort());
  assert.deepEqual([...pkg.TREE_SITTER_FILES].sort(), [...TREE_SITTER].sort());
  for (const path of pkg.TREE_SITTER_FILES) assert.ok(existsSync(join(repoRoot, path)), `${path} is installed`);
  // .vscodeignore names tree-sitter files one by one: none of them may be a file the runtime reads.
  const ignored = readFileSync(join(repoRoot, '.vscodeignore'), 'utf8').split('\n').map((l) => l.trim())
    .filter((l) => /^node_modules\/(web-tree-sitter|@vscode\/tree-sitter-wasm)\//.test(l));
  assert.ok(ignored.length > 0, 'the unused tree-sitter files are left out');
  for (const pattern of ignored) {
    const re = new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*\*/g, '.*').replace(/(?<!\.)\*/g, '[^/]*')}$`);
    for (const path of pkg.TREE_SITTER_FILES) assert.ok(!re.test(path), `.vscodeignore's ${pattern} leaves out ${path}`);
  }
});

test('the built-in self-check finds the checks working', async () => {
  const pkg = await load();
  assert.deepEqual(pkg.selfCheck(), []);
});

test('the ignore file for a target leaves out every other platform and the install-only packages', async () => {
  const pkg = await load();
  const text = pkg.ignoreFileFor('win32-x64', 'src/**\n', ['adm-zip', 'onnxruntime-common', 'onnxruntime-node']);
  const lines = text.split('\n');
  assert.ok(lines.includes('src/**'), 'the base .vscodeignore is kept');
  for (const [target, { os, arch }] of Object.entries(pkg.TARGETS)) {
    assert.equal(lines.includes(`${ORT_BIN}/${os}/${arch}/**`), target !== 'win32-x64', target);
  }
  assert.ok(lines.includes('node_modules/adm-zip/**'));
  for (const name of pkg.RUNTIME_PACKAGES) assert.ok(!lines.includes(`node_modules/${name}/**`), `${name} is ignored`);
  assert.ok(pkg.ignoreFileFor('darwin-arm64', '', []).includes(`${ORT_BIN}/darwin/arm64/libonnxruntime.1.30.0.dylib`));
  for (const arch of ['x64', 'arm64']) {
    const win = pkg.ignoreFileFor(`win32-${arch}`, '', []).split('\n');
    for (const dll of ['dxcompiler.dll', 'dxil.dll']) assert.ok(win.includes(`${ORT_BIN}/win32/${arch}/${dll}`), `${arch} ${dll}`);
    assert.ok(!win.some((l) => /DirectML|onnxruntime\.dll/.test(l)), `win32-${arch} leaves out a library it loads`);
  }
  assert.throws(() => pkg.ignoreFileFor('darwin-x64', '', []), /unknown target darwin-x64/);
});

test('production packages come from package-lock.json without dev packages', async () => {
  const pkg = await load();
  const lock = { packages: { '': {}, 'node_modules/a': {}, 'node_modules/b': { dev: true }, 'node_modules/@s/c': {}, 'node_modules/a/node_modules/d': {} } };
  assert.deepEqual(pkg.productionPackages(lock), ['@s/c', 'a']);
  // The real lock: onnxruntime-node's runtime packages are production ones.
  const real = pkg.productionPackages(JSON.parse(readFileSync(join(repoRoot, 'package-lock.json'), 'utf8')));
  for (const name of pkg.RUNTIME_PACKAGES) assert.ok(real.includes(name), name);
});

test('the zip reader lists and inflates the entries of a real zip', async (t) => {
  const pkg = await load();
  const dir = mkdtempSync(join(tmpdir(), 'megacontext-zip-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const text = 'MegaContext '.repeat(500);
  writeFileSync(join(dir, 'a.txt'), text);
  writeFileSync(join(dir, 'b.bin'), Buffer.from([1, 2, 3]));
  // Python's zipfile is on every machine that trains the models (TESTING.md); it writes a plain zip.
  try {
    execFileSync('python3', ['-c', `import zipfile,sys
z = zipfile.ZipFile(sys.argv[1], 'w')
z.write(sys.argv[2], 'extension/a.txt', zipfile.ZIP_DEFLATED)
z.write(sys.argv[3], 'extension/b.bin', zipfile.ZIP_STORED)
z.close()`, join(dir, 'x.zip'), join(dir, 'a.txt'), join(dir, 'b.bin')]);
  } catch {
    t.skip('python3 is not available to write a reference zip');
    return;
  }
  const zip = readFileSync(join(dir, 'x.zip'));
  const entries = pkg.readZipEntries(zip);
  assert.deepEqual(entries.map((e) => [e.name, e.size]), [['extension/a.txt', text.length], ['extension/b.bin', 3]]);
  assert.equal(pkg.readZipEntry(zip, entries[0]!).toString(), text);
  assert.deepEqual([...pkg.readZipEntry(zip, entries[1]!)], [1, 2, 3]);
  assert.throws(() => pkg.readZipEntries(Buffer.from('not a zip at all, just text that is long enough')), /not a zip file/);
});

test('the darwin binding loads libonnxruntime.1.dylib through @loader_path, and a missing one is caught', async (t) => {
  const pkg = await load();
  const bindingPath = join(repoRoot, ORT_BIN, 'darwin', 'arm64', 'onnxruntime_binding.node');
  if (!existsSync(bindingPath)) {
    t.skip('onnxruntime-node has no darwin/arm64 binary here');
    return;
  }
  const binding = readFileSync(bindingPath);
  const loads = pkg.machOLoads(binding);
  assert.ok(loads.dylibs.includes('@rpath/libonnxruntime.1.dylib'), `binding loads: ${loads.dylibs.join(', ')}`);
  assert.ok(!loads.dylibs.some((d) => d.includes('libonnxruntime.1.30.0')), 'the binding names the versioned dylib');
  assert.ok(loads.rpaths.includes('@loader_path'), `rpaths: ${loads.rpaths.join(', ')}`);
  const folder = `extension/${ORT_BIN}/darwin/arm64/`;
  const withLib = new Set([`${folder}onnxruntime_binding.node`, `${folder}libonnxruntime.1.dylib`]);
  assert.deepEqual(pkg.checkMachODependencies(binding, `${folder}onnxruntime_binding.node`, withLib), []);
  const withoutLib = new Set([`${folder}onnxruntime_binding.node`, `${folder}libonnxruntime.1.30.0.dylib`]);
  assert.deepEqual(pkg.checkMachODependencies(binding, `${folder}onnxruntime_binding.node`, withoutLib),
    [`${folder}onnxruntime_binding.node loads @rpath/libonnxruntime.1.dylib, which is not in the VSIX`]);
  // The library's own install name agrees, so nothing loads it under the versioned name either.
  assert.equal(pkg.machOLoads(readFileSync(join(repoRoot, ORT_BIN, 'darwin', 'arm64', 'libonnxruntime.1.dylib'))).id, '@rpath/libonnxruntime.1.dylib');
});

test('the win32 libraries import no DirectX shader compiler, and a missing DLL they import is caught', async (t) => {
  const pkg = await load();
  for (const arch of ['x64', 'arm64']) {
    const folder = join(repoRoot, ORT_BIN, 'win32', arch);
    if (!existsSync(join(folder, 'onnxruntime.dll'))) {
      t.skip(`onnxruntime-node has no win32/${arch} binary here`);
      continue;
    }
    const runtime = pkg.peImports(readFileSync(join(folder, 'onnxruntime.dll')));
    assert.ok(runtime.imports.some((d) => d.toUpperCase() === 'KERNEL32.DLL'), `imports: ${runtime.imports.join(', ')}`);
    assert.ok(runtime.delayImports.includes('DirectML.dll'), `delay imports: ${runtime.delayImports.join(', ')}`);
    const binding = readFileSync(join(folder, 'onnxruntime_binding.node'));
    assert.ok(pkg.peImports(binding).imports.includes('onnxruntime.dll'));
    for (const { imports, delayImports } of [runtime, pkg.peImports(binding)]) {
      assert.ok(![...imports, ...delayImports].some((d) => /^dx(compiler|il)\.dll$/i.test(d)), 'a DXC library is imported');
    }
    const at = `extension/${ORT_BIN}/win32/${arch}/`;
    const shipped = new Set(['directml.dll', 'dxcompiler.dll', 'dxil.dll', 'onnxruntime.dll', 'onnxruntime_binding.node']);
    const all = new Set([`${at}onnxruntime.dll`, `${at}onnxruntime_binding.node`, `${at}DirectML.dll`]);
    assert.deepEqual(pkg.checkPEDependencies(binding, `${at}onnxruntime_binding.node`, all, shipped), []);
    assert.deepEqual(pkg.checkPEDependencies(readFileSync(join(folder, 'onnxruntime.dll')), `${at}onnxruntime.dll`, all, shipped), []);
    const noDirectML = new Set([`${at}onnxruntime.dll`, `${at}onnxruntime_binding.node`]);
    assert.deepEqual(pkg.checkPEDependencies(readFileSync(join(folder, 'onnxruntime.dll')), `${at}onnxruntime.dll`, noDirectML, shipped),
      [`${at}onnxruntime.dll imports DirectML.dll, which is not in the VSIX`]);
    assert.deepEqual(pkg.checkPEDependencies(binding, `${at}onnxruntime_binding.node`, new Set([`${at}onnxruntime_binding.node`]), shipped),
      [`${at}onnxruntime_binding.node imports onnxruntime.dll, which is not in the VSIX`]);
  }
  assert.throws(() => pkg.peImports(Buffer.from('plain text, not a library at all....................................')), /not a PE file/);
});
