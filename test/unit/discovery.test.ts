import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  binaryReason, DEFAULT_EXCLUDES, detectSecrets, discoverFiles, isSecretPath, redactSecrets, type DiscoveryResult,
} from '../../src/core/discovery';
import { anyGlobMatches, compileGlob, IgnoreContext } from '../../src/core/gitignore';

async function tree(spec: Record<string, string | Buffer>): Promise<string> {
  const root = await fsp.realpath(await fsp.mkdtemp(path.join(os.tmpdir(), 'mgc-disc-')));
  for (const [rel, content] of Object.entries(spec)) {
    const p = path.join(root, rel);
    await fsp.mkdir(path.dirname(p), { recursive: true });
    if (rel.endsWith('/')) await fsp.mkdir(p, { recursive: true });
    else await fsp.writeFile(p, content);
  }
  return root;
}

function rels(root: string, r: DiscoveryResult): { files: string[]; skipped: Record<string, string> } {
  const rel = (p: string): string => path.relative(root, p).split(path.sep).join('/');
  return {
    files: r.files.map((f) => rel(f.path)),
    skipped: Object.fromEntries(r.skipped.map((s) => [rel(s.path), s.reason])),
  };
}

const CASE = { ignoreCase: false };

// --- gitignore matching ---------------------------------------------------------------------

test('gitignore patterns: anchoring, wildcards, classes, **, dir-only, escapes and comments', () => {
  const level = IgnoreContext.below('', false).with([
    '# comment', '', '\\#literal', '*.log', '!keep.log', '/top.txt', 'a/b.txt', 'build/', 'temp?',
    '[abc].md', '[!x]y.md', 'docs/**/*.tmp', '**/gen', 'vendor/**', 'trail\\ ', 'spaces   ', '\\!bang',
  ].join('\n'), '');
  const cases: [string, boolean, boolean][] = [
    ['#literal', false, true], ['# comment', false, false],
    ['x.log', false, true], ['deep/x.log', false, true], ['keep.log', false, false], ['deep/keep.log', false, false],
    ['top.txt', false, true], ['sub/top.txt', false, false],
    ['a/b.txt', false, true], ['sub/a/b.txt', false, false],
    ['build', true, true], ['build', false, false], ['src/build', true, true],
    ['temp1', false, true], ['temp12', false, false], ['temp/', false, false],
    ['a.md', false, true], ['d.md', false, false], ['zy.md', false, true], ['xy.md', false, false],
    ['docs/z.tmp', false, true], ['docs/x/y/z.tmp', false, true], ['other/z.tmp', false, false],
    ['gen', true, true], ['x/y/gen', false, true],
    ['vendor/a/b.js', false, true], ['vendor', true, false],
    ['trail ', false, true], ['trail', false, false], ['spaces', false, true],
    ['!bang', false, true],
  ];
  for (const [p, isDir, ignored] of cases) {
    assert.equal(!!level.ignored(p, isDir), ignored, `${p} (dir ${isDir})`);
  }
});

test('a deeper .gitignore overrides a shallower one, last rule wins within a file', () => {
  const levels = IgnoreContext.below('', false).with('*.ts\n', '').with('!main.ts\n', 'src');
  assert.ok(levels.ignored('x.ts', false));
  assert.ok(levels.ignored('src/other.ts', false));
  assert.equal(levels.ignored('src/main.ts', false), undefined);
  assert.ok(levels.ignored('lib/main.ts', false));
});

test('include/exclude globs accept braces, ** and prune "dir/**"', () => {
  const g = [compileGlob('**/*.{png,jpg}')!];
  const m = (rules: typeof g, p: string, isDir = false): boolean => anyGlobMatches(rules, p, isDir) !== undefined;
  assert.ok(m(g, 'a/b/c.png') && m(g, 'c.jpg') && !m(g, 'c.gif'));
  const d = [compileGlob('out/**')!];
  assert.ok(m(d, 'out', true) && m(d, 'out/x/y.js') && !m(d, 'src/out/x.js') && !m(d, 'out', false));
  const nested = [compileGlob('{src,lib}/**/*.{ts,{m,c}js}')!];
  assert.ok(m(nested, 'src/a/b.ts') && m(nested, 'lib/x.mjs') && m(nested, 'lib/x.cjs') && !m(nested, 'lib/x.js') && !m(nested, 'doc/x.ts'));
  assert.equal(compileGlob('  '), null);
});

// --- discovery ------------------------------------------------------------------------------

test('nested .gitignore with negation, anchored and dir-only patterns, pruned folders', async () => {
  const root = await tree({
    '.gitignore': '*.log\n!keep.log\n/build\nlogs/\n',
    'a.ts': 'export const a = 1;\n',
    'b.log': 'x', 'keep.log': 'kept',
    'build/out.js': 'x', 'build/deep/more.js': 'x',
    'src/build/x.ts': 'not anchored here',
    'logs/today.txt': 'x', 'src/logs': 'a file named logs is kept',
    'src/.gitignore': 'generated/\n!important.log\n*.ts\n!main.ts\n',
    'src/main.ts': 'main', 'src/other.ts': 'other', 'src/important.log': 'important',
    'src/generated/g.ts': 'x',
  });
  const r = rels(root, await discoverFiles([root], CASE));
  assert.deepEqual(r.files, ['.gitignore', 'a.ts', 'keep.log', 'src/.gitignore', 'src/important.log', 'src/logs', 'src/main.ts']);
  assert.deepEqual(r.skipped, {
    'b.log': 'gitignored', build: 'gitignored', logs: 'gitignored',
    'src/build/x.ts': 'gitignored', // "/build" is anchored to the root; src/.gitignore's *.ts applies
    'src/generated': 'gitignored', 'src/other.ts': 'gitignored',
  });
});

test('default excludes prune node_modules and .git; an explicit exclude list replaces them but .git stays out', async () => {
  const root = await tree({
    'index.ts': 'x', 'node_modules/pkg/index.js': 'x', 'node_modules/pkg/deep/a.js': 'x',
    '.git/HEAD': 'ref: refs/heads/main\n', '.git/info/exclude': 'secret-notes.md\n', 'secret-notes.md': 'x',
    'out/main.js': 'x', 'src/out/keep.ts': 'x', 'package-lock.json': '{}', 'docs/a.md': 'x',
  });
  const r = rels(root, await discoverFiles([root], CASE));
  assert.deepEqual(r.files, ['docs/a.md', 'index.ts', 'src/out/keep.ts']);
  assert.deepEqual(r.skipped, {
    '.git': 'excluded', node_modules: 'excluded', out: 'excluded', 'package-lock.json': 'excluded',
    'secret-notes.md': 'gitignored',
  });
  const custom = rels(root, await discoverFiles([root], { ...CASE, exclude: ['docs/**'] }));
  assert.ok(custom.files.includes('node_modules/pkg/deep/a.js'));
  assert.equal(custom.skipped['.git'], 'excluded');
  assert.equal(custom.skipped.docs, 'excluded');
  assert.ok(DEFAULT_EXCLUDES.includes('node_modules/'));
  const inc = rels(root, await discoverFiles([root], { ...CASE, include: ['**/*.ts'] }));
  assert.deepEqual(inc.files, ['index.ts', 'src/out/keep.ts']);
  assert.equal(inc.skipped['docs/a.md'], 'excluded');
});

test('.gitignore files above a root inside a repository apply', async () => {
  const repo = await tree({ '.git/HEAD': 'x', '.gitignore': '*.gen.ts\n', 'pkg/a.ts': 'x', 'pkg/b.gen.ts': 'x' });
  const r = rels(path.join(repo, 'pkg'), await discoverFiles([path.join(repo, 'pkg')], CASE));
  assert.deepEqual(r.files, ['a.ts']);
  assert.deepEqual(r.skipped, { 'b.gen.ts': 'gitignored' });
});

test('a nested repository starts a fresh ignore context, as in git', async () => {
  const root = await tree({ '.gitignore': '*.gen\n', 'a.gen': 'x', 'sub/.git/HEAD': 'x', 'sub/.git/info/exclude': 'local.txt\n', 'sub/b.gen': 'x', 'sub/local.txt': 'x' });
  const r = rels(root, await discoverFiles([root], CASE));
  assert.deepEqual(r.files, ['.gitignore', 'sub/b.gen']);
  assert.deepEqual(r.skipped, { 'a.gen': 'gitignored', 'sub/.git': 'excluded', 'sub/local.txt': 'gitignored' });
});

test('binary, oversized, unreadable-by-kind and secret files are skipped with reasons', async () => {
  const random = Buffer.alloc(800);
  for (let i = 0; i < random.length; i++) random[i] = 128 + ((i * 7919) % 127);
  const root = await tree({
    'text.md': '# hi\n', 'bin.dat': Buffer.from([1, 2, 0, 3]), 'noise.bin': random,
    'latin1.txt': Buffer.concat([Buffer.from('plain text '.repeat(50)), Buffer.from([0xe9]), Buffer.from(' more')]),
    'big.txt': 'x'.repeat(2000),
    '.env': 'A=1', '.env.local': 'A=1', 'id_rsa': 'x', 'id_ed25519.pub': 'x', 'server.pem': 'x', 'tls.key': 'x',
    'cert.p12': 'x', '.aws/credentials': 'x', '.aws/config': '[default]\nregion=eu-west-1\n',
    '.docker/config.json': '{}', 'store.jks': 'x', '.netrc': 'x', '.git-credentials': 'x', '.htpasswd': 'x',
    'gcloud/application_default_credentials.json': '{}',
    '.npmrc': '//registry.npmjs.org/:_authToken=npm_abcdefghijklmnop\n',
    'ok/.npmrc': 'registry=https://registry.npmjs.org/\n//registry.npmjs.org/:_authToken=${NPM_TOKEN}\n',
    '.pypirc': '[pypi]\nusername = me\npassword = hunter2hunter2\n',
    'notes/key.txt': 'see below\n-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk=\n-----END OPENSSH PRIVATE KEY-----\n',
  });
  const res = await discoverFiles([root], { ...CASE, maxFileBytes: 1000 });
  const r = rels(root, res);
  // A private key block inside an ordinary file is redacted at indexing, the file kept (issue #18).
  assert.deepEqual(r.files, ['.aws/config', 'latin1.txt', 'notes/key.txt', 'ok/.npmrc', 'text.md']);
  const secrets = ['.env', '.env.local', 'id_rsa', 'id_ed25519.pub', 'server.pem', 'tls.key', 'cert.p12',
    '.aws/credentials', '.docker/config.json', 'store.jks', '.netrc', '.git-credentials', '.htpasswd',
    'gcloud/application_default_credentials.json', '.npmrc', '.pypirc'];
  for (const s of secrets) assert.equal(r.skipped[s], 'secret', s);
  assert.equal(r.skipped['bin.dat'], 'binary');
  assert.equal(r.skipped['noise.bin'], 'binary');
  assert.equal(r.skipped['big.txt'], 'too-large');
  assert.match(res.skipped.find((s) => s.path.endsWith('big.txt'))!.detail!, /2000 bytes > 1000/);
  const text = res.files.find((f) => f.path.endsWith('text.md'))!;
  assert.equal(text.size, 5);
  assert.ok(text.mtimeMs > 0);
});

test('symlinks are skipped, never followed: a link loop cannot hang', async () => {
  const root = await tree({ 'a/file.ts': 'x', 'target.ts': 'y' });
  await fsp.symlink(root, path.join(root, 'a', 'loop'));
  await fsp.symlink(path.join(root, 'target.ts'), path.join(root, 'link.ts'));
  const r = rels(root, await discoverFiles([root], CASE));
  assert.deepEqual(r.files, ['a/file.ts', 'target.ts']);
  assert.deepEqual(r.skipped, { 'a/loop': 'symlink', 'link.ts': 'symlink' });
});

test('file roots are taken as chosen; results are absolute, sorted and deduplicated', async () => {
  const root = await tree({ '.gitignore': '*.txt\n', 'z.txt': 'z', 'b/a.ts': 'a', '.env': 'S=1', 'gone/': '' });
  const res = await discoverFiles([path.join(root, 'z.txt'), root, path.join(root, 'b', 'a.ts'), path.join(root, '.env'), path.join(root, 'nope')], CASE);
  assert.deepEqual(res.files.map((f) => f.path), [path.join(root, '.gitignore'), path.join(root, 'b', 'a.ts'), path.join(root, 'z.txt')]);
  const r = rels(root, res);
  assert.deepEqual(r.skipped, { '.env': 'secret', nope: 'unreadable' });
});

test('an abort signal stops the walk', async () => {
  const spec: Record<string, string> = {};
  for (let i = 0; i < 200; i++) spec[`d${i}/f.txt`] = 'x';
  const root = await tree(spec);
  const ac = new AbortController();
  ac.abort();
  await assert.rejects(discoverFiles([root], { signal: ac.signal }), { name: 'AbortError' });
  const ac2 = new AbortController();
  const walk = discoverFiles([root], { signal: ac2.signal });
  setImmediate(() => ac2.abort());
  await assert.rejects(walk, { name: 'AbortError' });
});

test('binaryReason tolerates a UTF-8 character cut at the 8 KiB boundary', () => {
  const text = Buffer.from('é'.repeat(10));
  assert.equal(binaryReason(text.subarray(0, 7), true), null);
  assert.equal(binaryReason(Buffer.from([0xff, 0xfe, 0xfd, 0x41]), false), 'invalid UTF-8');
});

// --- secrets --------------------------------------------------------------------------------

test('isSecretPath knows the secret file names', () => {
  for (const p of ['/w/.env', '/w/.env.production', 'C:\\w\\id_ecdsa', '/h/.aws/credentials', '/h/.docker/config.json',
    '/w/a.keystore', '/w/x.pfx', '/w/.netrc', '/w/.htpasswd', '/h/.config/gcloud/application_default_credentials.json']) {
    assert.ok(isSecretPath(p), p);
  }
  for (const p of ['/w/env.ts', '/w/src/credentials.ts', '/w/config.json', '/w/keys.ts', '/w/.environment', '/w/.npmrc']) {
    assert.ok(!isSecretPath(p), p);
  }
});

const FAKE = {
  aws: 'AKIA' + 'IOSFODNN7EXAMPLE',
  awsSecret: 'aws_secret_access_key = ' + 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  github: 'ghp_' + 'a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8',
  pat: 'github_pat_' + '11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz',
  slack: 'xoxb-' + '123456789012-1234567890123-AbCdEfGhIjKlMnOp',
  google: 'AIza' + 'SyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q',
  openai: 'sk-' + 'proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z',
  stripe: 'sk_live_' + '4eC39HqLyjWDarjtT1zdp7dc',
};

test('detectSecrets finds each known format on its line', () => {
  const text = [
    `const id = "${FAKE.aws}";`, FAKE.awsSecret, `token: ${FAKE.github}`, `pat=${FAKE.pat}`,
    `SLACK=${FAKE.slack}`, `key: '${FAKE.google}'`, `OPENAI_API_KEY=${FAKE.openai}`, `stripe(${JSON.stringify(FAKE.stripe)})`,
    '{ "type": "service_account", "private_key": "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC\\nabc" }',
  ].join('\n');
  assert.deepEqual(detectSecrets(text), [
    { line: 1, kind: 'aws-access-key-id' }, { line: 2, kind: 'aws-secret-access-key' }, { line: 3, kind: 'github-token' },
    { line: 4, kind: 'github-token' }, { line: 5, kind: 'slack-token' }, { line: 6, kind: 'google-api-key' },
    { line: 7, kind: 'api-key' }, { line: 8, kind: 'stripe-key' }, { line: 9, kind: 'private-key-json' },
  ]);
  const red = redactSecrets(text);
  assert.equal(red.redactions, 9);
  assert.equal(red.text.split('\n').length, 9);
  for (const v of Object.values(FAKE)) assert.ok(!red.text.includes(v.slice(-12)), v);
  // Same length, same lines: a secret shorter than its label becomes "[REDACTED]" and stars.
  assert.equal(red.text.length, text.length);
  assert.match(red.text, /^const id = "\[REDACTED\]\*{10}";$/m);
  assert.match(red.text, /^token: \[REDACTED:github-token\]\*{17}$/m);
  assert.match(red.text, /"private_key": "\[REDACTED:private-key-json\]\*+" }$/m);
});

test('a PEM private key block is redacted line by line, keeping the line count', () => {
  const text = 'before\r\n-----BEGIN RSA PRIVATE KEY-----\r\nMIIEpAIBAAKCAQEA\r\nq7R8s9\r\n-----END RSA PRIVATE KEY-----\r\nafter\n' +
    'const k = "-----BEGIN PRIVATE KEY-----\\nMIIB\\n-----END PRIVATE KEY-----\\n"; // inline\nlast';
  assert.deepEqual(detectSecrets(text), [{ line: 2, kind: 'private-key' }, { line: 7, kind: 'private-key' }]);
  const red = redactSecrets(text);
  assert.equal(red.redactions, 2);
  // Every line keeps its length and its line break (CRLF too); the block itself is gone.
  const stars = (n: number, label = '[REDACTED:private-key]') => (n >= label.length ? label + '*'.repeat(n - label.length) : n >= 10 ? '[REDACTED]' + '*'.repeat(n - 10) : '*'.repeat(n));
  assert.deepEqual(red.text.split('\n'), [
    'before\r', stars(31) + '\r', stars(16) + '\r', stars(6) + '\r', stars(29) + '\r',
    'after', `const k = "${stars(60)}\\n"; // inline`, 'last',
  ]);
  assert.equal(red.text.length, text.length);
  const unterminated = redactSecrets('a\n-----BEGIN EC PRIVATE KEY-----\nxyz\nmore');
  assert.equal(unterminated.text, `a\n${stars(30)}\n***\n****`);
  assert.deepEqual(detectSecrets('-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----'), []);
});

test('ordinary code is not mistaken for secrets', () => {
  const code = [
    'function skeleton_key(token: string) { return token; }',
    'const task-runner-for-the-sk-build = 1; const sk = "sk-some-long-kebab-case-identifier-name";',
    'const accessToken = getToken(); // the token expires',
    'AKIA_PREFIX = "AKIA"; const ghp_ = "ghp_"; const password = process.env.PASSWORD;',
    'const privateKey = loadKey("-----BEGIN PUBLIC KEY-----");',
    '"private_key_id": "abc", "client_email": "x@y.iam.gserviceaccount.com"',
  ].join('\n');
  assert.deepEqual(detectSecrets(code), []);
  assert.deepEqual(redactSecrets(code), { text: code, redactions: 0 });
});

test('agrees with git on which files are ignored', async (t) => {
  const { spawnSync } = await import('node:child_process');
  if (spawnSync('git', ['--version']).status !== 0) return t.skip('git is not installed');
  const names = ['a.ts', 'b.log', 'keep.log', 'x.tmp', 'Makefile', 'c1.md', 'cz.md', 'temp7', 'foo bar.txt', '#x'];
  const dirs = ['', 'src/', 'src/gen/', 'build/', 'src/build/', 'docs/api/v1/', 'vendor/lib/', 'logs/', 'out/x/', 'tmp/'];
  const spec: Record<string, string> = {
    '.gitignore': [
      '*.log', '!keep.log', '/build/', 'gen/', 'docs/**/*.md', 'c[0-9].md', 'temp?', 'vendor/**', '!vendor/lib/a.ts',
      'logs', '!logs/keep.log', '**/out/x', 'foo\\ bar.txt', '\\#x', 'tmp/*', '!tmp/a.ts', '',
    ].join('\n'),
    'src/.gitignore': '!*.log\n*.md\n!c1.md\nMakefile\n/x.tmp\n',
    'docs/.gitignore': '!api/v1/cz.md\n',
  };
  for (const d of dirs) for (const n of names) spec[d + n] = 'x';
  const root = await tree(spec);
  assert.equal(spawnSync('git', ['init', '-q'], { cwd: root }).status, 0);
  const git = spawnSync('git', ['ls-files', '--others', '--exclude-standard', '-z'], { cwd: root, encoding: 'utf8' });
  const expected = git.stdout.split('\0').filter((s) => s !== '').sort();
  const ours = rels(root, await discoverFiles([root], { ...CASE, exclude: [] })).files;
  assert.ok(expected.length > 15 && expected.length < 90, `git kept ${expected.length}`);
  assert.deepEqual(ours, expected);
});

test('include and exclude globs answer the same over a long walk (their matchers start afresh every few hundred paths)', async () => {
  const spec: Record<string, string> = {};
  for (let i = 0; i < 700; i++) {
    spec[`src/m${String(i).padStart(3, '0')}.${i % 7 === 0 ? 'map' : i % 5 === 0 ? 'md' : 'ts'}`] = 'x\n';
    if (i % 50 === 0) spec[`src/d${i}/node_modules/dep.ts`] = 'x\n';
  }
  const root = await tree(spec);
  try {
    const r = rels(root, await discoverFiles([root], { include: ['**/*.ts'], exclude: ['*.map', 'node_modules/'] }));
    const want = Object.keys(spec).filter((p) => p.endsWith('.ts') && !p.includes('node_modules')).sort();
    assert.deepEqual(r.files, want);
    for (let i = 0; i < 700; i++) {
      const p = `src/m${String(i).padStart(3, '0')}`;
      if (i % 7 === 0) assert.equal(r.skipped[`${p}.map`], 'excluded', `${p}.map`);
      else if (i % 5 === 0) assert.equal(r.skipped[`${p}.md`], 'excluded', `${p}.md`);
    }
    for (let i = 0; i < 700; i += 50) assert.equal(r.skipped[`src/d${i}/node_modules`], 'excluded');
  } finally {
    await fsp.rm(root, { recursive: true, force: true });
  }
});

test('a .gitignore answers the same over a long walk (its matcher starts afresh every few hundred paths)', async () => {
  const spec: Record<string, string> = { '.gitignore': '*.log\n!keep*.log\nbuild/\n' };
  for (let i = 0; i < 700; i++) {
    const n = String(i).padStart(3, '0');
    spec[`src/m${n}.${i % 3 === 0 ? 'log' : 'ts'}`] = 'x\n';
    if (i % 10 === 0) spec[`src/keep${n}.log`] = 'x\n';
    if (i % 100 === 0) spec[`src/p${n}/build/out.ts`] = 'x\n';
  }
  const root = await tree(spec);
  try {
    const r = rels(root, await discoverFiles([root]));
    const want = Object.keys(spec).filter((p) => p !== '.gitignore' && !p.includes('/build/') && (!p.endsWith('.log') || p.includes('/keep'))).sort();
    assert.deepEqual(r.files.filter((p) => p !== '.gitignore'), want);
    for (let i = 0; i < 700; i += 3) assert.equal(r.skipped[`src/m${String(i).padStart(3, '0')}.log`], 'gitignored', `m${i}.log`);
    for (let i = 0; i < 700; i += 100) assert.equal(r.skipped[`src/p${String(i).padStart(3, '0')}/build`], 'gitignored');
  } finally {
    await fsp.rm(root, { recursive: true, force: true });
  }
});
