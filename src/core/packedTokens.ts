/**
 * Token ids of a document held in 18 bits each: o200k ids are below 2^18 (200k), so 16 low bits in a
 * Uint16Array and the 2 high bits four to a byte take 2.25 bytes per token instead of 4 (a third of a
 * resident tree's bytes were token ids). Read one id with `at`, a whole copy with `unpack`.
 */
export class PackedTokens {
  readonly length: number;
  private readonly lo: Uint16Array;
  private readonly hi: Uint8Array;

  constructor(ids: ArrayLike<number>) {
    const n = ids.length;
    this.length = n;
    this.lo = new Uint16Array(n);
    this.hi = new Uint8Array((n + 3) >> 2);
    for (let i = 0; i < n; i++) {
      const id = ids[i];
      if (id >= 1 << 18 || id < 0) throw new RangeError(`token id ${id} does not fit in 18 bits`);
      this.lo[i] = id & 0xffff;
      this.hi[i >> 2] |= (id >>> 16) << ((i & 3) << 1);
    }
  }

  at(i: number): number {
    return this.lo[i] | (((this.hi[i >> 2] >> ((i & 3) << 1)) & 3) << 16);
  }

  /** Ids [start, end) as a new Uint32Array. */
  unpack(start = 0, end = this.length): Uint32Array {
    const out = new Uint32Array(Math.max(0, end - start));
    for (let i = start; i < end; i++) out[i - start] = this.at(i);
    return out;
  }

  get byteLength(): number {
    return this.lo.byteLength + this.hi.byteLength;
  }
}
