/**
 * Secrets: files that are secret by name, and known secret formats inside any text.
 * Discovery skips secret files; whoever tokenizes a file runs `redactSecrets` on its text so that
 * a key pasted into ordinary code never reaches the tree or a prompt.
 */

const NAME_RULES: readonly [RegExp, string][] = [
  [/^\.env(\..*)?$/i, 'dotenv file'],
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

interface InlineRule {
  kind: string;
  re: RegExp; // global; must not span lines
  accept?: (match: string) => boolean;
}

const hasMixedCase = (s: string): boolean => /[0-9]/.test(s) && /[A-Z]/.test(s) && /[a-z]/.test(s);

/** Not a template placeholder (`${VAR}`, `{{x}}`, `<your key>`, `%(x)s`, `****`, `xxxx`) nor already redacted. */
const notPlaceholder = (m: string): boolean => !/^(\$\{|\{\{|<|%\(|\*+$|x+$|\[REDACTED:)/i.test(m);

// Quantifiers inside lookbehinds are bounded: V8 evaluates a lookbehind backwards from every
// candidate position, so an unbounded one is quadratic in a long run of spaces or letters.
const INLINE_RULES: readonly InlineRule[] = [
  { kind: 'aws-access-key-id', re: /\b(?:AKIA|ASIA)[A-Z0-9]{16}\b/g },
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
  { kind: 'stripe-key', re: /\b[sr]k_live_[0-9A-Za-z]{16,}\b/g },
  { kind: 'npm-token', re: /\bnpm_[A-Za-z0-9]{36}\b/g },
  // Registry credentials in npmrc (`//host/:_authToken=…`, `_auth=`, `_password=`) and yarnrc (`npmAuthToken: …`)
  // syntax, whatever the token looks like: the file may be taken from an editor before its name rules apply.
  { kind: 'registry-auth', re: /(?<=(?:^|[\s:])_(?:authToken|auth|password)[ \t]{0,16}=[ \t]{0,16}["']?)[A-Za-z0-9+/=_.~-]{6,}(?![A-Za-z0-9+/=_.~(-])/gm, accept: notPlaceholder },
  { kind: 'registry-auth', re: /(?<=\bnpmAuth(?:Token|Ident)["']?[ \t]{0,16}:[ \t]{0,16}["']?)[A-Za-z0-9+/=_.~:-]{6,}(?![A-Za-z0-9+/=_.~:(-])/g, accept: notPlaceholder },
  { kind: 'pypi-token', re: /\bpypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{20,}/g },
  { kind: 'huggingface-token', re: /\bhf_[A-Za-z]{34}\b/g },
  { kind: 'sendgrid-key', re: /\bSG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}\b/g },
  // OpenAI-style (also Anthropic sk-ant-…): long, mixing digits and both cases, unlike kebab-case names.
  { kind: 'api-key', re: /\bsk-[A-Za-z0-9_-]{20,}/g, accept: (m) => m.length >= 32 && hasMixedCase(m) },
  { kind: 'azure-storage-key', re: /(?<=AccountKey=)[A-Za-z0-9+/]{80,}={0,2}/g },
  { kind: 'private-key-json', re: /(?<="private_key"\s{0,16}:\s{0,16}")(?:[^"\\\n]|\\.)+(?=")/g, accept: notPlaceholder },
  // OAuth client secrets and refresh tokens in JSON (gcloud, Azure and other CLI caches pasted elsewhere).
  {
    kind: 'oauth-secret-json',
    re: /(?<="(?:client_secret|refresh_token|access_token)"\s{0,16}:\s{0,16}")[^"\\\n]{8,}(?=")/g,
    accept: notPlaceholder,
  },
  // The password of a URL such as https://user:password@host (git credential lines, connection strings).
  {
    kind: 'url-password',
    re: /(?<=\b[a-z][a-z0-9+.-]{0,31}:\/\/[^\s:/@'"`]{1,256}:)[^\s:/@'"`]{3,}(?=@[^\s@])/gi,
    accept: notPlaceholder,
  },
];

const PEM_BEGIN = /-----BEGIN[A-Z0-9 ]*PRIVATE KEY[A-Z ]*-----/;
const PEM_END = /-----END[A-Z0-9 ]*PRIVATE KEY[A-Z ]*-----/;

export interface SecretFinding {
  /** 1-based line. */
  line: number;
  kind: string;
}

function scan(text: string, redact: boolean): { findings: SecretFinding[]; lines?: string[] } {
  const findings: SecretFinding[] = [];
  const rules = INLINE_RULES.filter((r) => { r.re.lastIndex = 0; return r.re.test(text); });
  const pem = PEM_BEGIN.test(text);
  if (!pem && rules.length === 0) return { findings };
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (pem && PEM_BEGIN.test(lines[i])) {
      // The whole block, BEGIN through END line (or to the end of the text if it never ends).
      let end = i;
      while (end < lines.length - 1 && !PEM_END.test(lines[end].slice(end === i ? lines[i].search(PEM_BEGIN) : 0))) end++;
      findings.push({ line: i + 1, kind: 'private-key' });
      if (redact) {
        for (let k = i; k <= end; k++) lines[k] = '[REDACTED:private-key]' + (lines[k].endsWith('\r') ? '\r' : '');
      }
      i = end;
      continue;
    }
    let line = lines[i];
    const hits: { at: number; kind: string }[] = [];
    for (const rule of rules) {
      line = line.replace(rule.re, (m: string, ...rest: unknown[]) => {
        if (rule.accept && !rule.accept(m)) return m;
        hits.push({ at: rest[rest.length - 2] as number, kind: rule.kind });
        return `[REDACTED:${rule.kind}]`;
      });
    }
    hits.sort((a, b) => a.at - b.at);
    for (const h of hits) findings.push({ line: i + 1, kind: h.kind });
    if (redact) lines[i] = line;
  }
  return { findings, lines: redact ? lines : undefined };
}

/**
 * Why a file that is not secret by name must still be treated as a secret file because of its content
 * (a private key block in its first 8 KiB, a config holding a credential), or null. Discovery applies
 * it before a file is indexed, and updates of files already in memory use it too.
 */
export function secretContentRule(path: string, text: string): string | null {
  if (PEM_BEGIN.test(text.slice(0, 8192))) return 'private key block';
  if (needsCredentialCheck(path) && configHoldsCredential(text)) return 'config with a credential';
  return null;
}

/** Known secret formats in `text`, by line. A private key block is one finding at its BEGIN line. */
export function detectSecrets(text: string): SecretFinding[] {
  return scan(text, false).findings;
}

/**
 * Replaces each secret with `[REDACTED:<kind>]` on the same line, and every line of a private key
 * block by `[REDACTED:private-key]`, so line numbers stay valid.
 */
export function redactSecrets(text: string): { text: string; redactions: number } {
  const { findings, lines } = scan(text, true);
  if (findings.length === 0 || !lines) return { text, redactions: 0 };
  return { text: lines.join('\n'), redactions: findings.length };
}
