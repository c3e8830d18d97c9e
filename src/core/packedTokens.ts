/**
 * Token ids of a document held in 18 bits each: o200k ids are below 2^18 (200k), so 16 low bits in a
 * Uint16Array and the 2 high bits four to a byte take 2.25 bytes per token instead of 4 (a third of a
 * resident tree's bytes were token ids). Read one id with `at`, a whole copy with `unpack`.
 */
export class PackedTokens {
  readonly length: number;
  /** One array (a typed array costs ~250 bytes of its own): 16 low bits of each id as two bytes, then the high bits four to a byte. */
  private readonly b: Uint8Array;

  constructor(ids: ArrayLike<number>) {
    const n = ids.length;
    this.length = n;
    this.b = new Uint8Array(2 * n + ((n + 3) >> 2));
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
