import { Writable } from 'node:stream';
import { main } from '../../../src/cli/main';

/** A stream that keeps what is written to it. */
export function capture(): Writable & { text: () => string } {
  const chunks: string[] = [];
  const w = new Writable({ write(c, _e, cb) { chunks.push(String(c)); cb(); } }) as Writable & { text: () => string };
  w.text = () => chunks.join('');
  return w;
}

/** The CLI run in-process, with its exit code and what it wrote to stdout and stderr. */
export async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out = capture();
  const err = capture();
  const code = await main(argv, out, err);
  return { code, out: out.text(), err: err.text() };
}
