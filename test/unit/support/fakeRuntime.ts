import type { GistBatch, ModelRuntime, RuntimeInfo } from '../../../src/core/runtime';
import { EXTRA_FEATURES } from '../../../src/core/features';

/**
 * A deterministic stand-in for the ONNX models, for unit tests only: gists are normalised hashed
 * bags of token ids, salience is uniform, and LensNet's score is the lexical feature rescaled.
 */
export class FakeRuntime implements ModelRuntime {
  readonly modelId = 'fake-model';
  readonly lensFeatures: number;
  calls = { blocks: 0, groups: 0, lens: 0 };

  constructor(readonly dim = 16) {
    this.lensFeatures = dim + EXTRA_FEATURES;
  }

  async gistBlocks(tokens: Int32Array, mask: Float32Array, count: number): Promise<GistBatch> {
    this.calls.blocks += count;
    const gists = new Float32Array(count * this.dim);
    const salience = new Float32Array(count * 32);
    for (let r = 0; r < count; r++) {
      let valid = 0;
      for (let k = 0; k < 32; k++) if (mask[r * 32 + k] > 0) valid++;
      for (let k = 0; k < 32; k++) {
        if (mask[r * 32 + k] <= 0) continue;
        gists[r * this.dim + (tokens[r * 32 + k] % this.dim)] += 1;
        salience[r * 32 + k] = 1 / valid;
      }
      normalise(gists, r, this.dim);
    }
    return { gists, salience };
  }

  async gistGroups(children: Float32Array, mask: Float32Array, count: number): Promise<GistBatch> {
    this.calls.groups += count;
    const gists = new Float32Array(count * this.dim);
    const salience = new Float32Array(count * 32);
    for (let r = 0; r < count; r++) {
      for (let c = 0; c < 32; c++) {
        if (mask[r * 32 + c] <= 0) continue;
        for (let d = 0; d < this.dim; d++) gists[r * this.dim + d] += children[(r * 32 + c) * this.dim + d];
        salience[r * 32 + c] = (c % 7) / 7;
      }
      normalise(gists, r, this.dim);
    }
    return { gists, salience };
  }

  async scoreEntries(entries: Float32Array, n: number): Promise<Float32Array> {
    this.calls.lens++;
    const F = this.lensFeatures;
    // lex_max_rel sits at dim + 7.
    return Float32Array.from({ length: n }, (_, i) => 2 * entries[i * F + this.dim + 7] - 1);
  }

  info(): RuntimeInfo {
    return { executionProvider: 'fake', modelId: this.modelId, dim: this.dim, lensFeatures: this.lensFeatures };
  }

  async dispose(): Promise<void> {}
}

function normalise(v: Float32Array, r: number, dim: number): void {
  let n = 0;
  for (let d = 0; d < dim; d++) n += v[r * dim + d] ** 2;
  n = Math.sqrt(n) || 1;
  for (let d = 0; d < dim; d++) v[r * dim + d] /= n;
}
