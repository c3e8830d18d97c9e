/**
 * Secrets: files that are secret by name, and known secret formats inside any text.
 * Discovery skips secret files; whoever tokenizes a file runs `redactSecrets` on its text so that
 * a key pasted into ordinary code never reaches the tree or a prompt.
 */

const NAME_RULES: readonly [RegExp, string][] = [
  [/^\.env(\..*)?$/i, 'dotenv file'],
  [/^\.envrc$/, 'direnv file'],
  [/\.(pem|key|p12|pfx)$/i, 'private key or certificate bundle'],
  [/\.(keystore|jks)$/i, 'Java keystore'],
  [/^id_(rsa|dsa|ecdsa|ed25519)/, 'SSH key'],
  [/^\.git-credentials$/, 'git credential store'],
  [/^[._]netrc$/, 'netrc credentials'],
  [/^\.htpasswd$/, 'htpasswd file'],
  [/^application_default_credentials\.json$/, 'gcloud credentials'],
];

/** Config files that are secret only when they hold a credential. */
const CONTENT_CHECKED = /^\.(npmrc|pypirc)$/;

function segments(p: string): string[] {
  return p.split(/[\\/]+/).filter((s) => s !== '');
}

/** Why a path is secret by its name alone, or null. `.npmrc`/`.pypirc` need `configHoldsCredential`. */
export function secretPathRule(p: string): string | null {
  const parts = segments(p);
  const name = parts[parts.length - 1] ?? '';
  const parent = parts[parts.length - 2] ?? '';
  for (const [re, why] of NAME_RULES) if (re.test(name)) return why;
  if (parent === '.aws' && name === 'credentials') return 'AWS credentials';
  if (parent === '.docker' && name === 'config.json') return 'Docker credentials';
  return null;
}

/** True when a path is a secret file by its name (see `secretPathRule`). */
export function isSecretPath(p: string): boolean {
  return secretPathRule(p) !== null;
}

/** True for `.npmrc` / `.pypirc`, whose content decides (`configHoldsCredential`). */
export function needsCredentialCheck(p: string): boolean {
  const parts = segments(p);
  return CONTENT_CHECKED.test(parts[parts.length - 1] ?? '');
}

/** An auth token or password set to a literal (not a `${VAR}` reference) in an npmrc/pypirc. */
export function configHoldsCredential(text: string): boolean {
  const re = /^[ \t]*(?![#;])[^=\n]*?(?:_authToken|_auth|_password|password|token)[ \t]*[=:][ \t]*(\S.*?)[ \t\r]*$/gim;
  for (const m of text.matchAll(re)) {
    if (!/^["']?\$\{[^}]+\}["']?$/.test(m[1])) return true;
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

const INLINE_RULES: readonly InlineRule[] = [
  { kind: 'aws-access-key-id', re: /\b(?:AKIA|ASIA)[A-Z0-9]{16}\b/g },
  { kind: 'aws-secret-access-key', re: /(?<=aws_secret_access_key["']?\s*[:=]\s*["']?)[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+])/gi },
  { kind: 'github-token', re: /\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b/g },
  { kind: 'slack-token', re: /\bxox[abprs]-[A-Za-z0-9-]{10,}/g },
  { kind: 'google-api-key', re: /\bAIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])/g },
  { kind: 'stripe-key', re: /\b[sr]k_live_[0-9A-Za-z]{16,}\b/g },
  // OpenAI-style (also Anthropic sk-ant-…): long, mixing digits and both cases, unlike kebab-case names.
  { kind: 'api-key', re: /\bsk-[A-Za-z0-9_-]{20,}/g, accept: (m) => m.length >= 32 && hasMixedCase(m) },
  { kind: 'private-key-json', re: /(?<="private_key"\s*:\s*")(?:[^"\\\n]|\\.)+(?=")/g },
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
