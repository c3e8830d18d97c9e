// The extensionTestsPath module: VS Code (code-server via test/vscode/runCodeServer.ts, or Electron via
// test/vscode/runElectron.ts) requires it inside the extension host and awaits `run()`; a rejection
// means failure. Every `*.test.js` file beside it is loaded, `activation.test.js` first (it checks
// the state activation leaves behind, before any other test starts the engine), then the rest by name.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { report, runAll, setCurrentFile } from './harness';

const FIRST = 'activation.test.js';
/** Runs only in an untrusted workspace (MEGACONTEXT_UNTRUSTED=1 for the runner), and alone. */
const UNTRUSTED = 'untrusted.test.js';

export async function run(): Promise<void> {
  const untrusted = process.env.MEGACONTEXT_SUITE === 'untrusted';
  const files = readdirSync(__dirname)
    .filter((f) => f.endsWith('.test.js') && (f === UNTRUSTED) === untrusted)
    .sort((a, b) => (a === FIRST ? -1 : b === FIRST ? 1 : a.localeCompare(b)));
  report(`MegaContext VS Code suite: ${files.length} files, VS Code extension host pid ${process.pid}, Node ${process.version}`);
  for (const file of files) {
    setCurrentFile(file.replace(/\.js$/, ''));
    require(join(__dirname, file));
  }
  const { passed, failed } = await runAll();
  report(`${passed} passed, ${failed} failed`);
  if (failed > 0 || passed === 0) throw new Error(passed === 0 ? 'no test ran' : `${failed} test(s) failed`);
}
