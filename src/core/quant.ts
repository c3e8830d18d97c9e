/**
 * The compact forms a tree keeps in memory and on disk.
 *
 * Gists: symmetric int8 per row. Each row of `dim` values keeps
 * q = round(x / s) in [-127, 127] with s = max|x| / 127, and x is read back as q * s. On the
 * development conversations this loses no recall against fp32 (see CHANGELOG), at a quarter of
 * the bytes. Non-finite values are stored as 0; an all-zero row has scale 0.
 */
export function quantizeRows(src: Float32Array, dim: number): { q: Int8Array; scales: Float32Array } {
  const rows = Math.floor(src.length / dim);
  const q = new Int8Array(rows * dim);
  const scales = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    let max = 0;
    for (let i = r * dim; i < (r + 1) * dim; i++) {
      const a = Math.abs(src[i]);
      if (a > max && a !== Infinity) max = a;
    }
    if (!(max > 0)) continue;
    const s = max / 127;
    scales[r] = s;
    for (let i = r * dim; i < (r + 1) * dim; i++) {
      const x = src[i];
      q[i] = Number.isFinite(x) ? Math.max(-127, Math.min(127, Math.round(x / s))) : 0;
    }
  }
  return { q, scales };
}

/** Writes row `row` of (q, scales) as floats into `dst` at `at`. */
export function dequantizeRowInto(q: Int8Array, scales: Float32Array, row: number, dim: number, dst: Float32Array, at: number): void {
  const s = scales[row];
  const from = row * dim;
  for (let i = 0; i < dim; i++) dst[at + i] = q[from + i] * s;
}

/**
 * Salience as uint8 per row of `row` values, relative to the row's maximum: round(s / max * 255).
 * Only the order within a row is ever used (which tokens or children go into a gist line). Rows with
 * no positive value stay zero; negatives and NaN become 0.
 */
export function quantizedSalience(src: Float32Array, row: number): Uint8Array {
  const out = new Uint8Array(src.length);
  for (let r = 0; r < src.length; r += row) {
    let max = 0;
    for (let i = r; i < r + row; i++) if (src[i] > max) max = src[i]; // NaN and negatives never win
    if (!(max > 0) || max === Infinity) continue;
    const scale = 255 / max;
    for (let i = r; i < r + row; i++) {
      const s = src[i];
      out[i] = s > 0 ? Math.round(s * scale) : 0;
    }
  }
  return out;
}
