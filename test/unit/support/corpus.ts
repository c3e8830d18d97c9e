import { FakeRuntime } from './fakeRuntime';
import { Tree } from '../../../src/core/tree';

/** Deterministic pseudo-code text of roughly `lines` lines, with a recognisable function per line group. */
export function syntheticSource(seed: number, lines: number): string {
  const words = ['alpha', 'beta', 'gamma', 'delta', 'parse', 'render', 'token', 'budget', 'focus', 'gist', 'lens', 'tree'];
  let x = seed * 9301 + 49297;
  const next = () => (x = (x * 233280 + 12345) % 1000003);
  const out: string[] = [];
  for (let i = 0; i < lines; i++) {
    if (i % 12 === 0) out.push(`def ${words[next() % words.length]}_${seed}_${i}(value, count=${next() % 100}):`);
    else out.push(`    ${words[next() % words.length]} = ${words[next() % words.length]}(${next() % 1000}) + ${i}`);
  }
  return out.join('\n') + '\n';
}

export async function treeOf(docs: { id: string; text: string; appending?: boolean }[], dim = 16): Promise<Tree> {
  const tree = new Tree(new FakeRuntime(dim));
  await tree.ingest(docs.map((d) => ({ ...d, kind: d.appending ? ('chat' as const) : ('file' as const) })));
  return tree;
}
