/**
 * IEEE 754 binary16 <-> binary32 conversion (Node 20 has no Float16Array).
 * Encoding rounds to nearest, ties to even, with subnormals, overflow to infinity and NaN kept NaN.
 * Decoding is exact (every half is representable as a float) and uses a 64K-entry table.
 */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The binary16 bit pattern nearest to `value` (round half to even). */
export function toHalfBits(value: number): number {
  f32[0] = value;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return mant === 0 ? sign | 0x7c00 : sign | 0x7e00 | (mant >>> 13);
  const e = exp - 112; // rebias 127 -> 15
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    // Subnormal half (or zero): value = m * 2^-24. Anything below 2^-25 rounds to zero.
    if (e < -10) return sign;
    const m = mant | 0x800000;
    const shift = 14 - e; // 14..24
    let half = m >>> shift;
    const rem = m & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rem > halfway || (rem === halfway && (half & 1) === 1)) half++;
    return sign | half; // a carry into bit 10 yields the smallest normal, as it should
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (half & 1) === 1)) half++; // a carry may reach infinity: correct
  return sign | half;
}

let table: Float32Array | undefined;

function halfTable(): Float32Array {
  if (table) return table;
  const t = new Float32Array(65536);
  const bits = new Uint32Array(t.buffer);
  for (let h = 0; h < 65536; h++) {
    const sign = (h & 0x8000) << 16;
    const e = (h >>> 10) & 0x1f;
    const m = h & 0x3ff;
    if (e === 0) t[h] = (sign ? -m : m) * 2 ** -24; // subnormal (and ±0): exact in float32
    else if (e === 31) bits[h] = (sign | 0x7f800000 | (m << 13)) >>> 0; // inf, or NaN with its payload
    else bits[h] = (sign | ((e + 112) << 23) | (m << 13)) >>> 0;
  }
  table = t;
  return t;
}

/** The number a binary16 bit pattern stands for. */
export function fromHalfBits(bits: number): number {
  return halfTable()[bits & 0xffff];
}

/** Encodes `src` into `dst` (same length). */
export function encodeHalf(src: Float32Array, dst: Uint16Array): void {
  if (dst.length !== src.length) throw new RangeError('encodeHalf: length mismatch');
  for (let i = 0; i < src.length; i++) dst[i] = toHalfBits(src[i]);
}

/** Decodes `src` into `dst` (same length). */
export function decodeHalf(src: Uint16Array, dst: Float32Array): void {
  if (dst.length !== src.length) throw new RangeError('decodeHalf: length mismatch');
  const t = halfTable();
  for (let i = 0; i < src.length; i++) dst[i] = t[src[i]];
}

/** `src` as binary16 bit patterns (a new array). */
export function toHalves(src: Float32Array): Uint16Array {
  const out = new Uint16Array(src.length);
  encodeHalf(src, out);
  return out;
}

/** Decodes `count` halves of `src` from `from` into `dst` at `at` (no allocation). */
export function decodeHalfInto(src: Uint16Array, from: number, count: number, dst: Float32Array, at: number): void {
  const t = halfTable();
  for (let i = 0; i < count; i++) dst[at + i] = t[src[from + i]];
}
