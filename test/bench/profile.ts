/**
 * CPU profiles of the benchmark's phases (not part of `npm run bench`): writes one .cpuprofile per
 * phase (open them in Chrome DevTools or VS Code) and prints the top functions by self time.
 *   npm run build && node out/test/bench/profile.js [tokens=1m] [outDir=bench-profiles]
 */
import { promises as fsp } from 'node:fs';
import { Session } from 'node:inspector';
import * as os from 'node:os';
import * as path from 'node:path';
import { FocusEngine } from '../../src/core/engine';
import { openTree, saveTree } from '../../src/core/indexer';
import { Tree } from '../../src/core/tree';
import { loadModels } from '../../src/models/onnxRuntime';
import { buildCorpus, prefix } from './corpus';

const ROOT = path.resolve(__dirname, '..', '..', '..');

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples?: number[];
  timeDeltas?: number[];
  startTime: number;
  endTime: number;
}

function post<T>(s: Session, method: string, params?: object): Promise<T> {
  return new Promise((resolve, reject) => s.post(method, params ?? {}, (err, res) => (err ? reject(err) : resolve(res as T))));
}

function top(p: Profile, n = 12): string[] {
  const total = p.nodes.reduce((a, x) => a + (x.hitCount ?? 0), 0) || 1;
  const self = new Map<string, number>();
  const parent = new Map<number, ProfileNode>();
  for (const node of p.nodes) for (const c of node.children ?? []) parent.set(c, node);
  const name = (node: ProfileNode): string => {
    const f = node.callFrame;
    const where = f.url ? `${path.relative(ROOT, f.url.replace('file://', ''))}:${f.lineNumber + 1}` : '';
    return `${f.functionName || '(anonymous)'} ${where}`.trim();
  };
  for (const node of p.nodes) {
    let key = name(node);
    // Native frames have no URL: name them by their nearest JavaScript caller.
    if (!node.callFrame.url && !key.startsWith('(') ) key = `[native ${key}]`;
    if (!node.callFrame.url && key === '(anonymous)') {
      let up = parent.get(node.id);
      while (up && !up.callFrame.url) up = parent.get(up.id);
      key = `[native, called from ${up ? name(up) : '?'}]`;
    }
    self.set(key, (self.get(key) ?? 0) + (node.hitCount ?? 0));
  }
  return [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([k, v]) => `${((100 * v) / total).toFixed(1).padStart(5)}%  ${k}`);
}

async function main(): Promise<void> {
  const sizeArg = process.argv[2] ?? '1m';
  const tokens = Math.round(parseFloat(sizeArg) * (/m$/i.test(sizeArg) ? 1e6 : /k$/i.test(sizeArg) ? 1e3 : 1));
  const outDir = path.resolve(process.argv[3] ?? 'bench-profiles');
  await fsp.mkdir(outDir, { recursive: true });
  const models = await loadModels(path.join(ROOT, 'models'));
  const corpus = buildCorpus(ROOT, tokens);
  const { docs } = prefix(corpus, tokens);
  const queries = corpus.queries.slice(0, Number(process.env.PROFILE_QUERIES ?? 10));
  const session = new Session();
  session.connect();
  await post(session, 'Profiler.enable');
  await post(session, 'Profiler.setSamplingInterval', { interval: 500 });
  const phase = async (name: string, fn: () => Promise<void>): Promise<void> => {
    await post(session, 'Profiler.start');
    const t0 = performance.now();
    await fn();
    const ms = performance.now() - t0;
    const { profile } = await post<{ profile: Profile }>(session, 'Profiler.stop');
    const file = path.join(outDir, `${name}.cpuprofile`);
    await fsp.writeFile(file, JSON.stringify(profile));
    console.log(`\n## ${name}: ${ms.toFixed(0)} ms (${path.relative(process.cwd(), file)}) — top self time`);
    for (const line of top(profile)) console.log(line);
  };
  const tree = new Tree(models);
  await phase('cold-index', async () => {
    await tree.ingest(docs.map((d) => ({ id: d.id, text: d.text })));
  });
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'mgc-prof-'));
  await saveTree(tree, dir);
  await phase('warm-start', async () => {
    await openTree(models, dir);
  });
  await fsp.rm(dir, { recursive: true, force: true });
  const engine = new FocusEngine(tree, models);
  await engine.focus({ query: queries[0].query, budget: 32768 });
  for (const budget of [8192, 32768]) {
    const rows: string[] = [];
    await phase(`refocus-${budget / 1024}k`, async () => {
      for (const q of queries) {
        const wc = await engine.focus({ query: q.query, budget });
        const t = wc.timings;
        rows.push(`  total ${t.totalMs.toFixed(1)} ms = tail ${t.tailMs.toFixed(1)} + map ${t.mapMs.toFixed(1)} + score ${t.scoreMs.toFixed(1)} + allocate ${t.allocateMs.toFixed(1)} + render ${t.renderMs.toFixed(1)}; ${wc.telemetry.iterations} iterations, ${wc.telemetry.expands}/${wc.telemetry.collapses} expands/collapses, ${wc.perDoc.reduce((n, es) => n + es.length, 0)} entries`);
      }
    });
    console.log(rows.join('\n'));
  }
  let doc = [...tree.documents.values()][0];
  for (const d of tree.documents.values()) if (Math.abs(d.tokenCount - 10_000) < Math.abs(doc.tokenCount - 10_000)) doc = d;
  await phase('edit-top', async () => {
    for (let e = 0; e < 10; e++) {
      const lines = tree.documents.get(doc.id)!.text.split('\n');
      lines.splice(3, 0, `# profile edit ${e}`);
      await tree.ingest([{ id: doc.id, text: lines.join('\n') }]);
    }
  });
  session.disconnect();
  await models.dispose();
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
