// `npm run package`: builds the extension, packs one platform-specific VSIX per target with @vscode/vsce
// (each with only its own onnxruntime-node binaries), verifies every VSIX it wrote (entries and size),
// then installs the VSIX for this machine's platform into code-server and runs the VS Code suite
// against the installed copy (test/vscode/runCodeServer.ts with MEGACONTEXT_VSIX). Exits non-zero on
// the first failure, with a one-line reason.
//
//   node scripts/package.mjs [--targets linux-x64,win32-x64] [--out DIR] [--no-build] [--no-vscode]
//   node scripts/package.mjs --verify FILE.vsix --target linux-x64     (checks an existing VSIX only)
//
// The checks are exported (checkEntries, readZipEntries, ...) for test/unit/package.test.ts; importing
// this module runs nothing.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { inflateRawSync } from 'node:zlib';
import { NOTICES_FILE } from './notices.mjs';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The targets onnxruntime-node 1.30 ships binaries for (there is no darwin-x64 build), by vsce name. */
export const TARGETS = {
  'linux-x64': { os: 'linux', arch: 'x64' },
  'linux-arm64': { os: 'linux', arch: 'arm64' },
  'win32-x64': { os: 'win32', arch: 'x64' },
  'win32-arm64': { os: 'win32', arch: 'arm64' },
  'darwin-arm64': { os: 'darwin', arch: 'arm64' },
};

/** The size every VSIX must stay within (decimal megabytes: 40,000,000 bytes). */
export const LIMIT_BYTES = 40_000_000;

const ORT_BIN = 'node_modules/onnxruntime-node/bin/napi-v6';

/**
 * Files of onnxruntime-node's own folder that a target's VSIX leaves out.
 *
 * darwin/arm64 ships the same 44.6 MB library twice, as libonnxruntime.1.30.0.dylib and
 * libonnxruntime.1.dylib (byte-identical). The binding loads only the second: its Mach-O load commands
 * are LC_LOAD_DYLIB "@rpath/libonnxruntime.1.dylib" with LC_RPATH "@loader_path", and the library's own
 * install name (LC_ID_DYLIB) is "@rpath/libonnxruntime.1.dylib" too; nothing in onnxruntime-node's
 * JavaScript names either file (it requires only onnxruntime_binding.node). So the versioned copy is
 * left out, and verify() re-reads the binding from every darwin VSIX and fails if any library it
 * loads through @rpath/@loader_path is missing beside it (checkMachODependencies).
 *
 * win32 ships dxcompiler.dll and dxil.dll (24 MB, ~10 MB compressed), the DirectX shader compiler that
 * Dawn, inside onnxruntime's WebGPU provider, loads by name at run time when present ("Use DXC instead of
 * FXC for compiling HLSL when both dxcompiler.dll and dxil.dll is available"; without them it compiles
 * with FXC, which is part of Windows). Neither onnxruntime.dll nor the binding imports them, directly or
 * delay-loaded (DirectML.dll, d3d12.dll and dxgi.dll are delay-loaded; DirectML.dll ships). The CPU and
 * DirectML providers never load them, and WebGPU comes after DirectML in DEFAULT_PROVIDERS. The room
 * pays for a GistNet that fits the 40 MB limit; verify() re-reads both PE files from every win32 VSIX and
 * fails if a DLL they import, of those onnxruntime-node ships, is missing beside them (checkPEDependencies).
 */
const DXC = (arch) => ['dxcompiler.dll', 'dxil.dll'].map((f) => `${ORT_BIN}/win32/${arch}/${f}`);
export const DROPPED_FILES = {
  'darwin-arm64': [`${ORT_BIN}/darwin/arm64/libonnxruntime.1.30.0.dylib`],
  'win32-x64': DXC('x64'),
  'win32-arm64': DXC('arm64'),
};

/**
 * The only packages the VSIX needs under node_modules: everything else is bundled into dist/ by esbuild
 * (vscode, onnxruntime-node and the two tree-sitter packages are external), and onnxruntime-node's
 * other dependencies (adm-zip, global-agent and theirs) serve only its install script, which never
 * runs from a VSIX.
 */
export const RUNTIME_PACKAGES = ['onnxruntime-node', 'onnxruntime-common', 'web-tree-sitter', '@vscode/tree-sitter-wasm'];

/**
 * The tree-sitter grammars src/core/units/languages.ts loads (test/unit/package.test.ts checks that the
 * two lists agree): a VSIX without one parses that language with the indentation fallback only.
 */
export const GRAMMARS = ['bash', 'c-sharp', 'cpp', 'go', 'java', 'javascript', 'php', 'python', 'ruby', 'rust', 'tsx', 'typescript'];

/** What src/core/units.ts reads at run time: web-tree-sitter's CommonJS entry and its .wasm, and the grammars. */
export const TREE_SITTER_FILES = [
  'node_modules/web-tree-sitter/package.json',
  'node_modules/web-tree-sitter/web-tree-sitter.cjs',
  'node_modules/web-tree-sitter/web-tree-sitter.wasm',
  'node_modules/@vscode/tree-sitter-wasm/package.json',
  ...GRAMMARS.map((g) => `node_modules/@vscode/tree-sitter-wasm/wasm/tree-sitter-${g}.wasm`),
];

/** The ignore file for one target: .vscodeignore, the other platforms' binaries, install-only packages. */
export function ignoreFileFor(target, baseIgnore, productionPackages) {
  const own = TARGETS[target];
  if (!own) throw new Error(`unknown target ${target} (known: ${Object.keys(TARGETS).join(', ')})`);
  const lines = [baseIgnore.trimEnd(), '', `# Generated by scripts/package.mjs for ${target}`];
  for (const { os, arch } of Object.values(TARGETS)) {
    if (os !== own.os || arch !== own.arch) lines.push(`${ORT_BIN}/${os}/${arch}/**`);
  }
  for (const file of DROPPED_FILES[target] ?? []) lines.push(file);
  for (const name of productionPackages) {
    if (!RUNTIME_PACKAGES.includes(name)) lines.push(`node_modules/${name}/**`);
  }
  return `${lines.join('\n')}\n`;
}

// bin/megacontext.js and dist/cli.js: the MCP server the extension registers with VS Code (src/extension/mcpProvider.ts).
// dist/o200k.js: the tokenizer the host and the CLI share (scripts/build.mjs).
// dist/THIRD_PARTY_NOTICES.txt: the licences of the packages the bundles inline (scripts/notices.mjs).
const REQUIRED = ['package.json', 'dist/extension.js', 'dist/host.js', 'dist/cli.js', 'dist/o200k.js', 'bin/megacontext.js', 'models/models.json', 'media/dist/viewer.js', NOTICES_FILE];

/** Paths (inside extension/) that must never ship, each with the reason printed on a violation. */
const FORBIDDEN = [
  [/^src\//, 'source folder src/'],
  [/^test\//, 'test folder test/'],
  [/^scripts\//, 'build scripts scripts/'],
  [/^out\//, 'transpiled tree out/'],
  [/^models\/training\//, 'training code models/training/'],
  [/^media\/src\//, 'viewer sources media/src/'],
  [/\.(ts|mts|cts)$/, 'TypeScript file'],
  [/\.map$/, 'source map'],
  [/(^|\/)\.vscode-test\//, 'test cache .vscode-test/'],
  [/(^|\/)\.cache\//, 'cache .cache/'],
  [/(^|\/)\.megacontext\//, 'memory store .megacontext/'],
  [/(^|\/)__pycache__\//, 'Python cache'],
  [/\.(py|pt|npz)$/, 'training file'],
  [/\.vsix$/, 'nested VSIX'],
];

/**
 * Checks a VSIX's entry names (as stored: `extension/...` plus the manifest files) and its size for one
 * target. `modelFiles` are the model files the package must carry (the *.onnx beside models.json).
 * Returns one line per violation; an empty list means the VSIX is complete and clean.
 */
export function checkEntries(names, { target, bytes, modelFiles, limitBytes = LIMIT_BYTES }) {
  const own = TARGETS[target];
  if (!own) return [`unknown target ${target}`];
  const problems = [];
  const inside = new Set();
  for (const name of names) {
    if (name === '[Content_Types].xml' || name === 'extension.vsixmanifest') continue;
    if (!name.startsWith('extension/')) { problems.push(`unexpected entry outside extension/: ${name}`); continue; }
    inside.add(name.slice('extension/'.length));
  }
  if (!names.includes('extension.vsixmanifest')) problems.push('missing extension.vsixmanifest');
  const onnx = modelFiles.filter((f) => f.endsWith('.onnx'));
  if (onnx.length === 0) problems.push('no models/*.onnx to check against (is models/ empty?)');
  const ownBin = `${ORT_BIN}/${own.os}/${own.arch}`;
  for (const path of [...REQUIRED, ...modelFiles.map((f) => `models/${f}`), `${ownBin}/onnxruntime_binding.node`,
    'node_modules/onnxruntime-node/package.json', 'node_modules/onnxruntime-common/package.json', ...TREE_SITTER_FILES]) {
    if (!inside.has(path)) problems.push(`missing ${path}`);
  }
  for (const path of inside) {
    for (const [pattern, what] of FORBIDDEN) {
      if (pattern.test(path)) { problems.push(`${what} must not ship: ${path}`); break; }
    }
    if (path.startsWith(`${ORT_BIN}/`) && !path.startsWith(`${ownBin}/`)) {
      problems.push(`another platform's onnxruntime binary in the ${target} VSIX: ${path}`);
    }
    const pkg = /^node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(path);
    if (pkg && !RUNTIME_PACKAGES.includes(pkg[1])) problems.push(`package not needed at run time: node_modules/${pkg[1]} (${path})`);
  }
  if (bytes > limitBytes) {
    problems.push(`size ${mb(bytes)} is over the ${mb(limitBytes)} limit by ${mb(bytes - limitBytes)}`);
  }
  return problems;
}

function mb(bytes) {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

/** The entries of a zip file (its central directory). Throws on anything that is not a plain zip. */
export function readZipEntries(zip) {
  const minEnd = Math.max(0, zip.length - 22 - 0xffff);
  let end = -1;
  for (let i = zip.length - 22; i >= minEnd; i--) {
    if (zip.readUInt32LE(i) === 0x06054b50) { end = i; break; }
  }
  if (end < 0) throw new Error('not a zip file (no end-of-central-directory record)');
  const count = zip.readUInt16LE(end + 10);
  const dirOffset = zip.readUInt32LE(end + 16);
  if (count === 0xffff || dirOffset === 0xffffffff) throw new Error('zip64 archives are not supported');
  const entries = [];
  let p = dirOffset;
  for (let i = 0; i < count; i++) {
    if (zip.readUInt32LE(p) !== 0x02014b50) throw new Error(`corrupt central directory at byte ${p}`);
    const nameLength = zip.readUInt16LE(p + 28);
    const extraLength = zip.readUInt16LE(p + 30);
    const commentLength = zip.readUInt16LE(p + 32);
    entries.push({
      name: zip.toString('utf8', p + 46, p + 46 + nameLength),
      method: zip.readUInt16LE(p + 10),
      compressedSize: zip.readUInt32LE(p + 20),
      size: zip.readUInt32LE(p + 24),
      localOffset: zip.readUInt32LE(p + 42),
    });
    p += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

/** The uncompressed bytes of one entry (stored or deflated). */
export function readZipEntry(zip, entry) {
  const p = entry.localOffset;
  if (zip.readUInt32LE(p) !== 0x04034b50) throw new Error(`corrupt local header for ${entry.name}`);
  const start = p + 30 + zip.readUInt16LE(p + 26) + zip.readUInt16LE(p + 28);
  const data = zip.subarray(start, start + entry.compressedSize);
  if (entry.method === 0) return data;
  if (entry.method === 8) return inflateRawSync(data);
  throw new Error(`${entry.name}: unsupported compression method ${entry.method}`);
}

/** The dynamic-library load commands of a 64-bit Mach-O file: libraries it loads, its rpaths, its own id. */
export function machOLoads(bin) {
  if (bin.readUInt32LE(0) !== 0xfeedfacf) throw new Error('not a 64-bit little-endian Mach-O file');
  const ncmds = bin.readUInt32LE(16);
  const str = (cmd, at) => {
    const from = cmd + bin.readUInt32LE(cmd + at);
    const to = bin.indexOf(0, from);
    return bin.toString('utf8', from, to);
  };
  const out = { dylibs: [], rpaths: [], id: undefined };
  let cmd = 32; // sizeof(mach_header_64)
  for (let i = 0; i < ncmds; i++) {
    const kind = bin.readUInt32LE(cmd) & ~0x80000000; // drop LC_REQ_DYLD
    if (kind === 0xc || kind === 0x18 || kind === 0x1f || kind === 0x23) out.dylibs.push(str(cmd, 8)); // LOAD, LOAD_WEAK, REEXPORT, LOAD_UPWARD
    else if (kind === 0xd) out.id = str(cmd, 8); // LC_ID_DYLIB
    else if (kind === 0x1c) out.rpaths.push(str(cmd, 8)); // LC_RPATH
    cmd += bin.readUInt32LE(cmd + 4);
  }
  return out;
}

/**
 * Every library the darwin binding loads relative to itself (@rpath with an @loader_path rpath, or
 * @loader_path) must be in the VSIX beside it. Returns one line per violation.
 */
export function checkMachODependencies(binding, bindingPath, inside) {
  const { dylibs, rpaths } = machOLoads(binding);
  const folder = bindingPath.slice(0, bindingPath.lastIndexOf('/') + 1);
  const problems = [];
  for (const lib of dylibs) {
    const m = /^@(rpath|loader_path)\/(.+)$/.exec(lib);
    if (!m) continue; // a system library (/usr/lib/..., /System/...)
    if (m[1] === 'rpath' && !rpaths.includes('@loader_path')) {
      problems.push(`${bindingPath} loads ${lib} but has no @loader_path rpath; cannot tell where it looks`);
    } else if (!inside.has(folder + m[2])) {
      problems.push(`${bindingPath} loads ${lib}, which is not in the VSIX`);
    }
  }
  return problems;
}

/** The DLLs a PE file (a Windows .dll or .node) imports: load-time imports and delay-loaded ones. */
export function peImports(bin) {
  if (bin.toString('latin1', 0, 2) !== 'MZ') throw new Error('not a PE file (no MZ header)');
  const pe = bin.readUInt32LE(0x3c);
  if (bin.readUInt32LE(pe) !== 0x4550) throw new Error('not a PE file (no PE signature)');
  const sections = bin.readUInt16LE(pe + 6);
  const optional = pe + 24;
  const magic = bin.readUInt16LE(optional);
  const directories = optional + (magic === 0x20b ? 112 : 96); // PE32+ or PE32
  const table = optional + bin.readUInt16LE(pe + 20);
  const offset = (rva) => {
    for (let i = 0; i < sections; i++) {
      const at = table + i * 40;
      const size = Math.max(bin.readUInt32LE(at + 8), bin.readUInt32LE(at + 16));
      const va = bin.readUInt32LE(at + 12);
      if (rva >= va && rva < va + size) return rva - va + bin.readUInt32LE(at + 20);
    }
    throw new Error(`RVA 0x${rva.toString(16)} is in no section`);
  };
  const names = (directory, stride, nameAt) => {
    const rva = bin.readUInt32LE(directories + directory * 8);
    if (rva === 0) return [];
    const out = [];
    for (let at = offset(rva); ; at += stride) {
      const nameRva = bin.readUInt32LE(at + nameAt);
      if (nameRva === 0) break;
      const from = offset(nameRva);
      out.push(bin.toString('latin1', from, bin.indexOf(0, from)));
    }
    return out;
  };
  // Import directory (1): 20-byte descriptors, name RVA at 12. Delay-import directory (13): 32 bytes, name at 4.
  return { imports: names(1, 20, 12), delayImports: names(13, 32, 4) };
}

/**
 * Every DLL a win32 PE file imports (at load or delay-loaded) that onnxruntime-node ships in its folder
 * (`shipped`, lower-case file names) must be in the VSIX beside it; the others are Windows's own.
 */
export function checkPEDependencies(bin, binPath, inside, shipped) {
  const { imports, delayImports } = peImports(bin);
  const folder = binPath.slice(0, binPath.lastIndexOf('/') + 1);
  const have = new Set([...inside].filter((p) => p.startsWith(folder)).map((p) => p.slice(folder.length).toLowerCase()));
  const problems = [];
  for (const dll of [...imports, ...delayImports]) {
    if (shipped.has(dll.toLowerCase()) && !have.has(dll.toLowerCase())) problems.push(`${binPath} imports ${dll}, which is not in the VSIX`);
  }
  return problems;
}

/** Reads a VSIX and runs every check on it. Returns { entries, problems }. */
export function verify(vsixPath, target, modelFiles) {
  const zip = readFileSync(vsixPath);
  const entries = readZipEntries(zip);
  const names = entries.map((e) => e.name);
  const problems = checkEntries(names, { target, bytes: zip.length, modelFiles });
  const manifest = entries.find((e) => e.name === 'extension.vsixmanifest');
  if (manifest && !readZipEntry(zip, manifest).toString('utf8').includes(`TargetPlatform="${target}"`)) {
    problems.push(`extension.vsixmanifest does not declare TargetPlatform="${target}"`);
  }
  if (TARGETS[target]?.os === 'darwin') {
    const path = `extension/${ORT_BIN}/darwin/${TARGETS[target].arch}/onnxruntime_binding.node`;
    const binding = entries.find((e) => e.name === path);
    if (binding) problems.push(...checkMachODependencies(readZipEntry(zip, binding), path, new Set(names)));
  }
  if (TARGETS[target]?.os === 'win32') {
    const folder = `${ORT_BIN}/win32/${TARGETS[target].arch}`;
    const shipped = new Set(readdirSync(join(repoRoot, folder)).map((f) => f.toLowerCase()));
    const inside = new Set(names);
    for (const file of ['onnxruntime_binding.node', 'onnxruntime.dll']) {
      const entry = entries.find((e) => e.name === `extension/${folder}/${file}`);
      if (!entry) problems.push(`missing ${folder}/${file}`);
      else problems.push(...checkPEDependencies(readZipEntry(zip, entry), entry.name, inside, shipped));
    }
  }
  return { entries, problems };
}

/** Model files that must ship: models.json and every *.onnx beside it. */
export function modelFilesIn(dir) {
  return readdirSync(dir).filter((f) => f === 'models.json' || f.endsWith('.onnx')).sort();
}

/**
 * A deliberately wrong VSIX listing must be rejected for each kind of mistake, so a check that
 * silently stopped working fails the packaging run instead of passing everything.
 */
export function selfCheck() {
  const good = ['[Content_Types].xml', 'extension.vsixmanifest', ...[...REQUIRED, 'models/a.onnx',
    `${ORT_BIN}/linux/x64/onnxruntime_binding.node`, 'node_modules/onnxruntime-node/package.json',
    'node_modules/onnxruntime-common/package.json', ...TREE_SITTER_FILES].map((p) => `extension/${p}`)];
  const options = { target: 'linux-x64', bytes: 1000, modelFiles: ['a.onnx', 'models.json'] };
  const failures = [];
  if (checkEntries(good, options).length) failures.push(`a complete listing was rejected: ${checkEntries(good, options)[0]}`);
  const wrong = [
    [good.filter((n) => n !== 'extension/dist/host.js'), 'missing dist/host.js'],
    [good.filter((n) => n !== `extension/${NOTICES_FILE}`), 'no third-party notices'],
    [good.filter((n) => !n.endsWith('/tree-sitter-python.wasm')), 'a missing grammar'],
    [[...good, 'extension/src/extension/extension.ts'], 'a source file'],
    [[...good, `extension/${ORT_BIN}/win32/x64/onnxruntime.dll`], 'another platform binary'],
    [[...good, 'extension/models/training/train.py'], 'training code'],
    [[...good, 'extension/dist/host.js.map'], 'a source map'],
    [[...good, 'extension/node_modules/adm-zip/package.json'], 'an install-only package'],
  ];
  for (const [names, what] of wrong) {
    if (checkEntries(names, options).length === 0) failures.push(`a listing with ${what} passed`);
  }
  if (checkEntries(good, { ...options, bytes: LIMIT_BYTES + 1 }).length === 0) failures.push('an oversized VSIX passed');
  return failures;
}

function run(command, args, env = process.env) {
  return new Promise((resolvePromise) => {
    const child = spawn(command, args, { cwd: repoRoot, env, stdio: 'inherit' });
    child.on('error', (err) => { console.error(`[package] cannot run ${command}: ${err.message}`); resolvePromise(1); });
    child.on('exit', (code, signal) => resolvePromise(code ?? (signal ? 1 : 0)));
  });
}

/** Production packages as npm installed them (package-lock.json, entries not marked dev): what vsce packs. */
export function productionPackages(lock) {
  const names = new Set();
  for (const [key, info] of Object.entries(lock.packages ?? {})) {
    const m = /^node_modules\/((?:@[^/]+\/)?[^/]+)$/.exec(key);
    if (m && !info.dev) names.add(m[1]);
  }
  return [...names].sort();
}

function fail(message) {
  console.error(`[package] FAILED: ${message}`);
  process.exit(1);
}

function parseArgs(argv) {
  const args = { targets: Object.keys(TARGETS), out: join(repoRoot, 'vsix'), build: true, vscode: true, verify: undefined, target: undefined };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => { const v = argv[++i]; if (v === undefined) fail(`${a} needs a value`); return v; };
    if (a === '--targets') args.targets = value().split(',').filter(Boolean);
    else if (a === '--out') args.out = resolve(value());
    else if (a === '--no-build') args.build = false;
    else if (a === '--no-vscode') args.vscode = false;
    else if (a === '--verify') args.verify = resolve(value());
    else if (a === '--target') args.target = value();
    else fail(`unknown option ${a} (see the comment at the top of scripts/package.mjs)`);
  }
  for (const t of args.targets) if (!TARGETS[t]) fail(`unknown target ${t} (known: ${Object.keys(TARGETS).join(', ')})`);
  return args;
}

function report(vsix, target, result) {
  const bytes = statSync(vsix).size;
  const status = result.problems.length ? `${result.problems.length} problem(s)` : 'ok';
  console.log(`[package] ${target}: ${relative(repoRoot, vsix)} ${mb(bytes)} (${bytes} bytes, ${result.entries.length} entries, limit ${mb(LIMIT_BYTES)}): ${status}`);
  for (const p of result.problems) console.log(`[package]   ${target}: ${p}`);
}

async function main() {
  const started = Date.now();
  const args = parseArgs(process.argv.slice(2));
  const selfFailures = selfCheck();
  if (selfFailures.length) fail(`the VSIX checks are broken: ${selfFailures.join('; ')}`);
  const modelFiles = modelFilesIn(join(repoRoot, 'models'));

  if (args.verify) {
    if (!args.target || !TARGETS[args.target]) fail('--verify needs --target <one of ' + Object.keys(TARGETS).join(', ') + '>');
    const result = verify(args.verify, args.target, modelFiles);
    report(args.verify, args.target, result);
    process.exit(result.problems.length ? 1 : 0);
  }

  if (args.build) {
    // Minified bundles (no source maps ship anyway): the Windows ARM VSIX sits near its 40 MB limit.
    console.log('[package] building (node scripts/build.mjs --production)');
    if (await run(process.execPath, [join(repoRoot, 'scripts', 'build.mjs'), '--production']) !== 0) fail('the build failed');
  }
  const vsce = join(repoRoot, 'node_modules', '@vscode', 'vsce', 'vsce');
  if (!existsSync(vsce)) fail(`${vsce} is missing: run npm install (@vscode/vsce is a devDependency)`);
  const manifest = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8'));
  const baseIgnore = readFileSync(join(repoRoot, '.vscodeignore'), 'utf8');
  const packages = productionPackages(JSON.parse(readFileSync(join(repoRoot, 'package-lock.json'), 'utf8')));
  mkdirSync(args.out, { recursive: true });
  const temp = mkdtempSync(join(tmpdir(), 'megacontext-package-'));
  const built = [];
  let failed = false;
  try {
    for (const target of args.targets) {
      const ignoreFile = join(temp, `${target}.vscodeignore`);
      writeFileSync(ignoreFile, ignoreFileFor(target, baseIgnore, packages));
      const vsix = join(args.out, `${manifest.name}-${target}-${manifest.version}.vsix`);
      rmSync(vsix, { force: true });
      const t0 = Date.now();
      console.log(`[package] ${target}: vsce package --target ${target}`);
      // --no-rewrite-relative-links: package.json has no repository URL to rewrite README links against;
      // the README's relative links resolve inside the installed extension instead.
      const code = await run(process.execPath, [vsce, 'package', '--target', target, '--ignoreFile', ignoreFile, '--out', vsix,
        '--allow-missing-repository', '--no-rewrite-relative-links']);
      if (code !== 0 || !existsSync(vsix)) fail(`vsce package --target ${target} exited with ${code}`);
      const result = verify(vsix, target, modelFiles);
      report(vsix, target, result);
      console.log(`[package] ${target}: packed and verified in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      if (result.problems.length) failed = true;
      if (!result.entries.some((e) => /^extension\/licen[cs]e(\.(md|txt))?$/i.test(e.name))) {
        console.log(`[package] FAIL ${target}: no LICENSE file in the VSIX although package.json says "${manifest.license}"`);
        failed = true;
      }
      built.push({ target, vsix });
    }
  } finally {
    rmSync(temp, { recursive: true, force: true });
  }
  console.log('[package] sizes:');
  for (const { target, vsix } of built) console.log(`[package]   ${target.padEnd(13)} ${mb(statSync(vsix).size).padStart(8)}  ${relative(repoRoot, vsix)}`);
  if (failed) fail('at least one VSIX failed its checks (see the lines above)');

  const host = `${process.platform}-${process.arch}`;
  const own = built.find((b) => b.target === host);
  if (!args.vscode) console.log('[package] --no-vscode: not running the VS Code suite against the installed VSIX');
  else if (!own) console.log(`[package] no VSIX for this machine (${host}) was built: the VS Code suite against an installed VSIX is skipped`);
  else {
    console.log(`[package] VS Code suite against the installed ${basename(own.vsix)}`);
    const code = await run(process.execPath, [join(repoRoot, 'out', 'test', 'vscode', 'runCodeServer.js')],
      { ...process.env, MEGACONTEXT_VSIX: own.vsix });
    if (code !== 0) fail(`the VS Code suite failed against the installed ${basename(own.vsix)} (exit ${code})`);
  }
  console.log(`[package] done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main().catch((err) => fail(err instanceof Error ? err.message : String(err)));
}
