/**
 * Secrets: files that are secret by name or by content, and known secret formats inside any text.
 * Discovery skips secret files; whoever tokenizes a file runs `redactSecrets` on its text so that
 * a key pasted into ordinary code never reaches the tree or a prompt; `redactPath` masks a key
 * that sits in a file's name. Formats are found by our own rules (below) and by secretlint's
 * recommended rules (`@secretlint/secretlint-rule-preset-recommend`), run synchronously here.
 *
 * THE REDACTION RULE (invariant 4): redaction is length- and line-preserving. A secret of n UTF-16
 * units is replaced by exactly n units: `[REDACTED:<kind>]` padded with `*` when n is at least that
 * long, else `[REDACTED]` padded with `*`, else n `*`; every `\r` and `\n` inside a secret (a PEM
 * block spans lines) stays where it was. So the redacted text has the file's length, and every
 * offset and line number into it is the same offset and line number on disk.
 */

const NAME_RULES: readonly [RegExp, string][] = [
  [/^\.env(\..*)?$/i, 'dotenv file'],
  [/^.+\.env(\..+)?$/i, 'dotenv file'], // production.env, app.env.local
  [/^\.envrc$/, 'direnv file'],
  [/\.(pem|key|p12|pfx|ppk)$/i, 'private key or certificate bundle'],
  [/\.(keystore|jks)$/i, 'Java keystore'],
  [/^id_(rsa|dsa|ecdsa|ed25519)/, 'SSH key'],
  [/^\.git-credentials$/, 'git credential store'],
  [/^[._]netrc$/, 'netrc credentials'],
  [/^\.htpasswd$/, 'htpasswd file'],
  [/^\.pgpass$/, 'PostgreSQL password file'],
  [/^application_default_credentials\.json$/, 'gcloud credentials'],
  [/^credentials\.tfrc\.json$/, 'Terraform credentials'],
];

/** Credential files known by their folder (a cloud or package CLI's home) and name: the last two path segments. */
const FOLDER_RULES: readonly [string, RegExp, string][] = [
  ['.aws', /^credentials$/, 'AWS credentials'],
  ['.docker', /^config\.json$/, 'Docker credentials'],
  ['.kube', /^config$/, 'Kubernetes config'],
  ['gcloud', /^(credentials|access_tokens)\.db$/, 'gcloud credentials'],
  ['.azure', /^(accessTokens\.json|msal_token_cache\.(json|bin)|msal_http_cache\.bin|service_principal_entries\.(json|bin))$/, 'Azure CLI token cache'],
  ['.cargo', /^credentials(\.toml)?$/, 'Cargo registry token'],
  ['.gem', /^credentials$/, 'RubyGems credentials'],
  ['gh', /^hosts\.yml$/, 'GitHub CLI token'],
];

/** Config files that are secret only when they hold a credential. */
const CONTENT_CHECKED = /^(\.npmrc|\.pypirc|\.yarnrc(\.yml)?|kubeconfig|.+\.kubeconfig)$/;

function segments(p: string): string[] {
  return p.split(/[\\/]+/).filter((s) => s !== '');
}

/** Why a path is secret by its name alone, or null. `.npmrc`/`.pypirc` need `configHoldsCredential`. */
export function secretPathRule(p: string): string | null {
  const parts = segments(p);
  const name = parts[parts.length - 1] ?? '';
  const parent = parts[parts.length - 2] ?? '';
  for (const [re, why] of NAME_RULES) if (re.test(name)) return why;
  for (const [folder, re, why] of FOLDER_RULES) if (parent === folder && re.test(name)) return why;
  // gcloud keeps per-account credentials in legacy_credentials/<account>/{adc.json,.boto}.
  const legacy = parts.lastIndexOf('legacy_credentials');
  if (legacy > 0 && parts[legacy - 1] === 'gcloud' && legacy < parts.length - 1) return 'gcloud credentials';
  return null;
}

/** True when a path is a secret file by its name (see `secretPathRule`). */
export function isSecretPath(p: string): boolean {
  return secretPathRule(p) !== null;
}

/** True for `.npmrc`, `.pypirc`, `.yarnrc(.yml)` and kubeconfig files, whose content decides (`configHoldsCredential`). */
export function needsCredentialCheck(p: string): boolean {
  const parts = segments(p);
  return CONTENT_CHECKED.test(parts[parts.length - 1] ?? '');
}

/**
 * An auth token, password or key set to a literal (not a `${VAR}` reference) in an npmrc, pypirc,
 * yarnrc or kubeconfig (`_authToken=`, `password =`, `npmAuthToken:`, `token:`, `client-key-data:`).
 */
export function configHoldsCredential(text: string): boolean {
  const re = /^[ \t]*(?![#;])[^=\n]*?(?:_authToken|_auth|_password|password|token|client-key-data)[ \t]*[=:][ \t]*(\S.*?)[ \t\r]*$/gim;
  for (const m of text.matchAll(re)) {
    if (!/^["']?\$\{[^}]+\}["']?$/.test(m[1]) && !/^["']{2}$/.test(m[1])) return true;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// content

/** A secret inside a text: `[start, end)` in UTF-16 units. */
export interface SecretSpan {
  start: number;
  end: number;
  kind: string;
}

interface InlineRule {
  kind: string;
  /** Global; matches the secret itself (context in lookarounds). Must not span lines. */
  re: RegExp;
  accept?: (match: string, text: string, at: number) => boolean;
}

const hasMixedCase = (s: string): boolean => /[0-9]/.test(s) && /[A-Z]/.test(s) && /[a-z]/.test(s);

/** Not a template placeholder (`${VAR}`, `$VAR`, `{{x}}`, `{x}`, `<your key>`, `%(x)s`, `****`, `xxxx`) nor already redacted. */
const notPlaceholder = (m: string): boolean =>
  !/^(\$\{|\$[A-Za-z_]|\{|<|%\(|%s|\*+$|x+$|\.\.\.+$|\[REDACTED)/i.test(m) && !/^(?:changeme|password|secret|null|none|nil|undefined|true|false)$/i.test(m);

/**
 * An `sk-…` key: long, random (digits and both cases, or lowercase hex), unlike kebab-case names and
 * CSS classes such as `sk-Spinner2-containerWrapperLargeVariant` (runs of capitalised words).
 */
const looksLikeSkKey = (m: string): boolean => {
  if (m.length < 32) return false;
  const body = m.replace(/^sk-(?:proj-|ant-(?:api\d\d-)?|svcacct-|admin-)?/, '');
  if (/^[0-9a-f]{32,}$/.test(body)) return true;
  if (/[A-Z][a-z]{4,}[A-Z][a-z]{3,}/.test(body) || /[a-z]{10,}/.test(body)) return false;
  return hasMixedCase(body);
};

/** Base64 of `user:password` (an HTTP Basic credential). */
const isBasicCredential = (m: string): boolean => {
  if (m.length % 4 !== 0) return false;
  const dec = Buffer.from(m, 'base64').toString('latin1');
  return /^[\x20-\x7e]+:[\x20-\x7e]*$/.test(dec);
};

/** A variable or member chain of code (`request.authorization`, `password_from_vault`, `authHeader`), not a random token. */
const isCodeReference = (v: string): boolean =>
  /^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)+$/.test(v) || /^[a-z_]+$/.test(v) || /^[a-z]+(?:[A-Z][a-z]+)+$/.test(v);

/** Key names that hold credentials (`DB_PASSWORD`, `apiKey`, `client_secret`, `token`, `client-key-data`…). */
const CRED_NAME = String.raw`[A-Za-z0-9_.-]{0,40}?(?:passw(?:or)?d|passwd|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|auth[_-]?key|private[_-]?key|client[_-]?key[_-]?data|credentials?)[A-Za-z0-9_-]{0,24}`;

const ABOUT_CREDENTIAL =
  /(?:passw(?:or)?d|passwd|pwd|secret|token|key|data|credentials?)[_-]?(?:id|name|type|file|path|url|uri|length|len|count|expiry|expires?(?:[_-]?(?:at|in))?|ttl|hint|prompt|label|field|version|header|prefix|policy|min|max|size|limit|endpoint|store|manager|provider|service|validator|regex|pattern|hash|salt|ref|var|env)s?$/i;

/**
 * A credential assigned to a literal (`DB_PASSWORD=…`, `password: "…"`, `AWS_SECRET="…"`), not a
 * reference (`password = password_from_vault`, `_auth = request.authorization`, `token: string`).
 * `raw` is the text from the key name to the value, `value` the value.
 */
function literalCredential(name: string, sep: string, quoted: boolean, value: string): boolean {
  if (!notPlaceholder(value) || value.length > 512) return false;
  if (value.toLowerCase() === name.toLowerCase()) return false;
  // Names about a credential, not holding one: private_key_id, token_type, secret_name, PASSWORD_FILE, apiKeyPath…
  if (ABOUT_CREDENTIAL.test(name)) return false;
  if (quoted) return !/\s/.test(value) && !/^[A-Z][A-Z0-9_]*$/.test(value) || /^[A-Z0-9_]*[0-9][A-Z0-9_]*$/.test(value);
  if (/[()[\]{}<>]/.test(value) || /^[A-Za-z_$][\w$]*(?:[?!]?\.[A-Za-z_$][\w$]*)+$/.test(value) || /^(?:\/[/*]|=|!|&&|\|\||\?)/.test(value)) return false; // a call, a member chain, a comment, an operator
  if (/^-?[\d_.,]+[a-z]{0,2}$/i.test(value) && value.length < 8) return false; // a number (port, length, ttl, 40_000, 1m)
  if (value.length < 3) return false; // too short to tell from code (URL passwords are another rule)
  // `tokens: Uint32Array`, `privateKey: T2`: a type annotation, not a value.
  // (Type names are capitalised words, digits only between them: Uint32Array, Promise, T2.)
  if (/:/.test(sep) && /^(?:[A-Z][a-z]+(?:\d*[A-Z][a-z]+)*\d*|[A-Z]\d?)$/.test(value)) return false;
  const envStyle = /^[A-Z0-9_]+$/.test(name.replace(/^.*[.]/, '')) || !/\s/.test(sep);
  // A bare word: a password in .env (NAME=word), a variable in code (`TOKEN: match`, `token = next`).
  if (/^[A-Za-z_][A-Za-z_]*$/.test(value)) return envStyle && !/:/.test(sep) && !/\s/.test(sep);
  return true;
}

// Quantifiers inside lookbehinds are bounded: V8 evaluates a lookbehind backwards from every
// candidate position, so an unbounded one is quadratic in a long run of spaces or letters.
const INLINE_RULES: readonly InlineRule[] = [
  // Also inside names: KEY_AKIA…, docs/AKIA….txt (no \b between "_" and "A").
  { kind: 'aws-access-key-id', re: /(?<![A-Z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Z0-9])/g },
  // aws_secret_access_key = …, AWS_SECRET_ACCESS_KEY=…, "SecretAccessKey": "…", secretAccessKey: '…'.
  {
    kind: 'aws-secret-access-key',
    re: /(?<=(?:aws_?secret_?(?:access_?)?key|secret_?access_?key)["']?\s{0,16}(?:[:=]|=>)\s{0,16}["']?)[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+])/gi,
  },
  { kind: 'github-token', re: /\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b/g },
  { kind: 'gitlab-token', re: /\bglpat-[A-Za-z0-9_-]{20,}/g },
  { kind: 'slack-token', re: /\bxox[abprse]-[A-Za-z0-9-]{10,}|\bxapp-\d-[A-Za-z0-9-]{10,}/g },
  { kind: 'slack-webhook', re: /\bhooks\.slack\.com\/(?:services|workflows)\/[A-Za-z0-9_/-]{20,}/g },
  { kind: 'google-api-key', re: /\bAIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])/g },
  { kind: 'google-oauth-secret', re: /\bGOCSPX-[0-9A-Za-z_-]{20,}/g },
  { kind: 'google-oauth-token', re: /\bya29\.[0-9A-Za-z_-]{20,}/g },
  { kind: 'stripe-key', re: /(?<![0-9A-Za-z])(?:[sr]k_(?:live|test)_[0-9A-Za-z]{16,}|whsec_[0-9A-Za-z]{24,})(?![0-9A-Za-z])/g },
  { kind: 'twilio-key', re: /(?<![0-9A-Za-z])SK[0-9a-f]{32}(?![0-9A-Za-z])/g },
  { kind: 'npm-token', re: /\bnpm_[A-Za-z0-9]{36}\b/g },
  // Registry credentials in npmrc (`//host/:_authToken=…`, `_auth=`, `_password=`) and yarnrc (`npmAuthToken: …`)
  // syntax, whatever the token looks like: the file may be taken from an editor before its name rules apply.
  {
    kind: 'registry-auth',
    re: /(?<=(?:^|[\s:])_(?:authToken|auth|password)[ \t]{0,16}=[ \t]{0,16}["']?)[A-Za-z0-9+/=_.~-]{6,}(?![A-Za-z0-9+/=_.~(-])/gm,
    // `_auth = request.authorization`, `_password = password_from_vault`: code, not an npmrc line.
    accept: (m, text, at) => notPlaceholder(m) && !(isCodeReference(m) && /(?:\s=|=\s)$/.test(text.slice(Math.max(0, at - 2), at))),
  },
  { kind: 'registry-auth', re: /(?<=\bnpmAuth(?:Token|Ident)["']?[ \t]{0,16}:[ \t]{0,16}["']?)[A-Za-z0-9+/=_.~:-]{6,}(?![A-Za-z0-9+/=_.~:(-])/g, accept: notPlaceholder },
  { kind: 'pypi-token', re: /\bpypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{20,}/g },
  { kind: 'huggingface-token', re: /\bhf_[A-Za-z]{34}\b/g },
  { kind: 'sendgrid-key', re: /\bSG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}\b/g },
  // OpenAI-style (also Anthropic sk-ant-…, and older hex keys): long and random, unlike kebab-case names.
  { kind: 'api-key', re: /(?<![A-Za-z0-9_-])sk-[A-Za-z0-9_-]{20,}/g, accept: looksLikeSkKey },
  { kind: 'jwt', re: /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g },
  { kind: 'bearer-token', re: /(?<=\bBearer[ \t]{1,8})[A-Za-z0-9._~+/=-]{16,}/gi, accept: notPlaceholder },
  { kind: 'basic-auth', re: /(?<=\bBasic[ \t]{1,8})[A-Za-z0-9+/]{6,}={0,2}(?![A-Za-z0-9+/=])/g, accept: isBasicCredential },
  { kind: 'azure-storage-key', re: /(?<=AccountKey=)[A-Za-z0-9+/]{80,}={0,2}/g },
  { kind: 'azure-sas', re: /(?<=(?:[?&;]|\b)sig=)[A-Za-z0-9%+/=]{20,}/g },
  { kind: 'azure-sas', re: /(?<=SharedAccessKey=)[A-Za-z0-9+/=]{20,}/g },
  // Azure AD (Entra) client secrets: three characters, a digit, "Q~", then 31-34 more.
  { kind: 'azure-client-secret', re: /(?<![A-Za-z0-9_~.-])[A-Za-z0-9_~.]{3}\dQ~[A-Za-z0-9_~.-]{31,34}(?![A-Za-z0-9_~.-])/g },
  { kind: 'private-key-json', re: /(?<="private_key"\s{0,16}:\s{0,16}")(?:[^"\\\n]|\\.)+(?=")/g, accept: notPlaceholder },
  // OAuth client secrets and refresh tokens in JSON (gcloud, Azure and other CLI caches pasted elsewhere).
  {
    kind: 'oauth-secret-json',
    re: /(?<="(?:client_secret|refresh_token|access_token)"\s{0,16}:\s{0,16}")[^"\\\n]{8,}(?=")/g,
    accept: notPlaceholder,
  },
  // Docker config.json: "auth": "<base64 of user:password>", "identitytoken": "…".
  { kind: 'docker-auth', re: /(?<="(?:auth|identitytoken)"\s{0,16}:\s{0,16}")[A-Za-z0-9+/=._-]{8,}(?=")/g, accept: notPlaceholder },
  // The password of a URL such as https://user:password@host or redis://:password@host (git credential
  // lines, connection strings); it may hold '/' or ':' and be one character long.
  {
    kind: 'url-password',
    re: /(?<=\b[a-z][a-z0-9+.-]{0,31}:\/\/[^\s:/@'"`]{0,256}:)[^\s@'"`]{1,256}(?=@[^\s@/])/gi,
    accept: (m) => notPlaceholder(m) && !/^\d{1,5}\//.test(m) && !m.includes('://'),
  },
  // ~/.pgpass lines: host:port:database:user:password.
  // The host is a name with a dot, localhost or '*' (so IPv6 addresses are not taken for one).
  {
    kind: 'pgpass-password',
    re: /(?<=(?:^|[\s'"])(?:[A-Za-z0-9_-]{1,63}\.[A-Za-z0-9_.-]{1,190}|localhost|\*):(?:\d{1,5}|\*):[^\s:'"]{1,255}:[^\s:'"]{1,255}:)[^\s'"]{1,256}(?=$|[\s'"])/gm,
    accept: notPlaceholder,
  },
  // XML (Maven settings.xml, NuGet…): <password>…</password>.
  { kind: 'xml-password', re: /(?<=<(password|passphrase|secret|token|apiKey|privateKey)>)[^<\n]{1,256}(?=<\/\1>)/gi, accept: notPlaceholder },
];

/** `NAME<sep>value`, quoted or not: the generic credential assignment (see `literalCredential`). */
const ASSIGNMENT = new RegExp(
  // The separator is not part of a comparison (==, ===, !=, <=, >=) nor a type annotation's "::".
  String.raw`(?<![A-Za-z0-9_.-])(${CRED_NAME})(["']?[ \t]{0,16}(?::=|=>|=(?!=)|:(?![:=]))[ \t]{0,16})` +
    // A quoted value ends its statement or item; an unquoted one runs to a space or separator.
    String.raw`(?:(["'\x60])([^"'\x60\n]{1,512})\3(?=[ \t]*(?:[,;)}\]\r\n]|$|//|#|<))|([^\s"'\x60,;#)}\]]{1,512}))`,
  'gi',
);

const PEM_BEGIN = /-----BEGIN[A-Z0-9 ]*PRIVATE KEY[A-Z ]*-----/g;
const PEM_END = /-----END[A-Z0-9 ]*PRIVATE KEY[A-Z ]*-----/g;

/** Our own rules' spans, PEM blocks first (a block may hold anything), each rule left to right. */
function ownSpans(text: string): SecretSpan[] {
  const spans: SecretSpan[] = [];
  PEM_BEGIN.lastIndex = 0;
  for (let m = PEM_BEGIN.exec(text); m; m = PEM_BEGIN.exec(text)) {
    PEM_END.lastIndex = m.index + m[0].length;
    const end = PEM_END.exec(text);
    const stop = end ? end.index + end[0].length : text.length; // unterminated: to the end
    spans.push({ start: m.index, end: stop, kind: 'private-key' });
    PEM_BEGIN.lastIndex = stop;
  }
  for (const rule of INLINE_RULES) {
    rule.re.lastIndex = 0;
    for (const m of text.matchAll(rule.re)) {
      const at = m.index ?? 0;
      if (rule.accept && !rule.accept(m[0], text, at)) continue;
      spans.push({ start: at, end: at + m[0].length, kind: rule.kind });
    }
  }
  ASSIGNMENT.lastIndex = 0;
  for (const m of text.matchAll(ASSIGNMENT)) {
    const quoted = m[4] !== undefined;
    const value = quoted ? m[4] : m[5];
    if (!literalCredential(m[1], m[2], quoted, value)) continue;
    const at = (m.index ?? 0) + m[1].length + m[2].length + (quoted ? 1 : 0);
    spans.push({ start: at, end: at + value.length, kind: 'credential' });
  }
  return spans;
}

// ---- secretlint's recommended rules, run synchronously ------------------------------------------

interface LintRule {
  meta: { id: string; type: string; supportedContentTypes?: string[] };
  create(context: unknown, options: unknown): { file?: (source: unknown) => unknown };
}

let lintHandlers: { kind: string; file: (source: unknown) => unknown }[] | undefined;
let lintSink: { range: [number, number]; data: unknown; kind: string }[] = [];

/**
 * The preset's scanner rules, created once against a minimal rule context (the public rule API of
 * `@secretlint/types`: `create(context, options)` → `{ file(source) }`, `context.report`). Every rule
 * of the preset reports synchronously on text (the only asynchronous path reads `.p12` files by
 * path, which we never pass); `secretlint-disable` comments (the filter rule) are not honoured:
 * a workspace must not be able to switch redaction off.
 */
function secretlintHandlers(): { kind: string; file: (source: unknown) => unknown }[] {
  if (lintHandlers) return lintHandlers;
  lintHandlers = [];
  let preset: { creator: { rules: LintRule[] } };
  try {
    // An ES module: bundled into dist/ by esbuild; from out/ (tests) Node >= 20.19 requires it directly.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    preset = require('@secretlint/secretlint-rule-preset-recommend') as { creator: { rules: LintRule[] } };
  } catch {
    return lintHandlers; // our own rules still run (the corpus tests fail loudly without secretlint's)
  }
  for (const rule of preset.creator.rules) {
    if (rule.meta.type !== 'scanner' || !(rule.meta.supportedContentTypes ?? ['text']).some((t) => t === 'text' || t === 'all')) continue;
    const kind = rule.meta.id.replace(/^@secretlint\/secretlint-rule-/, '');
    const context = {
      sharedOptions: {},
      createTranslator: () => (messageId: string, data: unknown) => ({ message: messageId, messageId, data }),
      report: (d: { range: [number, number]; message?: { data?: unknown } }) => lintSink.push({ range: d.range, data: d.message?.data, kind }),
      ignore: () => undefined,
    };
    try {
      const h = rule.create(context, {});
      if (h.file) lintHandlers.push({ kind, file: h.file.bind(h) });
    } catch {
      // a rule that cannot start is left out; ours still run
    }
  }
  return lintHandlers;
}

/** Where in `[start, end)` (or just after it) the reported secret is: a string of the report's data found there. */
function locate(text: string, range: [number, number], data: unknown): [number, number] | null {
  const values = data && typeof data === 'object' ? Object.values(data as Record<string, unknown>) : [];
  let best: [number, number] | null = null;
  for (const v of values) {
    if (typeof v !== 'string' || v.length < 4) continue;
    const at = text.indexOf(v, range[0]);
    if (at < 0 || at > range[1] + 64) continue;
    if (!best || v.length < best[1] - best[0]) best = [at, at + v.length]; // the narrowest: the secret, not the whole match
  }
  if (best) return best;
  const [s, e] = range;
  // A report over a whole file (a service-account JSON) says "secret file", not where: our rules decide that.
  if (!(s >= 0 && e > s && e <= text.length) || (s === 0 && e === text.length && e > 256)) return null;
  return [s, e];
}

/** What secretlint's recommended rules report on `text`, as they report it (rule, range, message data). */
export function secretlintReports(text: string): { kind: string; range: [number, number]; data: unknown }[] {
  const all: { kind: string; range: [number, number]; data: unknown }[] = [];
  const source = { content: text, filePath: undefined, ext: '', contentType: 'text' };
  for (const h of secretlintHandlers()) {
    lintSink = [];
    try {
      const r = h.file(source);
      if (r && typeof (r as Promise<unknown>).catch === 'function') (r as Promise<unknown>).catch(() => undefined);
    } catch {
      continue; // a rule that fails on this text reports nothing; ours still run
    }
    all.push(...lintSink);
  }
  lintSink = [];
  return all;
}

function secretlintSpans(text: string): SecretSpan[] {
  const spans: SecretSpan[] = [];
  for (const rep of secretlintReports(text)) {
    const at = locate(text, rep.range, rep.data);
    // Already redacted text is not reported again (redaction is stable).
    if (at && !/\[REDACTED|^\**$/.test(text.slice(at[0], at[1]))) spans.push({ start: at[0], end: at[1], kind: rep.kind });
  }
  return spans;
}

/**
 * Every secret in `text`, in order, without overlaps: our rules' spans (overlapping ones merged), then
 * secretlint's where ours found nothing (theirs often cover a whole match, ours the secret alone).
 */
export function findSecrets(text: string): SecretSpan[] {
  const merge = (spans: SecretSpan[]): SecretSpan[] => {
    spans.sort((a, b) => a.start - b.start || b.end - a.end);
    const out: SecretSpan[] = [];
    for (const s of spans) {
      const last = out[out.length - 1];
      if (last && s.start < last.end) last.end = Math.max(last.end, s.end);
      else out.push({ ...s });
    }
    return out;
  };
  const own = merge(ownSpans(text));
  const extra = secretlintSpans(text).filter((s) => !own.some((o) => s.start < o.end && o.start < s.end));
  return extra.length === 0 ? own : merge([...own, ...extra]);
}

/** The same-length, same-lines stand-in of `text.slice(start, end)` (see the redaction rule at the top). */
function mask(text: string, start: number, end: number, kind: string): string {
  let out = '';
  let from = start;
  for (let i = start; i <= end; i++) {
    if (i < end && text[i] !== '\n' && text[i] !== '\r') continue;
    const n = i - from;
    const label = `[REDACTED:${kind}]`;
    out += n >= label.length ? label + '*'.repeat(n - label.length) : n >= 10 ? '[REDACTED]' + '*'.repeat(n - 10) : '*'.repeat(n);
    if (i < end) out += text[i];
    from = i + 1;
  }
  return out;
}

function lineStarts(text: string): (offset: number) => number {
  const starts = [0];
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  return (offset) => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  };
}

export interface SecretFinding {
  /** 1-based line. */
  line: number;
  kind: string;
}

/**
 * Why a file that is not secret by name must still be treated as a secret file because of its content,
 * or null: a config holding a credential (`.npmrc`, `.pypirc`, `.yarnrc`, `*.kubeconfig`), a kubeconfig
 * under any name (`apiVersion: v1`, `kind: Config` and users, a token or client key data), a Docker
 * `config.json` with registry auths, a cloud service-account key. A private key block inside an
 * ordinary file is not a reason: it is redacted, the rest of the file kept. Discovery applies this to
 * a file's first 8 KiB (its whole text for the config names), updates of files in memory to their text.
 */
export function secretContentRule(path: string, text: string): string | null {
  if (needsCredentialCheck(path) && configHoldsCredential(text)) return 'config with a credential';
  const head = text.length > 65536 ? text.slice(0, 65536) : text;
  if (/^apiVersion:[ \t]*v1[ \t\r]*$/m.test(head) && /^kind:[ \t]*Config[ \t\r]*$/m.test(head) && /^[ \t-]*(?:users|token|client-key-data):/m.test(head)) {
    return 'Kubernetes config';
  }
  if (/\.json$/i.test(path) && /"auths"\s*:\s*\{/.test(head) && /"(?:auth|identitytoken)"\s*:\s*"[^"]/.test(head)) return 'Docker credentials';
  if (/"type"\s*:\s*"service_account"/.test(head) && /"private_key"\s*:\s*"-----BEGIN/.test(head)) return 'service account key';
  return null;
}

/** Known secret formats in `text`, by line of their start. A private key block is one finding at its BEGIN line. */
export function detectSecrets(text: string): SecretFinding[] {
  const spans = findSecrets(text);
  if (spans.length === 0) return [];
  const lineOf = lineStarts(text);
  return spans.map((s) => ({ line: lineOf(s.start), kind: s.kind }));
}

/**
 * Replaces each secret by a stand-in of the same length on the same lines (the redaction rule at the
 * top of this file), so offsets and line numbers into the result are those of the original.
 */
export function redactSecrets(text: string): { text: string; redactions: number } {
  const spans = findSecrets(text);
  if (spans.length === 0) return { text, redactions: 0 };
  let out = '';
  let at = 0;
  for (const s of spans) {
    out += text.slice(at, s.start) + mask(text, s.start, s.end, s.kind);
    at = s.end;
  }
  return { text: out + text.slice(at), redactions: spans.length };
}

/**
 * A path (or file name) as it may be shown: a key inside it (`docs/AKIA….txt`, `ghp_….md`) masked by
 * the same rules and stand-ins as file content; anything else unchanged.
 */
export function redactPath(path: string): string {
  // Every rule needs a run of 16+ key characters, or an assignment or URL credential (= : @): a path
  // without one (most are) skips the ~0.1 ms of the full rules, asked for every file a prompt lists.
  if (!MAYBE_SECRET_PATH.test(path)) return path;
  return redactSecrets(path).text;
}

const MAYBE_SECRET_PATH = /[A-Za-z0-9+_~\-]{16}|[=:@]/;
