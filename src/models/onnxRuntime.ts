import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { availableParallelism } from 'node:os';
import * as ort from 'onnxruntime-node';
import type { GistBatch, ModelRuntime, RuntimeInfo } from '../core/runtime';

/** Execution providers in the order DESIGN.md tries them; each falls back to the next. */
export const DEFAULT_PROVIDERS = ['cuda', 'dml', 'coreml', 'webgpu', 'cpu'] as const;

export interface ModelsManifest {
  modelId: string;
  dim: number;
  blockTokens: number;
  groupBlocks: number;
  lensFeatures: number;
  files: { lod1: string; lod2: string; lens: string };
  /** LensNet v2, the plan's value model (models.json `files.value`), when the set carries it: its file, sha256 and row width. */
  value?: { path: string; sha256: string; features: number };
  /** onnxruntime graph optimisation per model (models.json `files.*.graphOptimizationLevel`; default 'all'). */
  optimization: { lod1: GraphLevel; lod2: GraphLevel; lens: GraphLevel };
}

type GraphLevel = 'disabled' | 'basic' | 'extended' | 'all';
const GRAPH_LEVELS: readonly GraphLevel[] = ['disabled', 'basic', 'extended', 'all'];

export interface LoadOptions {
  providers?: readonly string[];
  /** Intra-op threads for the CPU provider (default: defaultThreads()). */
  threads?: number;
}

export class ModelLoadError extends Error {}

export interface OnnxRuntimeInfo extends RuntimeInfo {
  ortVersion: string;
  /** Intra-op threads each session runs with. */
  threads: number;
  providersTried: { provider: string; error?: string }[];
  modelsDir: string;
}

/**
 * Intra-op threads when none are asked for: the machine's CPUs, at most 4 (these models gain little
 * beyond that, and the editor keeps the rest). Left to itself, onnxruntime-node 1.30 ran one thread on
 * a 2-CPU machine; two ran the 325-block LOD1 batch of a one-line edit 1.46× faster with identical
 * outputs (`node out/test/bench/gistnet.bench.js` with intraOpNumThreads 1 and 2).
 */
export function defaultThreads(): number {
  return Math.max(1, Math.min(4, availableParallelism()));
}

const LIB_DIRS = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib', '/usr/local/lib', '/lib/x86_64-linux-gnu'];

/** Why a bundled provider cannot work on this machine, checked without loading it (a failed load prints native noise). */
function providerPrecondition(name: string): string | undefined {
  if (name === 'webgpu' && process.platform === 'linux' && !LIB_DIRS.some((d) => existsSync(join(d, 'libvulkan.so.1')))) {
    return 'no Vulkan loader (libvulkan.so.1) on this machine';
  }
  return undefined;
}

/** Whether a provider that onnxruntime-node does not bundle has its shared library next to the addon. */
function providerInstalled(name: string): boolean {
  try {
    const bin = join(dirname(require.resolve('onnxruntime-node')), '..', 'bin', 'napi-v6', process.platform, process.arch);
    const lib = process.platform === 'win32' ? `onnxruntime_providers_${name}.dll` : `libonnxruntime_providers_${name}.so`;
    return existsSync(join(bin, lib));
  } catch {
    return false;
  }
}

function readManifest(modelsDir: string): ModelsManifest {
  let raw: string;
  try {
    raw = readFileSync(join(modelsDir, 'models.json'), 'utf8');
  } catch {
    throw new ModelLoadError(`models not found: ${join(modelsDir, 'models.json')} is missing (run \`npm run train\` or reinstall)`);
  }
  try {
    const m = JSON.parse(raw) as Partial<Omit<ModelsManifest, 'files' | 'optimization' | 'value'>> & {
      files?: Record<string, string | { path: string; graphOptimizationLevel?: string; sha256?: string }>;
      valueFeatures?: number;
    };
    if (typeof m.dim !== 'number' || typeof m.lensFeatures !== 'number' || typeof m.modelId !== 'string') throw new Error('fields');
    const file = (key: string, fallback: string): string => {
      const f = m.files?.[key];
      return typeof f === 'string' ? f : typeof f?.path === 'string' ? f.path : fallback;
    };
    // The int8 LOD1 GistNet is fused already: 'basic' keeps onnxruntime from adding a slower fusion.
    const level = (key: string): GraphLevel => {
      const f = m.files?.[key];
      const l = typeof f === 'object' ? f.graphOptimizationLevel : undefined;
      if (l === undefined) return 'all';
      if (!(GRAPH_LEVELS as readonly string[]).includes(l)) throw new Error('graphOptimizationLevel');
      return l as GraphLevel;
    };
    return {
      modelId: m.modelId,
      dim: m.dim,
      blockTokens: m.blockTokens ?? 32,
      groupBlocks: m.groupBlocks ?? 32,
      lensFeatures: m.lensFeatures,
      files: { lod1: file('lod1', 'gistnet-lod1.onnx'), lod2: file('lod2', 'gistnet-lod2.onnx'), lens: file('lens', 'lensnet.onnx') },
      optimization: { lod1: level('lod1'), lod2: level('lod2'), lens: level('lens') },
      value: valueEntry(m.files?.value, m.valueFeatures),
    };
  } catch {
    throw new ModelLoadError(`models manifest ${join(modelsDir, 'models.json')} is malformed`);
  }
}

/** models.json's `files.value` (LensNet v2) when complete; an incomplete entry means no LensNet v2. */
function valueEntry(f: unknown, features: unknown): ModelsManifest['value'] {
  if (typeof f !== 'object' || f === null || typeof features !== 'number') return undefined;
  const { path, sha256 } = f as { path?: unknown; sha256?: unknown };
  return typeof path === 'string' && typeof sha256 === 'string' ? { path, sha256, features } : undefined;
}

/** GistNet and LensNet in onnxruntime-node, on the first execution provider that loads. */
export class OnnxModels implements ModelRuntime {
  /** LensNet v2 (valueModel.ts): present only when the models carry it and it loaded. */
  readonly scoreValues?: (rows: Float32Array, n: number) => Promise<Float32Array>;
  readonly valueFeatures?: number;

  private constructor(
    private readonly lod1: ort.InferenceSession,
    private readonly lod2: ort.InferenceSession,
    private readonly lens: ort.InferenceSession,
    private readonly manifest: ModelsManifest,
    private readonly runtimeInfo: OnnxRuntimeInfo,
    private readonly value?: ort.InferenceSession,
  ) {
    if (value && manifest.value) {
      const F = manifest.value.features;
      this.valueFeatures = F;
      this.scoreValues = async (rows, n) => {
        if (n === 0) return new Float32Array(0);
        const out = await value.run({ rows: new ort.Tensor('float32', rows, [n, F]) });
        return out.delta.data as Float32Array;
      };
    }
  }

  get dim(): number {
    return this.manifest.dim;
  }
  get modelId(): string {
    return this.manifest.modelId;
  }
  get lensFeatures(): number {
    return this.manifest.lensFeatures;
  }

  static async load(modelsDir: string, options: LoadOptions = {}): Promise<OnnxModels> {
    const manifest = readManifest(modelsDir);
    const bytes = (f: string): Buffer => {
      try {
        return readFileSync(join(modelsDir, f));
      } catch {
        throw new ModelLoadError(`model file missing: ${join(modelsDir, f)}`);
      }
    };
    const files = [bytes(manifest.files.lod1), bytes(manifest.files.lod2), bytes(manifest.files.lens)];
    const digest = createHash('sha256');
    for (const f of files) digest.update(f);
    if (digest.digest('hex').slice(0, 16) !== manifest.modelId) {
      throw new ModelLoadError(`model files in ${modelsDir} do not match models.json (corrupt or mixed versions)`);
    }
    const backends = ort.listSupportedBackends();
    const supported = new Set(backends.filter((b) => b.bundled || providerInstalled(b.name)).map((b) => b.name));
    const tried: { provider: string; error?: string }[] = [];
    const threads = options.threads ?? defaultThreads();
    for (const provider of options.providers ?? DEFAULT_PROVIDERS) {
      if (!supported.has(provider)) {
        const known = backends.some((b) => b.name === provider);
        tried.push({
          provider,
          error: known
            ? `its libraries are not installed${provider === 'cuda' ? ' (ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node)' : ''}`
            : 'not available in this onnxruntime-node build',
        });
        continue;
      }
      const missing = providerPrecondition(provider);
      if (missing) {
        tried.push({ provider, error: missing });
        continue;
      }
      const opts: ort.InferenceSession.SessionOptions = {
        executionProviders: [provider],
        // A provider that fails to load is reported in providersTried; keep its native log quiet.
        logSeverityLevel: provider === 'cpu' ? 2 : 4,
        intraOpNumThreads: threads,
        interOpNumThreads: 1,
        // Idle pool threads sleep instead of spinning: spinning threads took the CPU from the JavaScript
        // between inference calls (tokenizing, costing); measured at 1M tokens, two threads without
        // spinning gave one-line edits p50 37.7 ms (spinning 47.7) and refocus W=8k p95 86 ms (103).
        extra: { session: { intra_op: { allow_spinning: '0' } } },
      };
      try {
        const levels = [manifest.optimization.lod1, manifest.optimization.lod2, manifest.optimization.lens];
        const sessions = await Promise.all(files.map((f, i) => ort.InferenceSession.create(f, { ...opts, graphOptimizationLevel: levels[i] })));
        tried.push({ provider });
        const value = await loadValueModel(modelsDir, manifest, opts);
        const info: OnnxRuntimeInfo = {
          executionProvider: provider,
          modelId: manifest.modelId,
          dim: manifest.dim,
          lensFeatures: manifest.lensFeatures,
          ortVersion: ort.env.versions.common,
          threads,
          providersTried: tried,
          modelsDir,
        };
        return new OnnxModels(sessions[0], sessions[1], sessions[2], manifest, info, value);
      } catch (err) {
        tried.push({ provider, error: err instanceof Error ? err.message.split('\n')[0] : String(err) });
      }
    }
    throw new ModelLoadError(`no execution provider could load the models: ${tried.map((t) => `${t.provider}: ${t.error}`).join('; ')}`);
  }

  async gistBlocks(tokens: Int32Array, mask: Float32Array, count: number): Promise<GistBatch> {
    const ids = BigInt64Array.from(tokens, (t) => BigInt(t));
    const out = await this.lod1.run({
      tokens: new ort.Tensor('int64', ids, [count, 32]),
      mask: new ort.Tensor('float32', mask, [count, 32]),
    });
    return { gists: out.gist.data as Float32Array, salience: out.salience.data as Float32Array };
  }

  async gistGroups(children: Float32Array, mask: Float32Array, count: number): Promise<GistBatch> {
    const out = await this.lod2.run({
      children: new ort.Tensor('float32', children, [count, 32, this.dim]),
      mask: new ort.Tensor('float32', mask, [count, 32]),
    });
    return { gists: out.gist.data as Float32Array, salience: out.salience.data as Float32Array };
  }

  async scoreEntries(entries: Float32Array, n: number, tail: Float32Array, t: number): Promise<Float32Array> {
    if (n === 0) return new Float32Array(0);
    const out = await this.lens.run({
      entries: new ort.Tensor('float32', entries, [1, n, this.lensFeatures]),
      entry_mask: new ort.Tensor('float32', new Float32Array(n).fill(1), [1, n]),
      tail: new ort.Tensor('float32', tail, [1, t, this.dim]),
      tail_mask: new ort.Tensor('float32', new Float32Array(t).fill(1), [1, t]),
    });
    return out.scores.data as Float32Array;
  }

  info(): OnnxRuntimeInfo {
    return this.runtimeInfo;
  }

  async dispose(): Promise<void> {
    await Promise.all([this.lod1.release(), this.lod2.release(), this.lens.release(), this.value?.release()]);
  }
}

/**
 * LensNet v2's session, on the CPU (an MLP over a few thousand rows: a device round trip costs more than
 * it saves). It is optional: a missing file or one that does not match models.json leaves it out, and
 * the 'lens2' scorer is then the lexical plan (the models' own modelId does not cover it).
 */
async function loadValueModel(modelsDir: string, manifest: ModelsManifest, opts: ort.InferenceSession.SessionOptions): Promise<ort.InferenceSession | undefined> {
  if (!manifest.value) return undefined;
  let bytes: Buffer;
  try {
    bytes = readFileSync(join(modelsDir, manifest.value.path));
  } catch {
    return undefined;
  }
  if (createHash('sha256').update(bytes).digest('hex') !== manifest.value.sha256) return undefined;
  try {
    return await ort.InferenceSession.create(bytes, { ...opts, executionProviders: ['cpu'], logSeverityLevel: 3 });
  } catch {
    return undefined;
  }
}

/** The contract the engine host uses. */
export async function loadModels(modelsDir: string, options: LoadOptions = {}): Promise<OnnxModels> {
  return OnnxModels.load(modelsDir, options);
}
