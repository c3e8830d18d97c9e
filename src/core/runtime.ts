/**
 * What the engine needs from the learned models. src/models implements it with onnxruntime-node;
 * unit tests plug in small deterministic doubles. The engine never imports a runtime directly.
 */
export interface GistBatch {
  /** count*dim, L2-normalised rows. */
  gists: Float32Array;
  /** count*32, pooling weights per token (LOD1) or per child (LOD2). */
  salience: Float32Array;
}

export interface RuntimeInfo {
  executionProvider: string;
  modelId: string;
  dim: number;
  lensFeatures: number;
  ortVersion?: string;
}

export interface ModelRuntime {
  readonly dim: number;
  readonly modelId: string;
  /** Width F of one LensNet entry row. */
  readonly lensFeatures: number;
  /** True for the degraded mode's runtime (src/core/lexicalRuntime.ts): no LensNet, focus by BM25 evidence. */
  readonly lexicalOnly?: boolean;
  /** tokens: count*32 o200k ids (0 where masked); mask: count*32 of 0/1. */
  gistBlocks(tokens: Int32Array, mask: Float32Array, count: number): Promise<GistBatch>;
  /** children: count*32*dim LOD1 gists; mask: count*32 of 0/1. */
  gistGroups(children: Float32Array, mask: Float32Array, count: number): Promise<GistBatch>;
  /** entries: n*F features; tail: t*dim query gists. Returns n signed scores. */
  scoreEntries(entries: Float32Array, n: number, tail: Float32Array, t: number): Promise<Float32Array>;
  /**
   * LensNet v2 (valueModel.ts), when the models carry it: rows is n × valueFeatures; returns n bounded
   * log-corrections of the plan's block values.
   */
  scoreValues?(rows: Float32Array, n: number): Promise<Float32Array>;
  /** Width of one LensNet v2 row (absent without LensNet v2). */
  readonly valueFeatures?: number;
  info(): RuntimeInfo;
  dispose(): Promise<void>;
}
