// Preload (`node --require` or NODE_OPTIONS) for test/unit/network.test.ts: records and refuses every
// way a Node process reaches the network from JavaScript — TCP/TLS/HTTP(S)/HTTP2 connects, UDP sends,
// DNS queries, fetch, WebSocket — appending one JSON line per attempt to $MEGACONTEXT_NET_LOG (stderr
// when unset). Node's own IPC channel to the parent is a pipe opened by the runtime, not a connect, so
// it keeps working. The first line a process writes says it loaded, so a test can prove the preload ran.
'use strict';
const fs = require('node:fs');
const net = require('node:net');
const tls = require('node:tls');
const http = require('node:http');
const https = require('node:https');
const http2 = require('node:http2');
const dgram = require('node:dgram');
const dns = require('node:dns');

const logFile = process.env.MEGACONTEXT_NET_LOG;

function write(entry) {
  const line = JSON.stringify({ pid: process.pid, ...entry }) + '\n';
  if (logFile) fs.appendFileSync(logFile, line);
  else process.stderr.write(`[noNetwork] ${line}`);
}

function describe(args) {
  return args.map((a) => {
    if (typeof a === 'function') return '<callback>';
    if (a instanceof URL) return a.href;
    if (a && typeof a === 'object') {
      const o = {};
      for (const k of ['href', 'protocol', 'host', 'hostname', 'port', 'path', 'address']) if (typeof a[k] === 'string' || typeof a[k] === 'number') o[k] = a[k];
      return o;
    }
    return a;
  });
}

function record(api, args) {
  write({ attempt: api, args: describe(Array.from(args)) });
}

const refused = (api) => Object.assign(new Error(`network access refused by the test preload (${api})`), { code: 'ENETUNREACH' });

function wrap(owner, name, api, refuse) {
  const original = owner && owner[name];
  if (typeof original !== 'function') return;
  owner[name] = function (...args) {
    record(api, args);
    return refuse.call(this, args, original);
  };
}

/** The callback among `args` (the last function), called with the refusal on the next tick. */
function failCallback(api, args) {
  const cb = [...args].reverse().find((a) => typeof a === 'function');
  if (cb) process.nextTick(cb, refused(api));
}

// TCP and TLS: every client socket goes through Socket.prototype.connect (net.connect, tls.connect,
// http agents, undici). The socket fails on the next tick as if the network were unreachable.
wrap(net.Socket.prototype, 'connect', 'net.Socket.connect', function () {
  process.nextTick(() => this.destroy(refused('net.Socket.connect')));
  return this;
});
wrap(tls, 'connect', 'tls.connect', (args, original) => original(...args));

// HTTP(S) and HTTP/2: recorded at the API; the connect underneath is refused above.
for (const [mod, label] of [[http, 'http'], [https, 'https']]) {
  wrap(mod, 'request', `${label}.request`, (args, original) => original(...args));
  wrap(mod, 'get', `${label}.get`, (args, original) => original(...args));
}
wrap(http2, 'connect', 'http2.connect', (args, original) => original(...args));

// UDP: sending or connecting a datagram socket.
wrap(dgram.Socket.prototype, 'send', 'dgram.send', function (args) { failCallback('dgram.send', args); });
wrap(dgram.Socket.prototype, 'connect', 'dgram.connect', function (args) { failCallback('dgram.connect', args); });

// DNS: lookups and queries, callback and promise forms, module functions and Resolver instances.
const DNS_METHODS = ['lookup', 'lookupService', 'resolve', 'resolve4', 'resolve6', 'resolveAny', 'resolveCaa', 'resolveCname', 'resolveMx',
  'resolveNaptr', 'resolveNs', 'resolvePtr', 'resolveSoa', 'resolveSrv', 'resolveTxt', 'reverse'];
for (const m of DNS_METHODS) {
  wrap(dns, m, `dns.${m}`, (args) => failCallback(`dns.${m}`, args));
  wrap(dns.Resolver && dns.Resolver.prototype, m, `dns.Resolver.${m}`, (args) => failCallback(`dns.Resolver.${m}`, args));
  wrap(dns.promises, m, `dns.promises.${m}`, () => Promise.reject(refused(`dns.promises.${m}`)));
  wrap(dns.promises.Resolver && dns.promises.Resolver.prototype, m, `dns.promises.Resolver.${m}`, () => Promise.reject(refused(`dns.promises.Resolver.${m}`)));
}

// fetch and WebSocket (globals in recent Node).
wrap(globalThis, 'fetch', 'fetch', () => Promise.reject(Object.assign(new TypeError('fetch failed'), { cause: refused('fetch') })));
if (typeof globalThis.WebSocket === 'function') {
  const Original = globalThis.WebSocket;
  globalThis.WebSocket = function WebSocket(...args) {
    record('WebSocket', args);
    throw refused('WebSocket');
  };
  globalThis.WebSocket.prototype = Original.prototype;
}

write({ loaded: true, argv: process.argv.slice(1, 2) });
