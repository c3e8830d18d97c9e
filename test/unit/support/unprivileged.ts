// Permission tests that root would pass trivially (root reads through chmod 000 and writes into 0555
// folders) run their subject in a child that starts as root, loads what it needs with root's rights
// (the build and node_modules may sit where only root can read, as in CI under /root), then drops to
// `nobody` (uid/gid 65534) before touching the test's files, for which the permission bits then hold.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

export const NOBODY = 65534;

/**
 * Runs `prepare` (CommonJS, as root; `OUT` is this build's out/ folder), drops to nobody, then runs
 * `body` (same scope, so it may use what `prepare` declared). Both may `await`. A failure to drop
 * privileges fails the child with a one-line message, never passes silently.
 */
export function runAsNobody(prepare: string, body: string, env: NodeJS.ProcessEnv = {}, timeoutMs = 120_000) {
  const script = `const OUT = ${JSON.stringify(join(__dirname, '..', '..', '..'))};
(async () => {
${prepare}
  process.setgroups([]);
  process.setgid(${NOBODY});
  process.setuid(${NOBODY});
  if (process.getuid() !== ${NOBODY} || process.getgid() !== ${NOBODY}) throw new Error('could not drop to nobody');
${body}
})().catch((e) => { process.stderr.write('unprivileged child: ' + (e && e.stack || String(e)) + '\\n'); process.exitCode = 70; });`;
  return spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: timeoutMs, env: { ...process.env, ...env } });
}
