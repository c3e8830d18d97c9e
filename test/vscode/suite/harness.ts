// A tiny sequential test runner for the extension host, so the in-VS-Code tier needs no mocha.
// Test files (`*.test.ts` in this folder) call `test(name, fn)` at load time; index.ts runs them.
import { appendFileSync } from 'node:fs';
import { inspect } from 'node:util';

export type TestFn = () => unknown | Promise<unknown>;

interface TestCase {
  file: string;
  name: string;
  fn: TestFn;
  timeoutMs: number;
}

const cases: TestCase[] = [];
const finishers: (() => unknown)[] = [];

/** Registers cleanup that runs after every test, pass or fail. */
export function onFinish(fn: () => unknown): void {
  finishers.push(fn);
}
let currentFile = '';

/** Registers a test; it runs after every earlier-registered test, in file order (see index.ts). */
export function test(name: string, fn: TestFn, options: { timeoutMs?: number } = {}): void {
  cases.push({ file: currentFile, name, fn, timeoutMs: options.timeoutMs ?? 60_000 });
}

export function setCurrentFile(file: string): void {
  currentFile = file;
}

/** Writes a report line to the extension host's console and, under the runner, to its log file. */
export function report(line: string): void {
  console.log(line);
  const file = process.env.MEGACONTEXT_TEST_LOG;
  if (file) {
    try { appendFileSync(file, `${line}\n`); } catch { /* the runner reads the console too */ }
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Runs every registered test in order; resolves to the number of failures. */
export async function runAll(): Promise<{ passed: number; failed: number }> {
  let passed = 0;
  let failed = 0;
  for (const c of cases) {
    const started = Date.now();
    try {
      await withTimeout(Promise.resolve().then(c.fn), c.timeoutMs, `"${c.name}"`);
      passed++;
      report(`  ✔ ${c.file} › ${c.name} (${Date.now() - started} ms)`);
    } catch (err) {
      failed++;
      report(`  ✖ ${c.file} › ${c.name} (${Date.now() - started} ms)`);
      const detail = err instanceof Error ? (err.stack ?? err.message) : inspect(err);
      report(detail.split('\n').map((l) => `      ${l}`).join('\n'));
    }
  }
  for (const fn of finishers) {
    try { await fn(); } catch (err) { report(`  cleanup failed: ${err instanceof Error ? err.message : String(err)}`); }
  }
  return { passed, failed };
}
