// Runs the in-VS-Code test suite (test/vscode/suite) inside a real VS Code workbench and extension
// host without downloading VS Code: the npm package `code-server` carries a complete VS Code, which we
// serve on loopback and drive with Debian's Chromium through playwright-core. See TESTING.md,
// "Real VS Code in tests, without downloading VS Code", for the recipe this follows step by step.
//
// Environment:
//   MEGACONTEXT_CODE_SERVER   use this code-server instead of installing one: its `out/node/entry.js`,
//                             its package folder, or an executable launcher (a standalone release's bin).
//   MEGACONTEXT_CHROMIUM      the browser to drive (default /usr/bin/chromium).
//   MEGACONTEXT_TEST_TIMEOUT  seconds to wait for the suite's exit code (default 180).
//   MEGACONTEXT_KEEP_TEMP=1   keep the temporary user-data/extensions folders and logs for inspection.
//   MEGACONTEXT_SCREENSHOT    write a screenshot of the workbench to this path when the suite ends.
//   MEGACONTEXT_UNTRUSTED=1   restricted mode: workspace trust on, the workspace untrusted, only untrusted.test.js runs.
//   MEGACONTEXT_VSIX          test this packaged VSIX instead of the development folder: it is installed
//                             with `code-server --install-extension` into the temporary extensions folder
//                             and the repository is not passed as a development path. The extension host
//                             runs tests only beside a development path, so the fake-model extension is
//                             passed as that one. The suite sees MEGACONTEXT_EXTENSIONS_DIR (installed.test.ts).
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { cpSync, existsSync, mkdtempSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync, createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

const CODE_SERVER_VERSION = '4.139.1';
const NODE_MAJOR = 24;

const repoRoot = resolve(__dirname, '..', '..', '..');
const cacheDir = join(repoRoot, '.vscode-test');
const extensionTestsPath = join(repoRoot, 'out', 'test', 'vscode', 'suite', 'index.js');
const workspaceDir = join(repoRoot, 'test', 'fixtures', 'workspace');
/** A test-only extension that registers a fake connected chat model (see its extension.js). */
const fakeModelExtension = join(repoRoot, 'test', 'vscode', 'fake-model-extension');
const chromiumPath = process.env.MEGACONTEXT_CHROMIUM || '/usr/bin/chromium';
const timeoutMs = Number(process.env.MEGACONTEXT_TEST_TIMEOUT || 180) * 1000;
const vsixPath = process.env.MEGACONTEXT_VSIX ? resolve(process.env.MEGACONTEXT_VSIX) : undefined;
/** Restricted mode: workspace trust on, the fixture folder untrusted, and only untrusted.test.js runs. */
const untrusted = process.env.MEGACONTEXT_UNTRUSTED === '1';

class SetupError extends Error {}

function log(line: string): void {
  process.stdout.write(`[runCodeServer] ${line}\n`);
}

function seconds(since: number): string {
  return `${((Date.now() - since) / 1000).toFixed(1)} s`;
}

/** Runs a command, streaming its output with a prefix; rejects on a non-zero exit. */
function exec(command: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    const tail: string[] = [];
    const onData = (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) {
        if (!line.trim()) continue;
        tail.push(line);
        if (tail.length > 40) tail.shift();
        process.stdout.write(`    ${line}\n`);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('error', (err) => reject(new SetupError(`cannot run ${command}: ${err.message}`)));
    child.on('exit', (code, signal) => {
      if (code === 0) resolvePromise();
      else reject(new SetupError(`${command} ${args.join(' ')} failed (${signal ?? `exit ${code}`}) in ${options.cwd}`));
    });
  });
}

/** npm as found on PATH, run by the given node so that install scripts see that node. */
function npmCommand(node: string): { command: string; prefixArgs: string[] } {
  const execpath = process.env.npm_execpath;
  if (execpath && /npm-cli\.js$/.test(execpath) && existsSync(execpath)) return { command: node, prefixArgs: [execpath] };
  return { command: 'npm', prefixArgs: [] };
}

/** Step 1: a Node 24 binary, from the npm package node-<platform>-<arch>@24 unless we already run on 24+. */
async function ensureNode24(): Promise<string> {
  if (Number(process.versions.node.split('.')[0]) >= NODE_MAJOR) return process.execPath;
  const platform = process.platform === 'win32' ? 'win' : process.platform;
  const pkg = `node-${platform}-${process.arch}`;
  const prefix = join(cacheDir, 'node24');
  const pkgDir = join(prefix, 'node_modules', pkg);
  const node = join(pkgDir, 'bin', process.platform === 'win32' ? 'node.exe' : 'node');
  if (existsSync(node)) return node;
  const started = Date.now();
  log(`installing Node ${NODE_MAJOR} (npm package ${pkg}@${NODE_MAJOR}) into ${prefix}`);
  mkdirSync(prefix, { recursive: true });
  const npm = npmCommand(process.execPath);
  await exec(npm.command, [...npm.prefixArgs, 'install', '--prefix', prefix, '--no-save', '--no-package-lock',
    '--no-audit', '--no-fund', `${pkg}@${NODE_MAJOR}`], { cwd: prefix, env: process.env });
  if (!existsSync(node)) throw new SetupError(`${pkg}@${NODE_MAJOR} installed but ${node} is missing`);
  log(`Node ${NODE_MAJOR} installed in ${seconds(started)}`);
  return node;
}

interface CodeServer {
  /** The program to spawn and the arguments that precede code-server's own. */
  command: string;
  args: string[];
}

/** Steps 2–3: code-server@4.139.1 installed with Node 24 into .vscode-test/code-server (idempotent). */
async function ensureCodeServer(node24: string): Promise<CodeServer> {
  const override = process.env.MEGACONTEXT_CODE_SERVER;
  if (override) {
    if (!existsSync(override)) throw new SetupError(`MEGACONTEXT_CODE_SERVER=${override} does not exist`);
    if (statSync(override).isDirectory()) return { command: node24, args: [join(override, 'out', 'node', 'entry.js')] };
    if (override.endsWith('.js')) return { command: node24, args: [override] };
    return { command: override, args: [] };
  }
  const prefix = join(cacheDir, 'code-server');
  const pkgDir = join(prefix, 'node_modules', 'code-server');
  const entry = join(pkgDir, 'out', 'node', 'entry.js');
  const marker = join(prefix, '.installed');
  const installed = () => existsSync(entry) && existsSync(join(pkgDir, 'lib', 'vscode', 'node_modules'));
  if (existsSync(marker) && readFileSync(marker, 'utf8').trim() === CODE_SERVER_VERSION && installed()) {
    return { command: node24, args: [entry] };
  }
  for (const tool of ['make', 'g++', 'python3']) {
    if (!onPath(tool)) throw new SetupError(`'${tool}' is not installed; code-server's native modules need build-essential (apt-get install build-essential libx11-dev libxkbfile-dev libsecret-1-dev libkrb5-dev)`);
  }
  const started = Date.now();
  log(`installing code-server@${CODE_SERVER_VERSION} into ${prefix} (takes a few minutes, once)`);
  rmSync(marker, { force: true });
  mkdirSync(prefix, { recursive: true });
  const nodeDir = resolve(node24, '..', '..');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: `${resolve(node24, '..')}:${process.env.PATH ?? ''}`,
    npm_config_nodedir: nodeDir,
    npm_config_user_agent: `npm/11 node/v${NODE_MAJOR} ${process.platform} ${process.arch} workspaces/false`,
  };
  const npm = npmCommand(node24);
  await exec(npm.command, [...npm.prefixArgs, 'install', '--prefix', prefix, '--no-save', '--no-package-lock',
    '--no-audit', '--no-fund', `code-server@${CODE_SERVER_VERSION}`], { cwd: prefix, env });
  if (!existsSync(entry)) throw new SetupError(`code-server installed but ${entry} is missing`);
  if (!installed()) {
    // npm 11 may skip the package's own install script; postinstall.sh installs VS Code's modules.
    log('lib/vscode/node_modules is missing: running code-server\'s postinstall.sh');
    await exec('sh', ['./postinstall.sh'], { cwd: pkgDir, env });
    if (!installed()) throw new SetupError(`code-server's postinstall.sh ran but ${join(pkgDir, 'lib', 'vscode', 'node_modules')} is still missing`);
  }
  writeFileSync(marker, `${CODE_SERVER_VERSION}\n`);
  log(`code-server installed in ${seconds(started)}`);
  return { command: node24, args: [entry] };
}

function onPath(tool: string): boolean {
  return (process.env.PATH ?? '').split(':').some((dir) => dir && existsSync(join(dir, tool)));
}

function freePort(): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePromise(port));
    });
  });
}

async function waitForHttp(url: string, child: ChildProcess, deadline: number): Promise<void> {
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new SetupError(`code-server exited early (${child.signalCode ?? `exit ${child.exitCode}`}); see its log above`);
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch { /* not listening yet */ }
    await delay(250);
  }
  throw new SetupError(`code-server did not answer ${url} in time`);
}

function killTree(child: ChildProcess | undefined): void {
  if (!child || child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try { process.kill(-child.pid, 'SIGKILL'); } catch { try { child.kill('SIGKILL'); } catch { /* gone */ } }
}

async function main(): Promise<number> {
  if (!existsSync(chromiumPath)) throw new SetupError(`Chromium not found at ${chromiumPath}: apt-get install chromium (or set MEGACONTEXT_CHROMIUM)`);

  const setupStarted = Date.now();
  const node24 = await ensureNode24();
  const codeServer = await ensureCodeServer(node24);
  log(`setup ready in ${seconds(setupStarted)}`);

  if (!existsSync(extensionTestsPath)) throw new SetupError(`${extensionTestsPath} is missing: run npm run build first`);
  if (vsixPath) {
    if (!existsSync(vsixPath)) throw new SetupError(`MEGACONTEXT_VSIX=${vsixPath} does not exist (npm run package builds it)`);
  } else if (!existsSync(join(repoRoot, 'dist', 'extension.js'))) throw new SetupError('dist/extension.js is missing: run npm run build first');
  if (!existsSync(workspaceDir)) throw new SetupError(`fixture workspace ${workspaceDir} is missing`);

  const temp = mkdtempSync(join(tmpdir(), 'megacontext-vscode-'));
  const userDataDir = join(temp, 'user-data');
  const extensionsDir = join(temp, 'extensions');
  const testLog = join(temp, 'suite.log');
  mkdirSync(userDataDir);
  mkdirSync(extensionsDir);
  // The web workbench keeps one extensionDevelopmentPath from the payload (it is read into a Map), so
  // the test-only extension is installed instead: copied into the extensions folder before start.
  // Testing a VSIX, the product is the installed one and the fake-model extension is the development path.
  if (vsixPath) {
    await installVsix(codeServer, vsixPath, extensionsDir, userDataDir);
  } else {
    const fakeManifest = JSON.parse(readFileSync(join(fakeModelExtension, 'package.json'), 'utf8')) as { publisher: string; name: string; version: string };
    cpSync(fakeModelExtension, join(extensionsDir, `${fakeManifest.publisher}.${fakeManifest.name}-${fakeManifest.version}`), { recursive: true });
  }
  // Settings that keep the workbench quiet and deterministic.
  mkdirSync(join(userDataDir, 'User'), { recursive: true });
  writeFileSync(join(userDataDir, 'User', 'settings.json'), JSON.stringify({
    'workbench.startupEditor': 'none',
    'telemetry.telemetryLevel': 'off',
    'extensions.autoCheckUpdates': false,
    'extensions.autoUpdate': false,
    'update.mode': 'none',
    // Index well after the activation tests have looked at the untouched state. Untrusted: at once, so
    // the test sees that the scheduled index does not run.
    'megacontext.indexDelaySeconds': untrusted ? 1 : 20,
  }, null, 2));

  let server: ChildProcess | undefined;
  let browser: import('playwright-core').Browser | undefined;
  const cleanup = async () => {
    try { await browser?.close(); } catch { /* already gone */ }
    killTree(server);
    if (!process.env.MEGACONTEXT_KEEP_TEMP) rmSync(temp, { recursive: true, force: true });
    else log(`kept ${temp}`);
  };
  const onSignal = (signal: NodeJS.Signals) => { void cleanup().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143)); };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    const port = await freePort();
    const serverLog = createWriteStream(join(temp, 'code-server.log'));
    server = spawn(codeServer.command, [...codeServer.args,
      '--auth', 'none',
      '--bind-addr', `127.0.0.1:${port}`,
      '--disable-telemetry',
      '--disable-update-check',
      ...(untrusted ? [] : ['--disable-workspace-trust']),
      '--user-data-dir', userDataDir,
      '--extensions-dir', extensionsDir,
      '--vscode-option', 'enable-smoke-test-driver',
      workspaceDir,
    ], {
      cwd: repoRoot,
      detached: true, // own process group, so the extension host and the engine host die with it
      stdio: ['ignore', 'pipe', 'pipe'],
      // The extension host inherits this environment; the suite appends its report to MEGACONTEXT_TEST_LOG.
      env: {
        ...process.env, MEGACONTEXT_TEST_LOG: testLog, ELECTRON_RUN_AS_NODE: undefined,
        MEGACONTEXT_SUITE: untrusted ? 'untrusted' : 'trusted',
        MEGACONTEXT_EXTENSIONS_DIR: vsixPath ? extensionsDir : undefined,
        // A packaged extension is tested with the models it ships, never a folder named from outside.
        MEGACONTEXT_MODELS_DIR: vsixPath ? undefined : process.env.MEGACONTEXT_MODELS_DIR,
      },
    });
    server.stdout!.pipe(serverLog);
    server.stderr!.pipe(serverLog);
    const serverStarted = Date.now();
    await waitForHttp(`http://127.0.0.1:${port}/healthz`, server, Date.now() + 60_000);
    log(`code-server ${CODE_SERVER_VERSION} listening on 127.0.0.1:${port} after ${seconds(serverStarted)}`);

    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({
      executablePath: chromiumPath,
      headless: true,
      args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
        '--disable-sync', '--no-first-run', '--disable-dev-shm-usage'],
    });
    const page = await browser.newPage();

    let settle: (code: number) => void = () => undefined;
    const exitCode = new Promise<number>((r) => { settle = r; });
    await page.exposeFunction('codeAutomationLog', (type: string, args: unknown[]) => {
      if (type !== 'error') return;
      const text = (Array.isArray(args) ? args : [args]).map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' ');
      // Lookups of open-vsx, GitHub auth and telemetry fail offline and are harmless (TESTING.md).
      if (/open-vsx|authentication provider 'github'|ENOTFOUND/.test(text)) return;
      process.stdout.write(`[vscode:error] ${text.split('\n')[0]!.slice(0, 300)}\n`);
    });
    await page.exposeFunction('codeAutomationExit', (code: number) => { settle(Number(code)); });
    page.on('pageerror', (err) => log(`page error: ${err.message}`));

    const remote = (p: string) => `vscode-remote://127.0.0.1:${port}${p}`;
    const payload = [
      ['extensionDevelopmentPath', remote(vsixPath ? fakeModelExtension : repoRoot)],
      ['extensionTestsPath', remote(extensionTestsPath)],
    ];
    const url = `http://127.0.0.1:${port}/?folder=${encodeURIComponent(workspaceDir)}&payload=${encodeURIComponent(JSON.stringify(payload))}`;
    const suiteStarted = Date.now();
    await page.goto(url);
    log(`workbench opened; waiting up to ${timeoutMs / 1000} s for the suite`);

    // Stream the suite's own report while it runs.
    let printed = 0;
    const pump = () => {
      if (!existsSync(testLog)) return;
      const text = readFileSync(testLog, 'utf8');
      if (text.length > printed) { process.stdout.write(text.slice(printed)); printed = text.length; }
    };
    const ticker = setInterval(pump, 200);
    const timeout = delay(timeoutMs).then(() => -1);
    const code = await Promise.race([exitCode, timeout]);
    clearInterval(ticker);
    await delay(100);
    pump();
    if (code === -1) {
      log(`TIMEOUT: the suite did not finish within ${timeoutMs / 1000} s`);
      if (printed === 0) log('the suite never started: the extension under test or the test payload was not loaded (check --vscode-option enable-smoke-test-driver and the code-server log)');
      await dumpServerLog(join(temp, 'code-server.log'));
      await page.screenshot({ path: join(temp, 'timeout.png') }).catch(() => undefined);
      process.env.MEGACONTEXT_KEEP_TEMP = '1';
      return 1;
    }
    log(`suite exited with code ${code} after ${seconds(suiteStarted)}`);
    if (process.env.MEGACONTEXT_SCREENSHOT) await page.screenshot({ path: process.env.MEGACONTEXT_SCREENSHOT }).catch(() => undefined);
    if (code !== 0) await dumpServerLog(join(temp, 'code-server.log'));
    return code;
  } finally {
    await cleanup();
  }
}

/** `code-server --install-extension` into the temporary folders; checks the extension landed there. */
async function installVsix(codeServer: CodeServer, vsix: string, extensionsDir: string, userDataDir: string): Promise<void> {
  const started = Date.now();
  log(`installing ${vsix} into ${extensionsDir}`);
  await exec(codeServer.command, [...codeServer.args, '--extensions-dir', extensionsDir, '--user-data-dir', userDataDir,
    '--install-extension', vsix], { cwd: repoRoot, env: { ...process.env, ELECTRON_RUN_AS_NODE: undefined } });
  const manifest = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { publisher: string; name: string };
  const prefix = `${manifest.publisher}.${manifest.name}-`.toLowerCase();
  const folder = readdirSync(extensionsDir).find((name) => name.toLowerCase().startsWith(prefix));
  if (!folder) throw new SetupError(`code-server --install-extension ${vsix} exited 0 but no ${prefix}* folder is in ${extensionsDir}`);
  log(`installed as ${join(extensionsDir, folder)} in ${seconds(started)}`);
}

async function dumpServerLog(path: string): Promise<void> {
  await delay(100);
  if (!existsSync(path)) return;
  const lines = readFileSync(path, 'utf8').split('\n').filter(Boolean).slice(-60);
  log(`last lines of the code-server log:\n${lines.map((l) => `    ${l}`).join('\n')}`);
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof SetupError) process.stderr.write(`[runCodeServer] error: ${err.message}\n`);
    else process.stderr.write(`[runCodeServer] error: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    process.exit(1);
  },
);
