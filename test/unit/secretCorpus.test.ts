// Issue #18, items 3 and 4: a corpus of secret kinds (each in its own file, as a user would have it)
// goes through the real indexing and focus path (the CLI's main() with --json) and none may reach the
// prompt; a corpus of look-alikes gets no redaction at all; redaction keeps the file's length and lines,
// so charStart/charEnd and line numbers of every exact run refer to the file on disk. Every secret-shaped
// value is generated at run time from a prefix and seeded random characters: nothing secret is committed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Writable } from 'node:stream';
import { main } from '../../src/cli/main';
import { discoverFiles } from '../../src/core/discovery';
import { detectSecrets, findSecrets, redactPath, redactSecrets, secretContentRule, secretlintReports, secretPathRule } from '../../src/core/secrets';
import { seededText } from './support/seededText';

const rnd = seededText(0x18c0de);
const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const LOWER = 'abcdefghijklmnopqrstuvwxyz';
const B64 = ALNUM + '+/';
const URLSAFE = ALNUM + '_-';
const HEX = '0123456789abcdef';
/** Random characters that surely mix digits and both cases (what real keys look like). */
const mixed = (alphabet: string, n: number): string => 'a1Z' + rnd(alphabet, n - 3);

interface Kind {
  kind: string;
  /** Workspace-relative file the secret sits in. */
  file: string;
  content: string;
  /** Strings that must never be shown (the secret, or for a very short one the secret in its context). */
  never: string[];
  /** A secret file: skipped by discovery (by name or content) rather than redacted. */
  secretFile?: true;
}

function corpus(): Kind[] {
  const k: Kind[] = [];
  const add = (kind: string, file: string, line: (v: string) => string, value: string, opts: { never?: (v: string) => string[]; secretFile?: true } = {}) => {
    k.push({ kind, file, content: `# ${kind} sample\nsome ordinary wombat text before\n${line(value)}\nand ordinary text after\n`, never: opts.never ? opts.never(value) : [value], ...(opts.secretFile ? { secretFile: true } : {}) });
  };
  const jwtPart = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  add('aws access key id', 'src/aws.ts', (v) => `const id = '${v}';`, 'AK' + 'IA' + rnd(UPPER, 16));
  add('aws key id after _', 'src/aws2.ts', (v) => `KEY_${v} = 1`, 'AK' + 'IA' + rnd(UPPER, 16));
  add('aws secret access key', 'src/aws3.py', (v) => `aws_secret_access_key = '${v}'`, rnd(B64, 40));
  add('AWS_SECRET without "key"', 'deploy/run.sh', (v) => `export AWS_SECRET="${v}"`, rnd(B64, 40));
  add('github token', 'src/gh.ts', (v) => `token: ${v}`, 'gh' + 'p_' + mixed(ALNUM, 36));
  add('github fine-grained pat', 'src/gh2.ts', (v) => `GH=${v}`, 'github' + '_pat_' + mixed(ALNUM + '_', 60));
  add('gitlab token', 'src/gl.ts', (v) => `gitlab = "${v}"`, 'gl' + 'pat-' + rnd(URLSAFE, 20));
  add('slack bot token', 'src/slack.ts', (v) => `SLACK_BOT=${v}`, 'xo' + 'xb-' + rnd('0123456789', 12) + '-' + rnd(ALNUM, 24));
  add('slack webhook', 'src/hook.ts', (v) => `post("https://${v}")`, 'hooks.slack' + '.com/services/T' + rnd(UPPER, 8) + '/B' + rnd(UPPER, 10) + '/' + rnd(ALNUM, 24), { never: (v) => [v.slice(-24)] });
  add('google api key', 'src/g.ts', (v) => `key: '${v}'`, 'AI' + 'za' + rnd(URLSAFE, 35));
  add('google oauth client secret', 'src/g2.ts', (v) => `client_secret = "${v}"`, 'GOC' + 'SPX-' + rnd(URLSAFE, 28));
  add('google oauth token', 'src/g3.ts', (v) => `tok = "${v}"`, 'ya' + '29.' + rnd(URLSAFE, 80));
  add('stripe live key', 'src/stripe.ts', (v) => `stripe(${JSON.stringify(v)})`, 'sk' + '_live_' + rnd(ALNUM, 24));
  add('stripe test key', 'src/stripe2.ts', (v) => `stripe(${JSON.stringify(v)})`, 'sk' + '_test_' + rnd(ALNUM, 24));
  add('stripe webhook secret', 'src/stripe3.ts', (v) => `const endpointSecret = '${v}';`, 'wh' + 'sec_' + rnd(ALNUM, 32));
  add('twilio api key', 'src/twilio.ts', (v) => `twilio(${JSON.stringify(v)})`, 'S' + 'K' + rnd(HEX, 32));
  add('npm token', 'src/npm.ts', (v) => `//registry.example.com/:_authToken=${v}`, 'np' + 'm_' + rnd(ALNUM, 36));
  add('pypi token', 'src/pypi.cfg', (v) => `password = ${v}`, 'py' + 'pi-AgEIcHlwaS5vcmc' + rnd(URLSAFE, 60));
  add('huggingface token', 'src/hf.py', (v) => `HF_TOKEN=${v}`, 'h' + 'f_' + rnd(LOWER + LOWER.toUpperCase(), 34));
  add('sendgrid key', 'src/sg.ts', (v) => `sendgrid.setApiKey('${v}')`, 'S' + 'G.' + rnd(URLSAFE, 22) + '.' + rnd(URLSAFE, 43));
  add('openai project key', 'src/openai.py', (v) => `client = OpenAI(api_key="${v}")`, 's' + 'k-proj-' + mixed(URLSAFE, 48));
  add('openai legacy hex key', 'src/openai2.py', (v) => `openai.api_key = "${v}"`, 's' + 'k-' + rnd(HEX, 48));
  add('anthropic key', 'src/anthropic.ts', (v) => `new Anthropic({ apiKey: '${v}' })`, 's' + 'k-ant-api03-' + mixed(URLSAFE, 60));
  add('azure storage key', 'src/azure.cs', (v) => `var conn = "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=${v};EndpointSuffix=core.windows.net";`, rnd(B64, 86) + '==');
  add('azure SAS signature', 'src/sas.ts', (v) => `const url = 'https://acct.blob.core.windows.net/c/b.txt?sv=2022-11-02&ss=b&srt=o&sp=r&se=2030-01-01&sig=${v}';`, rnd(ALNUM, 30) + '%2B' + rnd(ALNUM, 10) + '%3D');
  add('azure AD client secret', 'src/entra.ts', (v) => `const clientCredential = '${v}';`, rnd(ALNUM, 3) + '8Q~' + rnd(URLSAFE + '.~', 34));
  add('JWT', 'src/jwt.ts', (v) => `const session = "${v}";`, `${jwtPart({ alg: 'HS256', typ: 'JWT' })}.${jwtPart({ sub: rnd(ALNUM, 12), exp: 1900000000 })}.${rnd(URLSAFE, 43)}`, { never: (v) => [v.split('.')[2], v.split('.')[1]] });
  add('Bearer hex token', 'docs/api.md', (v) => `    curl -H "Authorization: Bearer ${v}" https://api.example.com/v1/me`, rnd(HEX, 64));
  add('Basic header', 'docs/basic.md', (v) => `    Authorization: Basic ${v}`, Buffer.from(`deploy:${rnd(ALNUM, 14)}`).toString('base64'));
  add('url password', 'src/db.ts', (v) => `const url = "postgres://app:${v}@db.internal:5432/app";`, rnd(ALNUM, 18));
  add('redis url, empty user', 'src/cache.ts', (v) => `const redis = new Redis("redis://:${v}@cache.internal:6379/0");`, rnd(ALNUM, 16));
  add('url password with /', 'src/mysql.ts', (v) => `const dsn = "mysql://root:${v}@localhost/shop";`, rnd(ALNUM, 6) + '/' + rnd(ALNUM, 6));
  add('url password of 2 characters', 'src/ftp.ts', (v) => `const ftp = "ftp://u:${v}@files.example.com/in";`, 'q7', { never: (v) => [`:${v}@`] });
  add('url password of 1 character', 'src/ftp2.ts', (v) => `const ftp = "ftp://u:${v}@files.example.com/in";`, 'Z', { never: (v) => [`:${v}@`] });
  add('DB_PASSWORD in a config', 'config/app.ini', (v) => `DB_PASSWORD=${v}`, rnd(LOWER, 10));
  add('password in yaml', 'config/app.yaml', (v) => `database:\n  password: ${v}`, rnd(ALNUM, 12) + '7');
  add('docker auth', 'docs/docker.md', (v) => `    { "auths": { "ghcr.io": { "auth": "${v}" } } }`, Buffer.from(`octo:${rnd(ALNUM, 20)}`).toString('base64'), { never: (v) => [v.slice(8)] });
  add('.pgpass line in a script', 'scripts/pg.sh', (v) => `echo 'db.internal:5432:shop:admin:${v}' > ~/.pgpass`, rnd(ALNUM, 14));
  add('maven password', 'config/settings.xml', (v) => `<server><id>nexus</id><username>ci</username><password>${v}</password></server>`, rnd(ALNUM, 16));
  add('private_key in JSON', 'src/sa.ts', (v) => `const sa = { "private_key": "${v}" };`, 'MIIEv' + rnd(B64, 60), { never: (v) => [v.slice(5, 40)] });
  add('oauth refresh token in JSON', 'src/oauth.json', (v) => `{ "refresh_token": "${v}" }`, '1//0' + rnd(URLSAFE, 60));
  add('kubeconfig token in a yaml', 'src/kube-notes.yaml', (v) => `users:\n- name: ci\n  user:\n    token: ${v}`, rnd(ALNUM, 40));
  add('client-key-data in a yaml', 'src/kube-notes2.yaml', (v) => `    client-key-data: ${v}`, rnd(B64, 60));
  // Found by secretlint's recommended rules alone (no credential-like name next to them).
  add('databricks token (secretlint rule)', 'src/databricks.py', (v) => `workspace = connect("${v}")`, 'dap' + 'i' + rnd(HEX, 32));
  add('shopify token (secretlint rule)', 'src/shop.rb', (v) => `ShopifyAPI::Context.setup('${v}')`, 'sh' + 'pat_' + rnd(HEX, 32));
  add('linear key (secretlint rule)', 'src/linear.ts', (v) => `const linear = new LinearClient("${v}")`, 'lin' + '_api_' + rnd(ALNUM, 40));
  add('grafana service account token (secretlint rule)', 'src/grafana.ts', (v) => `const grafana = connect("${v}")`, 'gl' + 'sa_' + rnd(ALNUM, 32) + '_' + rnd(HEX, 8));
  {
    const body = Array.from({ length: 5 }, () => rnd(B64, 64));
    k.push({ kind: 'PEM private key block in a source file', file: 'src/keys.ts', content: `export const note = 'the deploy key';\nconst key = \`-----BEGIN RSA PRIVATE KEY-----\n${body.join('\n')}\n-----END RSA PRIVATE KEY-----\`;\nexport const after = 'kept';\n`, never: body.map((b) => b.slice(20, 44)) });
  }
  // Secret files: skipped by name or by content, whatever they hold.
  const envPw = rnd(ALNUM, 20);
  k.push({ kind: 'production.env', file: 'deploy/production.env', content: `DATABASE_URL=postgres://app@db/app\nAPI_SIGNING=${envPw}\n`, never: [envPw], secretFile: true });
  const envPw2 = rnd(ALNUM, 20);
  k.push({ kind: 'app.env.local', file: 'web/app.env.local', content: `SIGNING=${envPw2}\n`, never: [envPw2], secretFile: true });
  const kubeTok = rnd(ALNUM, 40);
  k.push({ kind: 'kubeconfig under another name', file: 'ops/cluster-admin.yaml', content: `apiVersion: v1\nkind: Config\nclusters:\n- name: prod\ncontexts: []\nusers:\n- name: admin\n  user:\n    token: ${kubeTok}\n`, never: [kubeTok], secretFile: true });
  const pg = rnd(ALNUM, 14);
  k.push({ kind: '.pgpass', file: 'home/.pgpass', content: `db.internal:5432:*:admin:${pg}\n`, never: [pg], secretFile: true });
  const dockerAuth = Buffer.from(`octo:${rnd(ALNUM, 20)}`).toString('base64');
  k.push({ kind: 'docker config.json', file: 'ci/docker/config.json', content: JSON.stringify({ auths: { 'ghcr.io': { auth: dockerAuth } } }, null, 2), never: [dockerAuth.slice(8)], secretFile: true });
  // A key in a file name: the header must not show it.
  const nameKey = 'AK' + 'IA' + rnd(UPPER, 16);
  k.push({ kind: 'key in a file name', file: `docs/${nameKey}.txt`, content: 'notes about the bucket\n', never: [nameKey] });
  return k;
}

/** Look-alikes that are not secrets: each must pass through redaction unchanged. */
const LOOKALIKES: string[] = [
  '<div class="sk-Spinner2-containerWrapperLargeVariant">loading</div>',
  'const sk = "sk-some-long-kebab-case-identifier-name";',
  '_auth = request.authorization',
  '_password = password_from_vault',
  'const url = `https://{user}:{pw}@example.com/repo.git`;',
  'DATABASE_URL = "postgres://app:${DB_PASSWORD}@db:5432/app"',
  'const url = `https://user:{{password}}@example.com`;',
  'see https://example.com:8443/path and mailto:someone@example.com',
  'fetch("https://registry.npmjs.org:443/@scope/pkg")',
  'git clone git@github.com:org/repo.git',
  'const token = getToken(); // the token expires',
  'const password = process.env.PASSWORD;',
  'password: string;',
  'token: Token | undefined,',
  'def login(user, password=None):',
  'if (password.length < 8) throw new Error("password too short");',
  'const secretName = secretsManager.secretName;',
  'api_key = os.environ["API_KEY"]',
  'The Basic authentication scheme sends credentials as base64.',
  'Authorization: Bearer ${TOKEN}',
  'Authorization: Bearer <token>',
  'AKIA_PREFIX = "AKIA"; const ghp_ = "ghp_";',
  '{ "client_secret": "<your client secret>", "refresh_token": "xxxxxxxx" }',
  'const privateKey = loadKey("-----BEGIN PUBLIC KEY-----");',
  'npm_config_cache=/tmp/npm',
  'timeout_seconds = 30; max_tokens = 4096; token_count = 12',
  'PASSWORD_MIN_LENGTH=12',
  'const sig = computeSignature(body); url += `&sig=${sig}`;',
  'const tokenizer = new Tokenizer(); tokens = tokenizer.encode(text)',
  'secret_santa_assignments = shuffle(people)',
  // Code shapes found in a sweep of real sources (TypeScript's lib, @types/node, Python's stdlib).
  'export function detokenize(tokens: ArrayLike<number>, privateKey: T2, bytes: Uint32Array): string {',
  'return token === 32 /* GreaterThanToken */ || passwordLower === pattern.toLowerCase();',
  'const password = result.groups?.password; const t = { tokens: result!.tokens };',
  'context.report({ message: t("Found", { TOKEN: match, CREDENTIAL: matchString }) });',
  'const isKeyJson = "private_key_id" in credentialObject && "private_key" in credentialObject;',
  'var TokenFlags = /* @__PURE__ */ ((TokenFlags2) => TokenFlags2);',
  'const TOKENS_PER_DOC = 40_000; const MAX_TOKENS=4096; api_key_env = "OPENAI_API_KEY"',
  '"private_key_id": "abc", "client_email": "x@y.iam.gserviceaccount.com", "token_type": "Bearer"',
];

function capture(): Writable & { text: () => string } {
  const chunks: string[] = [];
  const w = new Writable({ write(c, _e, cb) { chunks.push(String(c)); cb(); } }) as Writable & { text: () => string };
  w.text = () => chunks.join('');
  return w;
}

function writeTree(root: string, files: Record<string, string>): void {
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, rel)), { recursive: true });
    writeFileSync(join(root, rel), content);
  }
}

interface FocusJson {
  documents: { path: string; chars: number }[];
  entries: { path: string; lod: number; charStart: number; charEnd: number }[];
  prompt: string;
}

async function focusJson(root: string, query: string, budget: number): Promise<{ json: FocusJson; out: string; err: string }> {
  const out = capture();
  const err = capture();
  const store = mkdtempSync(join(tmpdir(), 'mc-secret-store-'));
  const code = await main(['focus', root, '--query', query, '--budget', String(budget), '--scorer', 'lexical', '--store', store, '--json'], out, err);
  assert.equal(code, 0, err.text());
  return { json: JSON.parse(out.text().trim().split('\n')[0]) as FocusJson, out: out.text(), err: err.text() };
}

test('the secret corpus: every kind is found by the redaction function or the file rules', () => {
  const kinds = corpus();
  assert.ok(kinds.length >= 40, `${kinds.length} kinds`);
  const missed: string[] = [];
  for (const k of kinds) {
    if (k.secretFile) {
      if (!secretPathRule(k.file) && !secretContentRule(k.file, k.content)) missed.push(k.kind);
      continue;
    }
    const shown = redactSecrets(k.content).text + '\n' + redactPath(k.file);
    if (k.never.some((n) => shown.includes(n))) missed.push(k.kind);
  }
  assert.deepEqual(missed, []);
  // secretlint's rules are wired in: these kinds are theirs.
  for (const [kind, lintKind] of [['databricks', 'databricks'], ['shopify', 'shopify'], ['linear', 'linear'], ['grafana', 'grafana']]) {
    const k = kinds.find((x) => x.kind.startsWith(kind))!;
    assert.deepEqual(findSecrets(k.content).map((s) => s.kind), [lintKind], k.kind);
  }
});

test('the secret corpus through indexing and focus (CLI --json): nothing reaches the prompt, non-secret text does', { timeout: 300_000 }, async () => {
  const kinds = corpus();
  const root = mkdtempSync(join(tmpdir(), 'mc-secret-corpus-'));
  writeTree(root, Object.fromEntries(kinds.map((k) => [k.file, k.content])));
  const leaks: string[] = [];
  for (const budget of [4096, 200_000]) {
    const { json, err } = await focusJson(root, 'wombat password token secret key auth credential bucket deploy', budget);
    for (const k of kinds) for (const n of k.never) if (json.prompt.includes(n)) leaks.push(`${budget}: ${k.kind}`);
    for (const k of kinds) for (const n of k.never) if (err.includes(n)) leaks.push(`${budget} (stderr): ${k.kind}`);
    if (budget === 200_000) {
      // Controls: everything fits, so every ordinary file is shown whole around its redacted secret.
      for (const k of kinds.filter((x) => !x.secretFile && x.kind !== 'key in a file name' && !x.kind.startsWith('PEM'))) {
        assert.ok(json.prompt.includes(`# ${k.kind} sample\nsome ordinary wombat text before\n`), `${k.kind}: the file is in the prompt`);
      }
      assert.ok(json.prompt.includes("export const after = 'kept';"), 'a file with a PEM block is kept, the block redacted');
      assert.ok(json.prompt.includes('notes about the bucket'), 'a file named with a key is kept');
      for (const k of kinds.filter((x) => x.secretFile)) assert.ok(!json.documents.some((d) => d.path.endsWith(k.file)), `${k.kind} is not indexed`);
    }
  }
  assert.deepEqual(leaks, []);
});

test('our synchronous run of secretlint\'s recommended rules reports what @secretlint/core\'s lintSource reports', async () => {
  const { lintSource } = await import('@secretlint/core');
  const { creator } = await import('@secretlint/secretlint-rule-preset-recommend');
  const texts = [...corpus().map((k) => k.content), LOOKALIKES.join('\n'), readFileSync(__filename, 'utf8')];
  let reports = 0;
  for (const content of texts) {
    const core = await lintSource({
      source: { content, filePath: 'corpus.txt', ext: '.txt', contentType: 'text' },
      options: { config: { rules: [{ id: creator.meta.id, rule: creator, options: {} }] }, noPhysicFilePath: true },
    });
    const theirs = core.messages.map((m) => `${m.ruleId.replace(/^@secretlint\/secretlint-rule-/, '')}@${m.range.join('-')}`).sort();
    const ours = secretlintReports(content).map((r) => `${r.kind}@${r.range.join('-')}`).sort();
    assert.deepEqual(ours, theirs);
    reports += ours.length;
  }
  assert.ok(reports >= 8, `${reports} reports compared`);
});

test('look-alikes: no redaction by the function, and shown verbatim through indexing and focus', { timeout: 300_000 }, async () => {
  const flagged = LOOKALIKES.filter((l) => redactSecrets(l).redactions > 0 || detectSecrets(l).length > 0);
  assert.deepEqual(flagged, []);
  const text = LOOKALIKES.join('\n') + '\n';
  assert.equal(redactSecrets(text).redactions, 0);
  const root = mkdtempSync(join(tmpdir(), 'mc-lookalikes-'));
  writeTree(root, { 'src/lookalikes.ts': text });
  const { json } = await focusJson(root, 'password token', 100_000);
  for (const l of LOOKALIKES) assert.ok(json.prompt.includes(l), `shown verbatim: ${l}`);
});

test('redaction keeps length and lines; a PEM block is redacted, not the file', () => {
  for (const k of corpus().filter((x) => !x.secretFile)) {
    const red = redactSecrets(k.content);
    assert.equal(red.text.length, k.content.length, k.kind);
    assert.deepEqual(red.text.split('\n').map((l) => l.length), k.content.split('\n').map((l) => l.length), `${k.kind}: every line keeps its length`);
    assert.equal(redactSecrets(red.text).redactions, 0, `${k.kind}: stable`);
  }
  // Short secrets become stars; long ones carry their kind; CRLF and line breaks stay.
  assert.equal(redactSecrets('ftp://u:q7@h.example.com').text, 'ftp://u:**@h.example.com');
  const pem = 'a\r\n-----BEGIN EC PRIVATE KEY-----\r\nMHcCAQEEIB\r\n-----END EC PRIVATE KEY-----\r\nb\n';
  const out = redactSecrets(pem).text;
  assert.equal(out.length, pem.length);
  assert.deepEqual(out.split('\n').map((l) => l.endsWith('\r')), pem.split('\n').map((l) => l.endsWith('\r')));
  assert.match(out, /^a\r\n\[REDACTED:private-key\]\*+\r\n\[REDACTED\]\r\n\[REDACTED:private-key\]\*+\r\nb\n$/);
  // The spans are where the secrets were.
  const gh = 'gh' + 'p_' + mixed(ALNUM, 36);
  const text = `x = 1\ntoken = "${gh}"\n`;
  assert.deepEqual(findSecrets(text).map((s) => text.slice(s.start, s.end)), [gh]);
});

test('true offsets: every exact run of a file with secrets is the disk text at its charStart/charEnd, except at redacted spans', { timeout: 300_000 }, async () => {
  const gh = 'gh' + 'p_' + mixed(ALNUM, 36);
  const aws = 'AK' + 'IA' + rnd(UPPER, 16);
  const pemBody = Array.from({ length: 4 }, () => rnd(B64, 64));
  const lines: string[] = [];
  for (let i = 0; i < 120; i++) {
    if (i === 10) lines.push(`const githubToken = "${gh}"; // the release bot`);
    else if (i === 40) lines.push(`-----BEGIN PRIVATE KEY-----`, ...pemBody, '-----END PRIVATE KEY-----');
    else if (i === 80) lines.push(`export const bucketKeyId = '${aws}'; const dsn = "redis://:pw@cache:6379";`);
    else lines.push(`export function step${i}(input: number): number { return input * ${i} + ${i % 7}; } // wombat ${i}`);
  }
  const disk = lines.join('\n') + '\n';
  const root = mkdtempSync(join(tmpdir(), 'mc-offsets-'));
  writeTree(root, { 'src/steps.ts': disk });
  const spans = findSecrets(disk);
  assert.equal(spans.length, 4, JSON.stringify(spans.map((s) => s.kind)));
  const inSecret = (i: number) => spans.some((s) => i >= s.start && i < s.end);
  const { json } = await focusJson(root, 'github token release bot bucketKeyId wombat step80', 100_000);
  const doc = json.documents.find((d) => d.path.endsWith('steps.ts'))!;
  assert.equal(doc.chars, disk.length, 'the document has the length of the file on disk');
  const exact = json.entries.filter((e) => e.path.endsWith('steps.ts') && e.lod === 0);
  assert.ok(exact.length > 0);
  let covered = 0;
  for (const e of exact) {
    const onDisk = disk.slice(e.charStart, e.charEnd);
    // Exact runs are whole lines of the file; find this entry's lines in the prompt's run for them.
    const firstLine = disk.slice(0, e.charStart).split('\n').length;
    const shown = redactSecrets(disk).text.slice(e.charStart, e.charEnd);
    assert.ok(json.prompt.includes(shown), `entry ${e.charStart}-${e.charEnd} (line ${firstLine}) is in the prompt as the disk text at those offsets`);
    assert.equal(shown.length, onDisk.length);
    for (let i = 0; i < onDisk.length; i++) {
      if (shown[i] !== onDisk[i]) assert.ok(inSecret(e.charStart + i), `offset ${e.charStart + i} differs outside a secret`);
    }
    covered += onDisk.length;
  }
  // The run markers' line numbers are the disk's.
  const runs = [...json.prompt.matchAll(/\[\[exact L(\d+)-(\d+)\]\]\n([\s\S]*?)\n\[\[\/exact\]\]/g)];
  assert.ok(runs.length > 0);
  const diskLines = disk.split('\n');
  const redLines = redactSecrets(disk).text.split('\n');
  for (const m of runs) {
    const [a, b] = [Number(m[1]), Number(m[2])];
    assert.equal(m[3], redLines.slice(a - 1, b).join('\n'), `run L${a}-${b} holds lines ${a}-${b} of the file`);
    assert.equal(m[3].length, diskLines.slice(a - 1, b).join('\n').length);
  }
  assert.ok(covered >= disk.length / 2, `most of the file is exact at this budget (${covered} of ${disk.length})`);
  assert.ok(!json.prompt.includes(gh) && !json.prompt.includes(aws) && !pemBody.some((l) => json.prompt.includes(l.slice(10, 40))));
});

test('discovery: secret files by content are skipped; a PEM block in an ordinary file is not a reason any more', async () => {
  const root = mkdtempSync(join(tmpdir(), 'mc-secret-files-'));
  const c = corpus();
  writeTree(root, Object.fromEntries(c.map((k) => [k.file, k.content])));
  const r = await discoverFiles([root], { exclude: [] });
  const skipped = new Map(r.skipped.map((s) => [s.path, s.reason]));
  for (const k of c) {
    const p = join(root, k.file);
    if (k.secretFile) assert.equal(skipped.get(p), 'secret', k.kind);
    else assert.ok(r.files.some((f) => f.path === p), `${k.kind} is kept`);
  }
  assert.ok(readFileSync(join(root, 'src/keys.ts'), 'utf8').includes('BEGIN RSA PRIVATE KEY'));
});
