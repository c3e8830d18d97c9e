/**
 * Token ids of a document held in 18 bits each: o200k ids are below 2^18 (200k), so 16 low bits in a
 * Uint16Array and the 2 high bits four to a byte take 2.25 bytes per token instead of 4 (a third of a
 * resident tree's bytes were token ids). Read one id with `at`, a whole copy with `unpack`.
 */
export class PackedTokens {
  readonly length: number;
  /** One array (small-array storage, see smallUint8): 16 low bits of each id as two bytes, then the high bits four to a byte. */
  private readonly b: Uint8Array;

  constructor(ids: ArrayLike<number>) {
    const n = ids.length;
    this.length = n;
    this.b = smallUint8(2 * n + ((n + 3) >> 2));
    const h = 2 * n;
    for (let i = 0; i < n; i++) {
      const id = ids[i];
      if (id >= 1 << 18 || id < 0) throw new RangeError(`token id ${id} does not fit in 18 bits`);
      this.b[2 * i] = id & 0xff;
      this.b[2 * i + 1] = (id >>> 8) & 0xff;
      this.b[h + (i >> 2)] |= (id >>> 16) << ((i & 3) << 1);
    }
  }

  at(i: number): number {
    const b = this.b;
    return b[2 * i] | (b[2 * i + 1] << 8) | (((b[2 * this.length + (i >> 2)] >> ((i & 3) << 1)) & 3) << 16);
  }

  /** Ids [start, end) as a new Uint32Array. */
  unpack(start = 0, end = this.length): Uint32Array {
    const out = new Uint32Array(Math.max(0, end - start));
    for (let i = start; i < end; i++) out[i - start] = this.at(i);
    return out;
  }

  get byteLength(): number {
    return this.b.byteLength;
  }
}

/**
 * Small arrays of many documents (their packed tokens, postings, block boundaries) as views of shared
 * slabs rather than each with an ArrayBuffer of its own: a tiny typed array costs ~100 bytes of object
 * and ~100 of buffer besides its data, and a 100k-file tree holds half a million of them. A slab lives
 * while any of its arrays does; a slab is SLAB_BYTES, so even a slab kept by one array alone costs
 * little. Arrays larger than SMALL_BYTES get their own buffer. Zero-filled, like `new Uint8Array(n)`.
 */
const SLAB_BYTES = 16 * 1024;
const SMALL_BYTES = 512;
let slab: ArrayBuffer | undefined;
let slabUsed = SLAB_BYTES;

function slabOffset(bytes: number): number {
  const at = (slabUsed + 7) & ~7; // 8-aligned: any element size
  if (slab === undefined || at + bytes > SLAB_BYTES) {
    slab = new ArrayBuffer(SLAB_BYTES);
    slabUsed = bytes;
    return 0;
  }
  slabUsed = at + bytes;
  return at;
}

export function smallUint8(n: number): Uint8Array {
  if (n === 0 || n > SMALL_BYTES) return new Uint8Array(n);
  const at = slabOffset(n);
  return new Uint8Array(slab!, at, n);
}

export function smallUint32(n: number): Uint32Array {
  if (n === 0 || n * 4 > SMALL_BYTES) return new Uint32Array(n);
  const at = slabOffset(n * 4);
  return new Uint32Array(slab!, at, n);
}

export function smallFloat32(n: number): Float32Array {
  if (n === 0 || n * 4 > SMALL_BYTES) return new Float32Array(n);
  const at = slabOffset(n * 4);
  return new Float32Array(slab!, at, n);
}

/** `a` itself when it is large, else a copy in small-array storage. */
export function compactUint32(a: Uint32Array): Uint32Array {
  if (a.length === 0 || a.length * 4 > SMALL_BYTES) return a;
  const out = smallUint32(a.length);
  out.set(a);
  return out;
}
