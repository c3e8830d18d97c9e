// Runs the same in-VS-Code suite (test/vscode/suite) under desktop VS Code (Electron) with
// @vscode/test-electron. It downloads VS Code into .vscode-test/, so it is for machines that can reach
// Microsoft's update servers; the project's machines and CI use test/vscode/runCodeServer.ts instead.
//
//   npm run build && node out/test/vscode/runElectron.js
//
// Environment: MEGACONTEXT_VSCODE_VERSION (default 'stable'), MEGACONTEXT_VSCODE_EXECUTABLE (use an
// installed VS Code instead of downloading one).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { runTests } from '@vscode/test-electron';

async function main(): Promise<number> {
  const repoRoot = resolve(__dirname, '..', '..', '..');
  const temp = mkdtempSync(join(tmpdir(), 'megacontext-electron-'));
  // Same settings as the code-server runner: index well after the activation tests ran.
  mkdirSync(join(temp, 'user-data', 'User'), { recursive: true });
  writeFileSync(join(temp, 'user-data', 'User', 'settings.json'), JSON.stringify({ 'megacontext.indexDelaySeconds': 20 }));
  try {
    await runTests({
      version: process.env.MEGACONTEXT_VSCODE_VERSION || 'stable',
      vscodeExecutablePath: process.env.MEGACONTEXT_VSCODE_EXECUTABLE || undefined,
      // The extension under test and a test-only one that registers a fake connected chat model.
      extensionDevelopmentPath: [repoRoot, join(repoRoot, 'test', 'vscode', 'fake-model-extension')],
      extensionTestsPath: join(repoRoot, 'out', 'test', 'vscode', 'suite', 'index.js'),
      launchArgs: [
        join(repoRoot, 'test', 'fixtures', 'workspace'),
        '--disable-extensions', // other installed extensions stay out of the way
        '--disable-workspace-trust',
        '--skip-welcome',
        '--skip-release-notes',
        '--user-data-dir', join(temp, 'user-data'),
        '--extensions-dir', join(temp, 'extensions'),
      ],
    });
    return 0;
  } catch (err) {
    process.stderr.write(`[runElectron] ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  } finally {
    rmSync(temp, { recursive: true, force: true });
  }
}

void main().then((code) => process.exit(code));
