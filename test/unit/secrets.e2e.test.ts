// Planted secrets, end to end through the engine host (dist/host.js over IPC, the real models): a
// workspace full of secret files and of ordinary files with keys pasted in is indexed, focused at several
// budgets with queries that point at the secrets, expanded over the lines that held them, flushed; then
// no secret (nor any 12-character piece of one) may appear in a prompt, a viewer snapshot, an expand
// result, a status or index result, or any byte of the store. Every secret is generated at run time
// from seeded random characters: nothing secret-shaped is committed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { EngineClient } from '../../src/extension/engineClient';
import type { FocusResult } from '../../src/engine/protocol';
import { readStore } from '../../src/core/store';
import { detokenize } from '../../src/core/tokenizer';
import { seededText } from './support/seededText';

const repo = resolve(__dirname, '..', '..', '..');
const hostPath = join(repo, 'dist', 'host.js');

// ---- secrets, generated -------------------------------------------------------------------------

const SEED = Number(process.env.MEGACONTEXT_SECRETS_SEED ?? 0x7e57);
const rnd = seededText(SEED);
const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const B64 = ALNUM + '+/';
const URLSAFE = ALNUM + '_-';

/** A value that must never come out: `fixed` is its well-known prefix (not itself secret), `value` the whole. */
interface Secret { name: string; value: string; fixed: number }
const secrets: Secret[] = [];
function secret(name: string, prefix: string, alphabet: string, n: number, lead = ''): string {
  const value = prefix + lead + rnd(alphabet, n - lead.length);
  secrets.push({ name, value, fixed: prefix.length });
  return value;
}

function dockerAuth(user: string): string {
  const auth = Buffer.from(`${user}:${rnd(ALNUM, 20)}`).toString('base64');
  // The base64 of "user:" is fixed; what follows encodes the password.
  secrets.push({ name: 'docker auth', value: auth, fixed: Math.floor((user.length + 1) / 3) * 4 });
  return auth;
}

/** The 12-character windows of a secret that contain at least one of its random characters. */
function windows(s: Secret, size = 12): string[] {
  const out: string[] = [];
  for (let i = Math.max(0, s.fixed - size + 1); i + size <= s.value.length; i++) out.push(s.value.slice(i, i + size));
  return out.length > 0 ? out : [s.value];
}

/** Every secret of `list` that shows, whole or as a 12-character window, in `haystack`. */
function leaks(haystack: string, list: Secret[] = secrets): string[] {
  const found: string[] = [];
  for (const s of list) {
    const w = windows(s).find((piece) => haystack.includes(piece));
    if (w) found.push(`${s.name} («${w}»)`);
  }
  return found;
}

function pemBlock(name: string, label: string): string {
  const lines = Array.from({ length: 6 }, (_, i) => secret(`${name} line ${i + 1}`, '', B64, 64));
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** Prose that pushes what follows past discovery's 8 KiB head check (so the file is kept and redacted). */
function filler(topic: string, bytes: number): string {
  let s = '';
  for (let i = 0; s.length < bytes; i++) s += `The ${topic} runbook, step ${i}: check the dashboard, confirm the rollout, and note the result in the log.\n`;
  return s;
}

const CANARY = 'canarywombat' + rnd('abcdefghijklmnopqrstuvwxyz', 10);
const canary: Secret = { name: 'canary', value: CANARY, fixed: 0 };
const CANARY_FILE_MARK = 'zebrafinch' + rnd('abcdefghijklmnopqrstuvwxyz', 8);

// Secret files: never read.
const SECRET_FILES: Record<string, string | Buffer> = {
  '.env': `DATABASE_PASSWORD=${secret('.env password', '', ALNUM, 24)}\nSTRIPE_SECRET=${secret('.env stripe', 'sk' + '_live_', ALNUM, 24)}\n`,
  '.env.local': `SESSION_SECRET=${secret('.env.local session', '', ALNUM, 32)}\n`,
  'id_rsa': pemBlock('id_rsa', 'RSA PRIVATE KEY'),
  'id_ed25519': pemBlock('id_ed25519', 'OPENSSH PRIVATE KEY'),
  'deploy/server.pem': pemBlock('server.pem', 'PRIVATE KEY'),
  'deploy/tls.key': pemBlock('tls.key', 'EC PRIVATE KEY'),
  'deploy/cert.p12': Buffer.concat([Buffer.from([0x30, 0x82, 0x0a, 0x01]), Buffer.from(`friendly:${secret('cert.p12 passphrase', '', ALNUM, 24)}`), Buffer.from([0, 1, 2, 3])]),
  '.npmrc': `registry=https://registry.npmjs.org/\n//registry.npmjs.org/:_authToken=${secret('.npmrc token', 'np' + 'm_', ALNUM, 36)}\n`,
  '.pypirc': `[distutils]\nindex-servers = pypi\n\n[pypi]\nusername = __token__\npassword = ${secret('.pypirc password', 'py' + 'pi-AgEIcHlwaS5vcmc', URLSAFE, 70)}\n`,
  '.git-credentials': `https://octocat:${secret('.git-credentials token', 'gh' + 'p_', ALNUM, 36)}@github.com\n`,
  '.aws/credentials': `[default]\naws_access_key_id = ${secret('.aws key id', 'AK' + 'IA', UPPER, 16)}\naws_secret_access_key = ${secret('.aws secret', '', B64, 40)}\n`,
  '.docker/config.json': JSON.stringify({ auths: { 'https://index.docker.io/v1/': { auth: dockerAuth('octocat') } } }, null, 2),
  '.config/gcloud/application_default_credentials.json': JSON.stringify({
    client_id: '764086051850-x.apps.googleusercontent.com', client_secret: secret('gcloud client secret', '', URLSAFE, 24),
    refresh_token: secret('gcloud refresh token', '1//0', URLSAFE, 60), type: 'authorized_user',
  }, null, 2),
  '.azure/msal_token_cache.json': JSON.stringify({ AccessToken: { k: { secret: secret('azure access token', 'eyJ0eX', URLSAFE, 120) } } }),
  '.kube/config': `apiVersion: v1\nusers:\n- name: admin\n  user:\n    token: ${secret('kube token', '', ALNUM, 48)}\n`,
  'config/gcp-service-account.json': JSON.stringify({
    type: 'service_account', project_id: 'shop', private_key_id: 'k1',
    private_key: pemBlock('service account (own file)', 'PRIVATE KEY'), client_email: 'ci@shop.iam.gserviceaccount.com',
  }, null, 2),
};
// Content of the file skipped as secret although its name is ordinary: counted with the secret files.
const SKIPPED_BY_CONTENT = ['config/gcp-service-account.json'];

// Ordinary files with secrets pasted in: kept, with the secrets redacted.
const AWS_ID = secret('AWS access key id', 'AK' + 'IA', UPPER, 16);
const AWS_SECRET = secret('AWS secret key', '', B64, 40);
const SDK_SECRET = secret('AWS SDK secretAccessKey', '', B64, 40);
const SOURCE_FILES: Record<string, string> = {
  'src/storage/uploader.ts': [
    '// Uploads invoices to S3. The aws secret key and access key id are configured here for the uploader.',
    "import { S3Client } from '@aws-sdk/client-s3';",
    `const awsAccessKeyId = '${AWS_ID}';`,
    `const aws_secret_access_key = '${AWS_SECRET}';`,
    `export const s3 = new S3Client({ region: 'eu-west-1', credentials: { accessKeyId: awsAccessKeyId, secretAccessKey: '${SDK_SECRET}' } });`,
    `export const uploaderCanary = '${CANARY}';`,
    'export function uploadInvoice(key: string, body: Buffer) { return s3.send({ Bucket: "invoices", Key: key, Body: body }); }',
    '',
  ].join('\n'),
  'src/integrations/tokens.py': [
    '"""Integration tokens: the github token for the release bot, the slack token, the google api key,',
    'the stripe live key and the openai key used by the summariser."""',
    `GITHUB_TOKEN = "${secret('GitHub token', 'gh' + 'p_', ALNUM, 36)}"`,
    `SLACK_BOT_TOKEN = "${secret('Slack token', 'xo' + 'xb-', '0123456789', 12)}-${secret('Slack token tail', '', ALNUM, 24)}"`,
    `GOOGLE_API_KEY = "${secret('Google API key', 'AI' + 'za', URLSAFE, 35)}"`,
    `STRIPE_LIVE_KEY = "${secret('Stripe live key', 'sk' + '_live_', ALNUM, 24)}"`,
    `OPENAI_API_KEY = "${secret('OpenAI key', 's' + 'k-proj-', URLSAFE, 48, 'q7X')}"`,
    'def release_bot_headers():',
    '    return {"Authorization": f"token {GITHUB_TOKEN}"}',
    '',
  ].join('\n'),
  'docs/deploy-bot.md': `# Deploy bot\n\n${filler('deploy', 9000)}\nThe private key of the deploy bot (ssh):\n\n${pemBlock('deploy-bot.md private key', 'RSA PRIVATE KEY')}\nRotate it every quarter.\n`,
  'test/fixtures/serviceAccount.ts': `${filler('service account', 9000)}\nexport const serviceAccount = ${JSON.stringify({
    type: 'service_account', project_id: 'shop', private_key_id: 'k2',
    private_key: secret('service-account private_key', 'MIIEv', B64, 80) + '\n' + secret('service-account private_key line 2', '', B64, 64),
    client_email: 'ci@shop.iam.gserviceaccount.com',
  })};\n`,
  [`src/${CANARY_FILE_MARK}.ts`]: 'export const harmless = true; // the store keeps this file name as text\n',
  // Config files that are secret only once they hold a credential: clean on disk, edited below.
  'pkg/.npmrc': 'save-exact=true\n',
  'pkg/.pypirc': '[distutils]\nindex-servers = pypi\n',
  'deploy/dev.kubeconfig': 'apiVersion: v1\nkind: Config\nclusters:\n- name: dev\n',
  'src/pricing.ts': [
    '// Prices, discounts and refund rules of the shop.',
    'export function total(items: { price: number; qty: number }[]): number {',
    '  return items.reduce((sum, i) => sum + i.price * i.qty, 0);',
    '}',
    'export function discount(total: number): number { return total > 100 ? total * 0.1 : 0; }',
    '',
  ].join('\n'),
};

/** Lines (1-based) of each source file that held a secret, to expand. */
function secretLines(text: string): number[] {
  const lines = text.split('\n');
  const out: number[] = [];
  lines.forEach((l, i) => { if (leaks(l).length > 0) out.push(i + 1); });
  return out;
}

function writeTree(root: string, files: Record<string, string | Buffer>): void {
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, rel)), { recursive: true });
    writeFileSync(join(root, rel), content);
  }
}

function allFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...allFiles(p));
    else out.push(p);
  }
  return out;
}

/** Every byte of every store file as text three ways, plus the token ids of each stored document decoded. */
async function storeText(storeDir: string): Promise<{ raw: string; decoded: string; files: number }> {
  const files = allFiles(storeDir);
  let raw = '';
  let decoded = '';
  for (const f of files) {
    const buf = readFileSync(f);
    raw += buf.toString('utf8') + '\n' + buf.toString('latin1') + '\n' + buf.toString('utf16le') + '\n';
    // The store keeps text as o200k token ids: decode them too (the header names the model it expects).
    if (buf.length > 16 && buf.subarray(0, 4).toString('latin1') === 'MGCX') {
      const header = JSON.parse(buf.subarray(16, 16 + buf.readUInt32LE(8)).toString('utf8')) as { modelId: string; dim: number; blockTokens: number; groupBlocks: number };
      const read = await readStore(dirname(f), header, { fileName: f.slice(dirname(f).length + 1) });
      assert.equal(read.status, 'ok', `the store ${f} reads back`);
      if (read.status === 'ok') for (const d of read.docs) decoded += `\n${d.id}\n${detokenize(d.tokens)}`;
    }
  }
  return { raw, decoded, files: files.length };
}

// ---- the test -----------------------------------------------------------------------------------

// npm test builds first: a missing host is a failure, never a silent skip.
assert.ok(existsSync(hostPath), 'dist/host.js is missing: run npm run build');

test('planted secrets never reach a prompt, a snapshot, an expand or status result, or the store', async (t) => {
  const base = mkdtempSync(join(tmpdir(), 'mc-secrets-e2e-'));
  const workspace = join(base, 'workspace');
  const storeDir = join(base, 'store');
  mkdirSync(storeDir, { recursive: true });
  writeTree(workspace, SECRET_FILES);
  writeTree(workspace, SOURCE_FILES);
  const log: string[] = [];
  const engine = new EngineClient({ hostPath, env: { MEGACONTEXT_STORE_DIR: storeDir }, log: (l) => log.push(l), requestTimeoutMs: 300_000, startTimeoutMs: 60_000 });
  t.after(() => { engine.dispose(); rmSync(base, { recursive: true, force: true }); });

  // Everything the host sends back, to search at the end.
  const seen: { what: string; text: string }[] = [];
  const keep = (what: string, value: unknown) => seen.push({ what, text: typeof value === 'string' ? value : JSON.stringify(value) });

  const index = await engine.request('index', { roots: [workspace] }, { onEvent: (e) => keep('index progress', e) });
  keep('index result', index);

  await t.test('secret files are skipped with reason "secret" (flagged), never read', () => {
    const reason = new Map(index.skipped.map((s) => [s.path, s.reason]));
    for (const rel of Object.keys(SECRET_FILES)) {
      assert.equal(reason.get(join(workspace, rel)), 'secret', `${rel} is reported as a skipped secret (got ${reason.get(join(workspace, rel)) ?? 'not skipped'})`);
    }
    assert.ok(SKIPPED_BY_CONTENT.every((rel) => index.skipped.find((s) => s.path === join(workspace, rel))?.detail === 'service account key'));
  });

  await t.test('ordinary files that held secrets are kept and reported as redacted', () => {
    const redacted = new Set(index.redacted);
    for (const rel of ['src/storage/uploader.ts', 'src/integrations/tokens.py', 'docs/deploy-bot.md', 'test/fixtures/serviceAccount.ts']) {
      assert.ok(redacted.has(join(workspace, rel)), `${rel} is listed as redacted: ${index.redacted.join(', ')}`);
    }
    assert.ok(!redacted.has(join(workspace, 'src/pricing.ts')), 'a clean file is not listed as redacted');
    assert.equal(index.files, Object.keys(SOURCE_FILES).length, 'every ordinary file is indexed');
  });

  const queries = [
    'aws secret key and access key id of the uploader', 'github token for the release bot', 'slack token', 'google api key',
    'stripe live key', 'openai key', 'private key of the deploy bot', 'service account private_key', 'password token credentials .env',
  ];
  const focuses: FocusResult[] = [];
  for (const budget of [512, 2048, 8192, 32000]) {
    for (const query of queries) {
      const r = await engine.request('focus', { query, budget });
      focuses.push(r);
      keep(`focus prompt (${budget}, ${query})`, r.prompt);
      keep(`focus snapshot (${budget}, ${query})`, r.snapshot);
      keep(`focus entries (${budget}, ${query})`, r.entries);
    }
  }
  for (const rel of Object.keys(SOURCE_FILES)) {
    const text = SOURCE_FILES[rel];
    const lines = secretLines(text);
    const total = text.split('\n').length;
    const ranges: [number, number][] = [[1, total], ...lines.map((l): [number, number] => [Math.max(1, l - 1), Math.min(total, l + 1)])];
    for (const [startLine, endLine] of ranges) {
      const r = await engine.request('expand', { path: join(workspace, rel), startLine, endLine });
      keep(`expand ${rel}:${startLine}-${endLine}`, r);
    }
  }
  // Secret files are not in memory at all: expanding one is refused, and the refusal holds no content.
  for (const rel of ['.env', '.aws/credentials', 'id_rsa']) {
    await assert.rejects(engine.request('expand', { path: join(workspace, rel), startLine: 1, endLine: 5 }), (e: Error) => {
      keep(`expand refusal ${rel}`, e.message);
      return /not in MegaContext's memory/.test(e.message);
    });
  }
  keep('status', await engine.request('status', {}));
  const flushed = await engine.request('flush', {});

  await t.test('positive controls: the same checks find a non-secret marker that was indexed', async () => {
    // The canary sits on a line of uploader.ts between two secrets; the checker must see it where it is shown.
    assert.ok(focuses.some((f) => f.prompt.includes(CANARY)), 'the canary is in some prompt');
    assert.ok(focuses.some((f) => leaks(JSON.stringify(f.snapshot), [canary]).length > 0), 'the canary is in some snapshot');
    assert.ok(seen.some((s) => s.what.startsWith('expand src/storage') && leaks(s.text, [canary]).length > 0), 'the canary is in the expand result');
    const store = await storeText(storeDir);
    assert.ok(flushed.bytes > 0 && store.files > 0, 'the store was written');
    assert.ok(leaks(store.decoded, [canary]).length > 0, 'the canary is in the decoded store');
    assert.ok(store.raw.includes(CANARY_FILE_MARK), 'a path marker is in the raw store bytes');
    // And a planted secret pasted into a report would be caught: the checker is not blind to secrets.
    assert.deepEqual(leaks(`noise ${secrets[0].value.slice(3, 15)} noise`).length, 1);
    // The workspace on disk still holds them all: the secrets are real inputs of this test.
    const onDisk = Object.values({ ...SECRET_FILES, ...SOURCE_FILES }).map((c) => c.toString('latin1' as BufferEncoding)).join('\n');
    assert.equal(leaks(onDisk).length, secrets.length, 'every planted secret is on disk, as the checker reads it');
  });

  await t.test('no secret in any prompt, snapshot, entry list, expand, status or index result', () => {
    const found = seen.flatMap((s) => leaks(s.text).map((l) => `${s.what}: ${l}`));
    assert.deepEqual(found, []);
    assert.ok(seen.length > queries.length * 4 * 3, `checked ${seen.length} results`);
  });

  await t.test('no secret in any byte of the store, raw or decoded', async () => {
    const store = await storeText(storeDir);
    assert.deepEqual(leaks(store.raw), [], 'raw store bytes');
    assert.deepEqual(leaks(store.decoded), [], 'store tokens decoded');
  });

  await t.test('no secret in the host\'s own log lines', () => {
    assert.deepEqual(leaks(log.join('\n')), []);
  });

  // Open editors send their unsaved text (updateFiles): a key typed into an ordinary file is redacted like
  // one on disk, and a secret file's text is never taken, whatever the editor sends.
  await t.test('unsaved editor text with secrets (updateFiles) is redacted; secret files stay out', async () => {
    const editorSecrets: Secret[] = [];
    const plant = (name: string, value: string, fixed: number) => { editorSecrets.push({ name, value, fixed }); return value; };
    const gh = plant('editor GitHub token', 'gh' + 'p_' + rnd(ALNUM, 36), 4);
    const envValue = plant('editor .env value', rnd(ALNUM, 30), 0);
    const pricing = join(workspace, 'src', 'pricing.ts');
    const r = await engine.request('updateFiles', {
      roots: [workspace],
      changed: [
        { path: pricing, text: `${SOURCE_FILES['src/pricing.ts']}// the github token of the pricing bot\nexport const token = '${gh}';\n` },
        { path: join(workspace, '.env'), text: `API_KEY=${envValue}\n` },
        { path: join(workspace, 'id_rsa'), text: `-----BEGIN RSA PRIVATE KEY-----\n${envValue}\n` },
      ],
      deleted: [],
    });
    assert.ok(r.updated >= 1, 'the edited file was taken');
    const out: string[] = [];
    const e = await engine.request('expand', { path: pricing, startLine: 1, endLine: 50 });
    assert.ok(e.text.includes('the github token of the pricing bot') && e.text.includes('[REDACTED:github-token]'), `control: the edit arrived, redacted: ${e.text}`);
    out.push(e.text);
    for (const budget of [1024, 8192]) {
      const f = await engine.request('focus', { query: 'github token of the pricing bot; API_KEY in .env', budget });
      out.push(f.prompt, JSON.stringify(f.snapshot));
    }
    await assert.rejects(engine.request('expand', { path: join(workspace, '.env'), startLine: 1, endLine: 2 }), /not in MegaContext's memory/);
    await engine.request('flush', {});
    const store = await storeText(storeDir);
    out.push(store.raw, store.decoded);
    assert.deepEqual(out.flatMap((o) => leaks(o, editorSecrets)), []);
  });

  // A config file that was clean when indexed gets a credential in the editor (or saved to disk): from then
  // on it is a secret file. The token must not reach memory, whether a format rule or the file rule stops it.
  const configEdit = async (rel: string, text: (token: string) => string, flagged: 'skipped' | 'redacted') => {
    const token = rnd(ALNUM, 40);
    const s: Secret = { name: `${rel} token`, value: token, fixed: 0 };
    const file = join(workspace, rel);
    const update = await engine.request('updateFiles', { roots: [workspace], changed: [{ path: file, text: text(token) }], deleted: [] });
    // The extension logs these to its output channel: the file is flagged either way.
    if (flagged === 'skipped') assert.ok(update.skipped.some((f) => f.path === file && f.reason === 'secret'), `${rel}: ${JSON.stringify(update)}`);
    else assert.ok(update.redacted.includes(file), `${rel}: ${JSON.stringify(update)}`);
    const out: string[] = [];
    const e = await engine.request('expand', { path: file, startLine: 1, endLine: 20 }).catch((err: Error) => ({ text: err.message }));
    out.push(e.text);
    const f = await engine.request('focus', { query: `${rel} token password credentials`, budget: 8192 });
    out.push(f.prompt, JSON.stringify(f.snapshot));
    await engine.request('flush', {});
    const store = await storeText(storeDir);
    out.push(store.raw, store.decoded);
    assert.deepEqual(out.flatMap((o) => leaks(o, [s])), [], `${rel}: ${e.text}`);
  };

  await t.test('a registry token typed into a clean .npmrc (updateFiles) does not reach memory', async () => {
    await configEdit('pkg/.npmrc', (tok) => `save-exact=true\n//registry.example.com/:_authToken=${tok}\n`, 'skipped');
  });

  // updateFiles (Memory.update, src/engine/memory.ts) applies the discovery rule that makes a .pypirc/kubeconfig
  // holding a credential a secret file (secretContentRule): the file leaves memory, reported as secret.
  await t.test('a password or token typed into a clean .pypirc or kubeconfig (updateFiles) does not reach memory', async () => {
    await configEdit('pkg/.pypirc', (tok) => `[distutils]\nindex-servers = pypi\n\n[pypi]\nusername = me\npassword = ${tok}\n`, 'skipped');
    await configEdit('deploy/dev.kubeconfig', (tok) => `apiVersion: v1\nkind: Config\nusers:\n- name: dev\n  user:\n    token: ${tok}\n`, 'skipped');
  });

  // Chat turns and notes arrive as text over IPC (appendChat, remember): a key pasted into a chat must be
  // redacted on the way in like a key in a file, or it stays in every later prompt and in the store.
  await t.test('a secret pasted into chat or a note is redacted on the way in', async () => {
    const chatSecrets: Secret[] = [];
    const plant = (name: string, value: string, fixed: number) => { chatSecrets.push({ name, value, fixed }); return value; };
    const ghToken = plant('chat GitHub token', 'gh' + 'p_' + rnd(ALNUM, 36), 4);
    const awsId = plant('chat AWS key id', 'AK' + 'IA' + rnd(UPPER, 16), 4);
    const noteKey = plant('note Stripe key', 'sk' + '_live_' + rnd(ALNUM, 24), 8);
    const pem = Array.from({ length: 3 }, (_, i) => plant(`chat PEM line ${i + 1}`, rnd(B64, 64), 0));
    const session = 'secrets-e2e';
    await engine.request('appendChat', { session, text: `User: why does the release bot fail? its github token is ${ghToken} and the aws key ${awsId}\nAssistant: Rotate the github token.\n\n` });
    await engine.request('appendChat', { session, text: `User: here is the deploy key\n-----BEGIN OPENSSH PRIVATE KEY-----\n${pem.join('\n')}\n-----END OPENSSH PRIVATE KEY-----\nAssistant: Never paste keys.\n\n` });
    await engine.request('remember', { note: `The stripe live key is ${noteKey}` });
    const out: { what: string; text: string }[] = [];
    for (const budget of [1024, 8192]) {
      const r = await engine.request('focus', { query: 'github token aws key stripe live key deploy key', budget, chatSession: session });
      out.push({ what: `focus prompt (${budget})`, text: r.prompt }, { what: `focus snapshot (${budget})`, text: JSON.stringify(r.snapshot) });
    }
    for (const doc of [`chat:${session}`, 'notes:memory']) {
      const r = await engine.request('expand', { path: doc, startLine: 1, endLine: 200 });
      out.push({ what: `expand ${doc}`, text: r.text });
    }
    await engine.request('flush', {});
    const store = await storeText(storeDir);
    out.push({ what: 'store (raw)', text: store.raw }, { what: 'store (decoded)', text: store.decoded });
    // Controls: the chat and the note did arrive (so absence of the secrets is not absence of the text),
    // with the redaction markers where the secrets were.
    const chat = out.find((o) => o.what.startsWith('expand chat'))!.text;
    const notes = out.find((o) => o.what.startsWith('expand notes'))!.text;
    assert.ok(chat.includes('why does the release bot fail') && chat.includes('[REDACTED:github-token]') && chat.includes('[REDACTED:private-key]'), chat);
    assert.ok(notes.includes('The stripe live key is [REDACTED:stripe-key]'), notes);
    assert.deepEqual(out.flatMap((o) => leaks(o.text, chatSecrets).map((l) => `${o.what}: ${l}`)), []);
  });
});
