// Secret files by name and secret formats by content (src/core/secrets.ts): the credential files and
// key formats issue #7 lists, each detected and redacted, and look-alikes left alone. Every secret-shaped
// value is built at run time from a prefix and seeded random characters, so none is committed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { discoverFiles } from '../../src/core/discovery';
import {
  configHoldsCredential, detectSecrets, isSecretPath, needsCredentialCheck, redactSecrets, secretPathRule,
} from '../../src/core/secrets';
import { seededText } from './support/seededText';

const rnd = seededText(0x5ec7e7);
const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const B64 = ALNUM + '+/';
const URLSAFE = ALNUM + '_-';
/** Random characters that surely mix digits and both cases (what real keys look like). */
const mixed = (alphabet: string, n: number): string => 'a1Z' + rnd(alphabet, n - 3);

test('the secret files issue #7 names are secret by name, in any folder, with / or \\ separators', () => {
  const secret: [string, RegExp][] = [
    ['/w/.env', /dotenv/], ['/w/.env.local', /dotenv/], ['/w/app/.env.production', /dotenv/],
    ['/w/id_rsa', /SSH/], ['/w/id_rsa.pub', /SSH/], ['/h/.ssh/id_ed25519', /SSH/], ['C:\\Users\\a\\.ssh\\id_ecdsa', /SSH/],
    ['/w/server.pem', /private key/], ['/w/tls.key', /private key/], ['/w/cert.p12', /private key/], ['/w/cert.pfx', /private key/], ['/w/putty.ppk', /private key/],
    ['/w/.git-credentials', /git credential/], ['/h/.netrc', /netrc/], ['/h/.pgpass', /PostgreSQL/],
    ['/h/.aws/credentials', /AWS/], ['C:\\Users\\a\\.aws\\credentials', /AWS/],
    ['/h/.docker/config.json', /Docker/],
    ['/h/.config/gcloud/application_default_credentials.json', /gcloud/],
    ['/h/.config/gcloud/credentials.db', /gcloud/], ['/h/.config/gcloud/access_tokens.db', /gcloud/],
    ['/h/.config/gcloud/legacy_credentials/me@example.com/adc.json', /gcloud/],
    ['/h/.azure/accessTokens.json', /Azure/], ['/h/.azure/msal_token_cache.json', /Azure/], ['/h/.azure/msal_token_cache.bin', /Azure/],
    ['/h/.azure/service_principal_entries.json', /Azure/], ['C:\\Users\\a\\.azure\\msal_http_cache.bin', /Azure/],
    ['/h/.kube/config', /Kubernetes/],
    ['/h/.cargo/credentials.toml', /Cargo/], ['/h/.gem/credentials', /RubyGems/], ['/h/.config/gh/hosts.yml', /GitHub CLI/],
    ['/h/.terraform.d/credentials.tfrc.json', /Terraform/],
  ];
  for (const [p, why] of secret) {
    assert.match(secretPathRule(p) ?? 'not secret', why, p);
    assert.ok(isSecretPath(p), p);
  }
  const ordinary = [
    '/w/src/kube/config.ts', '/w/config', '/w/.kube.md', '/w/.azure/azureProfile.json', '/w/.azure/config', '/w/gh/hosts.ts',
    '/w/.cargo/config.toml', '/w/src/credentials.ts', '/w/gcloud/README.md', '/w/legacy_credentials/notes.md', '/w/docs/keys.md',
    '/w/.npmrc', '/w/.pypirc', '/w/.yarnrc.yml', '/w/environment.ts',
  ];
  for (const p of ordinary) assert.equal(secretPathRule(p), null, p);
});

test('npmrc, pypirc, yarnrc and kubeconfig files are secret only when they hold a literal credential', () => {
  for (const p of ['/w/.npmrc', '/w/.pypirc', '/w/.yarnrc', '/w/.yarnrc.yml', '/w/kubeconfig', '/w/deploy/prod.kubeconfig']) {
    assert.ok(needsCredentialCheck(p), p);
  }
  for (const p of ['/w/npmrc.ts', '/w/.npmrc.md', '/w/kubeconfig.ts', '/w/.kubeconfig.d/x']) assert.ok(!needsCredentialCheck(p), p);

  const npmToken = 'npm_' + rnd(ALNUM, 36);
  const holding = [
    `registry=https://registry.npmjs.org/\n//registry.npmjs.org/:_authToken=${npmToken}\n`,
    `//npm.example.com/:_auth=${rnd(B64, 24)}\n`,
    `[pypi]\nusername = __token__\npassword = pypi-AgEIcHlwaS5vcmc${rnd(URLSAFE, 60)}\n`,
    `npmRegistryServer: "https://npm.example.com"\nnpmAuthToken: "${rnd(ALNUM, 30)}"\n`,
    `users:\n- name: admin\n  user:\n    token: ${rnd(ALNUM, 40)}\n`,
    `users:\n- name: admin\n  user:\n    client-key-data: ${rnd(B64, 60)}\n`,
  ];
  for (const text of holding) assert.ok(configHoldsCredential(text), text);
  const clean = [
    'registry=https://registry.npmjs.org/\nsave-exact=true\n',
    '//registry.npmjs.org/:_authToken=${NPM_TOKEN}\n',
    '# _authToken=commented-out-value\n; password = also-commented\n',
    'npmAuthToken: "${NPM_TOKEN}"\n',
    'users:\n- name: admin\n  user:\n    token: ""\n',
    '[distutils]\nindex-servers = pypi\n',
  ];
  for (const text of clean) assert.ok(!configHoldsCredential(text), text);
});

test('secret files issue #7 lists are skipped by discovery with reason "secret"; clean configs are kept', async () => {
  const root = mkdtempSync(join(tmpdir(), 'mc-secrets-'));
  const files: Record<string, string> = {
    '.kube/config': `apiVersion: v1\nusers:\n- name: a\n  user:\n    token: ${rnd(ALNUM, 40)}\n`,
    '.azure/accessTokens.json': `[{"accessToken": "${rnd(URLSAFE, 80)}"}]`,
    '.azure/msal_token_cache.json': `{"AccessToken": {"k": {"secret": "${rnd(URLSAFE, 80)}"}}}`,
    '.config/gcloud/application_default_credentials.json': `{"type": "authorized_user", "refresh_token": "1//${rnd(URLSAFE, 60)}"}`,
    '.yarnrc.yml': `npmAuthToken: "${rnd(ALNUM, 30)}"\n`,
    'deploy/prod.kubeconfig': `users:\n- name: ci\n  user:\n    client-key-data: ${rnd(B64, 60)}\n`,
    'keys/deploy.ppk': `PuTTY-User-Key-File-3: ssh-ed25519\nPrivate-Lines: 1\n${rnd(B64, 44)}\n`,
    'ok/.yarnrc.yml': 'nodeLinker: node-modules\n',
    'ok/.npmrc': 'save-exact=true\n',
    'ok/main.ts': 'export const answer = 42;\n',
  };
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, rel)), { recursive: true });
    writeFileSync(join(root, rel), text);
  }
  const r = await discoverFiles([root], { exclude: [] });
  const reason = Object.fromEntries(r.skipped.map((s) => [relative(root, s.path).split('\\').join('/'), s.reason]));
  for (const rel of Object.keys(files).filter((f) => !f.startsWith('ok/'))) assert.equal(reason[rel], 'secret', rel);
  assert.deepEqual(r.files.map((f) => relative(root, f.path).split('\\').join('/')).sort(), ['ok/.npmrc', 'ok/.yarnrc.yml', 'ok/main.ts']);
});

/** A secret inside ordinary text: the line it sits on, the value that must vanish, the kind it is reported as. */
interface Planted { line: string; value: string; kind: string }

function planted(): Planted[] {
  const awsSecret = rnd(B64, 40);
  const sdkSecret = rnd(B64, 40);
  const jsonSecret = rnd(B64, 40);
  const envSecret = rnd(B64, 40);
  const p = (line: (v: string) => string, value: string, kind: string): Planted => ({ line: line(value), value, kind });
  return [
    p((v) => `const id = '${v}';`, 'AK' + 'IA' + rnd(UPPER, 16), 'aws-access-key-id'),
    p((v) => `session = "${v}"`, 'AS' + 'IA' + rnd(UPPER, 16), 'aws-access-key-id'),
    p((v) => `aws_secret_access_key = ${v}`, awsSecret, 'aws-secret-access-key'),
    p((v) => `export AWS_SECRET_ACCESS_KEY=${v}`, envSecret, 'aws-secret-access-key'),
    p((v) => `new S3Client({ credentials: { secretAccessKey: '${v}' } });`, sdkSecret, 'aws-secret-access-key'),
    p((v) => `{ "Credentials": { "SecretAccessKey": "${v}" } }`, jsonSecret, 'aws-secret-access-key'),
    p((v) => `token: ${v}`, 'gh' + 'p_' + mixed(ALNUM, 36), 'github-token'),
    p((v) => `GH=${v}`, 'github' + '_pat_' + mixed(ALNUM + '_', 60), 'github-token'),
    p((v) => `gitlab = "${v}"`, 'gl' + 'pat-' + rnd(URLSAFE, 20), 'gitlab-token'),
    p((v) => `SLACK_BOT=${v}`, 'xo' + 'xb-' + rnd('0123456789', 12) + '-' + rnd(ALNUM, 24), 'slack-token'),
    p((v) => `SLACK_APP=${v}`, 'xa' + 'pp-1-' + rnd(UPPER, 11) + '-' + rnd(ALNUM, 30), 'slack-token'),
    p((v) => `post("https://${v}")`, 'hooks.slack' + '.com/services/T' + rnd(UPPER, 8) + '/B' + rnd(UPPER, 10) + '/' + rnd(ALNUM, 24), 'slack-webhook'),
    p((v) => `key: '${v}'`, 'AI' + 'za' + rnd(URLSAFE, 35), 'google-api-key'),
    p((v) => `client_secret = "${v}"`, 'GOC' + 'SPX-' + rnd(URLSAFE, 28), 'google-oauth-secret'),
    p((v) => `Authorization: Bearer ${v}`, 'ya' + '29.' + rnd(URLSAFE, 80), 'google-oauth-token'),
    p((v) => `stripe(${JSON.stringify(v)})`, 'sk' + '_live_' + rnd(ALNUM, 24), 'stripe-key'),
    p((v) => `restricted = "${v}"`, 'rk' + '_live_' + rnd(ALNUM, 24), 'stripe-key'),
    p((v) => `//registry.example.com/:_authToken=${v}`, 'np' + 'm_' + rnd(ALNUM, 36), 'npm-token'),
    p((v) => `password = ${v}`, 'py' + 'pi-AgEIcHlwaS5vcmc' + rnd(URLSAFE, 60), 'pypi-token'),
    p((v) => `//npm.example.com/:_authToken=${v}`, rnd(ALNUM, 40), 'registry-auth'),
    p((v) => `_auth = "${v}"`, rnd(B64, 32), 'registry-auth'),
    p((v) => `npmAuthToken: "${v}"`, rnd(ALNUM, 30), 'registry-auth'),
    p((v) => `HF_TOKEN=${v}`, 'h' + 'f_' + rnd('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz', 34), 'huggingface-token'),
    p((v) => `sendgrid.setApiKey('${v}')`, 'S' + 'G.' + rnd(URLSAFE, 22) + '.' + rnd(URLSAFE, 43), 'sendgrid-key'),
    p((v) => `OPENAI_API_KEY=${v}`, 's' + 'k-proj-' + mixed(URLSAFE, 48), 'api-key'),
    p((v) => `anthropic = "${v}"`, 's' + 'k-ant-api03-' + mixed(URLSAFE, 60), 'api-key'),
    p((v) => `conn = "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=${v};EndpointSuffix=core.windows.net"`, rnd(B64, 86) + '==', 'azure-storage-key'),
    p((v) => `{ "type": "service_account", "private_key": "${v}" }`, 'MIIEv' + rnd(B64, 60) + '\\n' + rnd(B64, 40), 'private-key-json'),
    p((v) => `{ "client_id": "x.apps.googleusercontent.com", "client_secret": "${v}" }`, rnd(URLSAFE, 24), 'oauth-secret-json'),
    p((v) => `{ "refresh_token": "${v}" }`, '1//0' + rnd(URLSAFE, 60), 'oauth-secret-json'),
    p((v) => `https://octocat:${v}@github.com`, rnd(ALNUM, 20), 'url-password'),
    p((v) => `DATABASE_URL = "postgres://app:${v}@db.internal:5432/app"`, rnd(ALNUM, 18), 'url-password'),
  ];
}

test('every known secret format is found on its line, of its kind, and redacted in place', () => {
  const cases = planted();
  const text = ['# settings', ...cases.map((c) => c.line), '# end'].join('\n');
  const kinds = detectSecrets(text);
  // One finding per planted line, in order (a line may hold no other finding).
  assert.deepEqual(kinds, cases.map((c, i) => ({ line: i + 2, kind: c.kind })));
  const red = redactSecrets(text);
  assert.equal(red.redactions, cases.length);
  const lines = red.text.split('\n');
  assert.equal(lines.length, cases.length + 2, 'line count kept');
  cases.forEach((c, i) => {
    const out = lines[i + 1];
    // Length-preserving: a value shorter than its label shows as "[REDACTED]" and stars.
    const label = `[REDACTED:${c.kind}]`;
    assert.ok(out.includes(c.value.length >= label.length ? label : '[REDACTED]'), `${c.kind}: ${out}`);
    assert.equal(out.length, c.line.length, `${c.kind}: same length`);
    // Not the value, nor any 12-character piece of its random part.
    for (let k = 0; k + 12 <= c.value.length; k++) {
      const piece = c.value.slice(k, k + 12);
      if (!/[A-Za-z0-9]{2}/.test(piece) || /^(AKIA|ASIA|github_pat_|pypi-AgEIcHlwaS5vcmc|hooks\.slack\.com|sk-ant-api03)/.test(piece)) continue;
      assert.ok(!red.text.includes(piece), `${c.kind}: «${piece}» survived in ${out}`);
    }
  });
  // Redaction is stable: a redacted text has nothing left to redact.
  assert.equal(redactSecrets(red.text).redactions, 0);
});

test('each format is detected alone too (no rule depends on another line)', () => {
  for (const c of planted()) {
    assert.deepEqual(detectSecrets(`x\n${c.line}\n`), [{ line: 2, kind: c.kind }], c.line);
  }
});

test('PEM private key blocks of every flavour are redacted whole; public keys and certificates are not', () => {
  const body = () => Array.from({ length: 4 }, () => rnd(B64, 64));
  for (const label of ['RSA PRIVATE KEY', 'PRIVATE KEY', 'EC PRIVATE KEY', 'OPENSSH PRIVATE KEY', 'ENCRYPTED PRIVATE KEY', 'DSA PRIVATE KEY', 'PGP PRIVATE KEY BLOCK']) {
    const lines = body();
    const text = `const key = \`\n-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n\`;\n`;
    assert.deepEqual(detectSecrets(text), [{ line: 2, kind: 'private-key' }], label);
    const red = redactSecrets(text).text;
    for (const l of lines) assert.ok(!red.includes(l.slice(10, 30)), `${label}: body survived`);
    assert.equal(red.split('\n').length, text.split('\n').length, `${label}: line count kept`);
  }
  for (const label of ['PUBLIC KEY', 'CERTIFICATE', 'RSA PUBLIC KEY']) {
    const text = `-----BEGIN ${label}-----\n${body().join('\n')}\n-----END ${label}-----\n`;
    assert.deepEqual(detectSecrets(text), [], label);
  }
});

test('placeholders, references and look-alikes are left alone', () => {
  const code = [
    'DATABASE_URL = "postgres://app:${DB_PASSWORD}@db:5432/app"',
    'const url = `https://user:{{password}}@example.com`;',
    'see https://example.com:8443/path and mailto:someone@example.com',
    'git clone git@github.com:org/repo.git',
    '{ "client_secret": "<your client secret>", "refresh_token": "xxxxxxxx", "access_token": "${TOKEN}" }',
    'const AccountKey = process.env.AZURE_KEY; // AccountKey=<key>',
    'const secretAccessKey = process.env.AWS_SECRET_ACCESS_KEY;',
    'const hf_model = "bert"; const sk = "sk-short"; const SG = "SG.short";',
    'npm_config_cache=/tmp/npm',
    '//registry.npmjs.org/:_authToken=${NPM_TOKEN}',
    'npmAuthToken: "${NPM_TOKEN}"',
    'const _auth = useAuth(); _password = null;',
  ].join('\n');
  assert.deepEqual(detectSecrets(code), []);
  assert.deepEqual(redactSecrets(code), { text: code, redactions: 0 });
});

test('a megabyte of one long line without separators is scanned in one pass (no runaway backtracking)', () => {
  // Long unbroken runs are where a badly anchored pattern goes quadratic; this test finishing at all
  // (node's default test timeout is infinite, so a hang shows as a stuck run) is the check, plus the result.
  const long = 'k'.repeat(1_000_000);
  assert.deepEqual(detectSecrets(`x = "${long}"\nurl = "https://u:${long}`), []);
  const hidden = 'AK' + 'IA' + rnd(UPPER, 16);
  assert.deepEqual(detectSecrets(`${'a '.repeat(400_000)}${hidden}`), [{ line: 1, kind: 'aws-access-key-id' }]);
});

// Lookbehinds with unbounded quantifiers made redaction quadratic in a run of spaces (a 1 MB file of
// blank lines: about 15 minutes). The timeout is a hang guard far above the linear cost (~0.2 s).
test('a 1 MB run of spaces, newlines or letters is scanned in one pass, and a key after it is still redacted', { timeout: 60_000 }, () => {
  const key = 'AK' + 'IA' + rnd('ABCDEFGHIJKLMNOPQRSTUVWXYZ234567', 16);
  for (const filler of [' ', '\n', 'a']) {
    const text = filler.repeat(1_000_000) + `\naws_secret_access_key = ${rnd('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789', 40)}\nid = ${key}\n`;
    const out = redactSecrets(text);
    assert.equal(out.redactions, 2, JSON.stringify(filler));
    assert.ok(!out.text.includes(key) && out.text.includes('[REDACTED]**********') && out.text.includes('[REDACTED:aws-secret-access-key]'));
    assert.equal(out.text.length, text.length);
  }
});
