/**
 * Store throughput and size for a synthetic tree (not a test; prints numbers).
 *   npm run build && node out/test/bench/store.bench.js [totalTokens=1000000] [dim=128] [docTokens=4000]
 */
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { BLOCK_TOKENS, GROUP_BLOCKS } from '../../src/core/constants';
import type { StoredDocument, StoreHeader } from '../../src/core/document';
import { readStore, writeStore } from '../../src/core/store';
import { quantizedSalience, quantizeRows } from '../../src/core/quant';

async function main(): Promise<void> {
  const total = Number(process.argv[2] ?? 1_000_000);
  const dim = Number(process.argv[3] ?? 128);
  const perDoc = Number(process.argv[4] ?? 4000);
  const header: StoreHeader = { modelId: 'bench', dim, blockTokens: BLOCK_TOKENS, groupBlocks: GROUP_BLOCKS };
  const docs: StoredDocument[] = [];
  let seed = 12345;
  const rand = (): number => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  for (let done = 0, i = 0; done < total; i++) {
    const n = Math.min(Math.max(1, Math.round(perDoc * (0.5 + rand()))), total - done);
    const lod1 = Math.ceil(n / BLOCK_TOKENS);
    const lod2 = Math.ceil(lod1 / GROUP_BLOCKS);
    const g1 = quantizeRows(Float32Array.from({ length: lod1 * dim }, () => rand() * 2 - 1), dim);
    const g2 = quantizeRows(Float32Array.from({ length: lod2 * dim }, () => rand() * 2 - 1), dim);
    docs.push({
      id: `/workspace/src/file${i}.ts`, kind: 'file', appending: false, contentHash: 'f'.repeat(64), mtimeMs: Date.now(),
      tokens: Uint32Array.from({ length: n }, () => (rand() * 200000) | 0),
      blocks: Uint32Array.from({ length: lod1 + 1 }, (_, b) => Math.min(n, b * BLOCK_TOKENS)),
      lod1Gists: g1.q,
      lod1Scales: g1.scales,
      lod1Salience: quantizedSalience(Float32Array.from({ length: lod1 * BLOCK_TOKENS }, rand), BLOCK_TOKENS),
      lod2Gists: g2.q,
      lod2Scales: g2.scales,
      lod2Salience: quantizedSalience(Float32Array.from({ length: lod2 * GROUP_BLOCKS }, rand), GROUP_BLOCKS),
    });
    done += n;
  }
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'mgc-bench-'));
  try {
    // First round is cold (a fresh process, as at extension start); then the best of three, and
    // CPU time besides wall time, since a shared machine inflates wall time.
    const rounds: { writeMs: number; readMs: number; writeCpuMs: number; readCpuMs: number }[] = [];
    let bytes = 0;
    for (let round = 0; round < 4; round++) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      bytes = (await writeStore(dir, header, docs)).bytes;
      const t1 = performance.now();
      const c1 = process.cpuUsage();
      const res = await readStore(dir, header);
      const t2 = performance.now();
      const c2 = process.cpuUsage();
      if (res.status !== 'ok' || res.docs.length !== docs.length) throw new Error(`read back failed: ${JSON.stringify(res).slice(0, 200)}`);
      const cpu = (a: NodeJS.CpuUsage, b: NodeJS.CpuUsage): number => (b.user - a.user + b.system - a.system) / 1000;
      rounds.push({ writeMs: t1 - t0, readMs: t2 - t1, writeCpuMs: cpu(c0, c1), readCpuMs: cpu(c1, c2) });
    }
    const best = (k: keyof (typeof rounds)[number]): number => +Math.min(...rounds.slice(1).map((r) => r[k])).toFixed(1);
    const first = Object.fromEntries(Object.entries(rounds[0]).map(([k, v]) => [k, +v.toFixed(1)]));
    console.log(JSON.stringify({
      tokens: total, dim, documents: docs.length, bytes, bytesPerToken: +(bytes / total).toFixed(3),
      cold: first,
      warmBest: { writeMs: best('writeMs'), readMs: best('readMs'), writeCpuMs: best('writeCpuMs'), readCpuMs: best('readCpuMs') },
      node: process.version, cpus: os.cpus().length, loadavg1: +os.loadavg()[0].toFixed(1),
    }));
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
}

main().catch((err) => { console.error(err); process.exit(1); });
