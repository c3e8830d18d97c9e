// The engine contacts nothing on the network: the host (dist/host.js, real models) is started with a
// preload (test/unit/support/noNetwork.cjs, through NODE_OPTIONS) that records and refuses every
// JavaScript-level network call, then indexes, focuses, expands, appends, reports status and flushes;
// not one attempt may be recorded. On Linux the host's open sockets are also read from /proc, which sees
// what native code (onnxruntime) might open: the only socket allowed is the IPC channel (AF_UNIX).
// Positive controls prove that the preload loaded in the host and that it records each kind of attempt.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { EngineClient } from '../../src/extension/engineClient';

const repo = resolve(__dirname, '..', '..', '..');
const hostPath = join(repo, 'dist', 'host.js');
// A plain .cjs file: read from the source tree (the build transpiles only .ts into out/).
const preload = join(repo, 'test', 'unit', 'support', 'noNetwork.cjs');

interface NetRecord { pid: number; loaded?: boolean; attempt?: string; args?: unknown[] }

function readLog(file: string): NetRecord[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as NetRecord);
}

function nodeOptions(): string {
  return `${process.env.NODE_OPTIONS ?? ''} --require ${JSON.stringify(preload)}`.trim();
}

/** Inodes of inet sockets (TCP, UDP, raw; v4 and v6) listed in /proc/<pid>/net/*: the process's network namespace. */
function inetInodes(pid: number): Set<string> {
  const inodes = new Set<string>();
  for (const table of ['tcp', 'tcp6', 'udp', 'udp6', 'raw', 'raw6', 'udplite', 'udplite6']) {
    let text: string;
    try { text = readFileSync(`/proc/${pid}/net/${table}`, 'utf8'); } catch { continue; }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length > 9) inodes.add(cols[9]);
    }
  }
  return inodes;
}

/** The process's open sockets, split into inet ones and the rest (AF_UNIX: pipes to its parent). */
function openSockets(pid: number): { inet: string[]; other: string[] } {
  const inet = inetInodes(pid);
  const out = { inet: [] as string[], other: [] as string[] };
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    let target: string;
    try { target = readlinkSync(`/proc/${pid}/fd/${fd}`); } catch { continue; }
    const m = /^socket:\[(\d+)\]$/.exec(target);
    if (m) (inet.has(m[1]) ? out.inet : out.other).push(`fd ${fd} ${target}`);
  }
  return out;
}

// npm test builds first: a missing host is a failure, never a silent skip.
assert.ok(existsSync(hostPath), 'dist/host.js is missing: run npm run build');
const procReadable = process.platform === 'linux' && existsSync(`/proc/${process.pid}/fd`);

test('the engine host makes no network attempt while indexing, focusing, expanding and saving', async (t) => {
  const base = mkdtempSync(join(tmpdir(), 'mc-nonet-'));
  const workspace = join(base, 'workspace');
  const storeDir = join(base, 'store');
  const logFile = join(base, 'net.jsonl');
  mkdirSync(join(workspace, 'src'), { recursive: true });
  mkdirSync(storeDir);
  writeFileSync(join(workspace, 'src', 'fetcher.ts'), [
    '// Downloads exchange rates. Mentions of https://api.example.com/rates and fetch() are just text.',
    "export async function rates(): Promise<unknown> { return (await fetch('https://api.example.com/rates')).json(); }",
    "export const endpoint = 'wss://stream.example.com/ticks';",
    '',
  ].join('\n'));
  writeFileSync(join(workspace, 'src', 'pricing.ts'), 'export function total(xs: number[]): number { return xs.reduce((a, b) => a + b, 0); }\n');
  writeFileSync(join(workspace, 'README.md'), '# Shop\n\nSee http://localhost:8080 for the dev server and git@github.com:org/shop.git for the code.\n');

  const engine = new EngineClient({
    hostPath,
    env: { NODE_OPTIONS: nodeOptions(), MEGACONTEXT_NET_LOG: logFile, MEGACONTEXT_STORE_DIR: storeDir },
    requestTimeoutMs: 300_000,
    startTimeoutMs: 60_000,
  });
  t.after(() => { engine.dispose(); rmSync(base, { recursive: true, force: true }); });

  const info = await engine.request('runtimeInfo', {});
  const index = await engine.request('index', { roots: [workspace] });
  assert.equal(index.files, 3);
  for (const budget of [256, 2048]) {
    const r = await engine.request('focus', { query: 'where are exchange rates downloaded from?', budget });
    assert.ok(r.prompt.length > 0);
  }
  const expanded = await engine.request('expand', { path: join(workspace, 'src', 'fetcher.ts'), startLine: 1, endLine: 3 });
  assert.match(expanded.text, /api\.example\.com/);
  await engine.request('appendChat', { session: 'net', text: 'User: fetch https://example.com please\nAssistant: No.\n\n' });
  await engine.request('remember', { note: 'The rates API is https://api.example.com/rates' });
  await engine.request('updateFiles', { roots: [workspace], changed: [{ path: join(workspace, 'src', 'pricing.ts'), text: 'export const zero = 0;\n' }], deleted: [] });
  const status = await engine.request('status', {});
  assert.equal(status.degraded, false, 'the models loaded: the real engine ran');
  await engine.request('flush', {});
  const pid = engine.pid;
  assert.ok(pid !== undefined && pid === info.pid, 'the host that answered is the one we started');

  const sockets = procReadable ? openSockets(pid) : undefined;
  const records = readLog(logFile);

  await t.test('positive control: the preload loaded in the host process itself', () => {
    assert.ok(records.some((r) => r.loaded && r.pid === pid), `no "loaded" line from the host (pid ${pid}): ${JSON.stringify(records)}`);
  });

  await t.test('no network attempt was recorded', () => {
    const attempts = records.filter((r) => r.attempt);
    assert.deepEqual(attempts, []);
  });

  await t.test('the host holds no inet socket, only its IPC channel (Linux /proc)', { skip: sockets ? false : 'needs Linux /proc' }, () => {
    assert.deepEqual(sockets!.inet, [], 'inet sockets of the host');
    assert.ok(sockets!.other.length >= 1, 'the IPC channel shows as a socket: the check sees sockets at all');
  });
});

// ---- optional extra evidence: strace, when the machine has it (never a dependency) ----------------

/** connect/sendto/sendmsg calls in an strace log that name a network or socket-file address. */
function addressedCalls(log: string): string[] {
  return log.split('\n').filter((l) => /\b(connect|sendto|sendmsg)\(/.test(l) && /sa_family=AF_(INET6?|UNIX|NETLINK|PACKET)|sun_path|sin6?_addr/.test(l));
}

const straceWorks = process.platform === 'linux' && spawnSync('strace', ['-f', '-qq', '--seccomp-bpf', '-e', 'trace=connect', '-o', '/dev/null', 'true']).status === 0;

test('extra evidence: under strace, the engine host makes no addressed connect or send at all (native code included)', { skip: straceWorks ? false : 'strace is not installed or ptrace is not permitted (optional check)' }, async (t) => {
  const base = mkdtempSync(join(tmpdir(), 'mc-strace-'));
  const workspace = join(base, 'workspace');
  const trace = join(base, 'trace.log');
  mkdirSync(join(workspace, 'src'), { recursive: true });
  writeFileSync(join(workspace, 'src', 'a.ts'), 'export const rates = () => fetch("https://api.example.com/rates");\n'.repeat(40));
  // strace passes the IPC descriptor and NODE_CHANNEL_FD through to node, so the host talks to us as usual.
  const child = spawn('strace', ['-f', '-qq', '--seccomp-bpf', '-e', 'trace=connect,sendto,sendmsg,openat', '-o', trace, process.execPath, hostPath], {
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    serialization: 'json',
    env: { ...process.env, MEGACONTEXT_STORE_DIR: join(base, 'store'), ELECTRON_RUN_AS_NODE: '1' },
  });
  t.after(() => { if (child.exitCode === null) child.kill(); rmSync(base, { recursive: true, force: true }); });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => { stderr += c.toString(); });
  const waiting = new Map<number, (m: { result?: unknown; error?: { message: string } }) => void>();
  let ready!: () => void;
  const isReady = new Promise<void>((done) => { ready = done; });
  child.on('message', (m: { kind: string; id: number; result?: unknown; error?: { message: string } }) => {
    if (m.kind === 'ready') ready();
    else if (m.kind === 'response') waiting.get(m.id)?.(m);
  });
  let nextId = 1;
  const call = (method: string, params: unknown) => new Promise<unknown>((done, fail) => {
    const id = nextId++;
    waiting.set(id, (m) => (m.error ? fail(new Error(`${method}: ${m.error.message}`)) : done(m.result)));
    child.send({ kind: 'request', id, method, params });
  });
  await Promise.race([isReady, new Promise((_, fail) => child.on('exit', () => fail(new Error(`the host under strace exited: ${stderr}`))))]);
  await call('index', { roots: [workspace] });
  await call('focus', { query: 'exchange rates', budget: 1024 });
  await call('expand', { path: join(workspace, 'src', 'a.ts'), startLine: 1, endLine: 2 });
  await call('flush', {});
  child.disconnect();
  await new Promise((done) => child.on('exit', done));
  const log = readFileSync(trace, 'utf8');
  assert.ok(/openat\(.*\.onnx"/.test(log), 'the trace saw the host open its models: strace traced the engine');
  assert.deepEqual(addressedCalls(log), []);
  // Control: the same filter flags a real connect.
  assert.equal(addressedCalls('123 connect(19, {sa_family=AF_INET, sin_port=htons(9), sin_addr=inet_addr("127.0.0.1")}, 16) = -1 EINPROGRESS').length, 1);
});

test('positive control: the preload records (and refuses) each kind of network attempt', () => {
  const base = mkdtempSync(join(tmpdir(), 'mc-nonet-control-'));
  const logFile = join(base, 'net.jsonl');
  try {
    const script = `
      const net = require('node:net'), dgram = require('node:dgram'), dns = require('node:dns'), https = require('node:https'), tls = require('node:tls');
      net.connect(9, '127.0.0.1').on('error', () => {});
      tls.connect(9, '127.0.0.1').on('error', () => {});
      https.get('https://127.0.0.1:9/').on('error', () => {});
      const u = dgram.createSocket('udp4'); u.send('x', 9, '127.0.0.1', () => u.close());
      dns.lookup('example.invalid', () => {});
      dns.promises.resolve4('example.invalid').catch(() => {});
      fetch('http://127.0.0.1:9/').catch(() => {});
      setTimeout(() => {}, 200);`;
    const r = spawnSync(process.execPath, ['-e', script], {
      env: { ...process.env, NODE_OPTIONS: nodeOptions(), MEGACONTEXT_NET_LOG: logFile },
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(r.status, 0, r.stderr);
    const kinds = new Set(readLog(logFile).map((x) => x.attempt).filter(Boolean));
    for (const k of ['net.Socket.connect', 'tls.connect', 'https.get', 'dgram.send', 'dns.lookup', 'dns.promises.resolve4', 'fetch']) {
      assert.ok(kinds.has(k), `${k} was not recorded: ${[...kinds].join(', ')}`);
    }
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});

test('positive control: the /proc check sees an inet socket when a process holds one', { skip: procReadable ? false : 'needs Linux /proc' }, async () => {
  const dgram = await import('node:dgram');
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((done) => socket.bind(0, '127.0.0.1', () => done()));
  try {
    assert.ok(openSockets(process.pid).inet.length >= 1, 'a bound UDP socket of this process is seen as inet');
  } finally {
    socket.close();
  }
});
