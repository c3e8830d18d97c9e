/**
 * The persistent, versioned on-disk store of a tree (layout in storeFormat.ts): atomic writes,
 * and reads that never throw on damaged content and never return misread data.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { nodeArraysOf, type NodeArrays, type StoredDocument, type StoreHeader } from './document';
import {
  align, crc32, headerProblem, KINDS, LITTLE_ENDIAN, MAGIC, PREFIX_BYTES, SECTIONS,
  sectionBytes, shapeProblem, statFromTuple, statTuple, STORE_FILE, STORE_FORMAT_VERSION, type DocMeta, type SectionName,
  type StoreFileHeader,
} from './storeFormat';

export { STORE_FILE, STORE_FORMAT_VERSION } from './storeFormat';

export type ReadStoreResult =
  | { status: 'ok'; header: StoreHeader; docs: StoredDocument[] }
  | { status: 'missing' | 'rebuild'; reason: string };

export interface WriteStoreOptions {
  /** File name inside `dir` (default STORE_FILE). */
  fileName?: string;
  /** Runs after the temporary file is complete and synced, before it replaces the store. */
  beforeRename?: (tmpPath: string) => void | Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// write

function validateDoc(d: StoredDocument, h: StoreHeader): DocMeta {
  const where = `document ${JSON.stringify(d.id)}`;
  if (typeof d.id !== 'string') throw new TypeError('writeStore: document id is not a string');
  if (!KINDS.includes(d.kind)) throw new TypeError(`writeStore: ${where} has unknown kind ${String(d.kind)}`);
  if (typeof d.contentHash !== 'string') throw new TypeError(`writeStore: ${where} contentHash is not a string`);
  if (!Number.isFinite(d.mtimeMs)) throw new TypeError(`writeStore: ${where} mtimeMs is not finite`);
  const stat = d.stat === undefined ? undefined : statTuple(d.stat);
  if (stat && !statFromTuple(stat)) throw new TypeError(`writeStore: ${where} stat ${JSON.stringify(stat)} is malformed`);
  if (!(d.tokens instanceof Uint32Array)) throw new TypeError(`writeStore: ${where} tokens is not a Uint32Array`);
  if (!(d.lod1Gists instanceof Int8Array) || !(d.lod2Gists instanceof Int8Array)) throw new TypeError(`writeStore: ${where} gists are not Int8Array`);
  if (!(d.lod1Scales instanceof Float32Array) || !(d.lod2Scales instanceof Float32Array)) throw new TypeError(`writeStore: ${where} gist scales are not Float32Array`);
  if (!(d.lod1Salience instanceof Uint8Array) || !(d.lod2Salience instanceof Uint8Array)) throw new TypeError(`writeStore: ${where} salience is not a Uint8Array`);
  const lod1 = d.lod1Gists.length / h.dim;
  const lod2 = d.lod2Gists.length / h.dim;
  if (!Number.isInteger(lod1) || d.lod1Salience.length !== lod1 * h.blockTokens || d.lod1Scales.length !== lod1) {
    throw new TypeError(`writeStore: ${where} LOD1 shapes disagree (gists ${d.lod1Gists.length}, salience ${d.lod1Salience.length}, dim ${h.dim})`);
  }
  if (!Number.isInteger(lod2) || d.lod2Salience.length !== lod2 * h.groupBlocks || d.lod2Scales.length !== lod2) {
    throw new TypeError(`writeStore: ${where} LOD2 shapes disagree (gists ${d.lod2Gists.length}, salience ${d.lod2Salience.length}, dim ${h.dim})`);
  }
  const meta: DocMeta = {
    id: d.id, kind: d.kind, appending: !!d.appending, contentHash: d.contentHash, mtimeMs: d.mtimeMs,
    ...(stat ? { stat } : {}),
    tokens: d.tokens.length, lod1, lod2, blocks: d.blocks?.length ?? 0, sections: [],
  };
  if (!(d.blocks instanceof Uint32Array) || !validBlocks(d.blocks.length, (k) => d.blocks[k], d.tokens.length)) throw new TypeError(`writeStore: ${where} block boundaries are missing or not ascending from 0 to its tokens`);
  const problem = shapeProblem(meta, h);
  if (problem) throw new TypeError(`writeStore: ${where}: ${problem}`);
  return meta;
}

function encodeSection(name: SectionName, d: StoredDocument, out: Buffer): void {
  switch (name) {
    case 'tokens':
      if (LITTLE_ENDIAN) out.set(new Uint8Array(d.tokens.buffer, d.tokens.byteOffset, d.tokens.byteLength));
      else for (let i = 0; i < d.tokens.length; i++) out.writeUInt32LE(d.tokens[i], i * 4);
      return;
    case 'lod1Gists': out.set(new Uint8Array(d.lod1Gists.buffer, d.lod1Gists.byteOffset, d.lod1Gists.byteLength)); return;
    case 'lod2Gists': out.set(new Uint8Array(d.lod2Gists.buffer, d.lod2Gists.byteOffset, d.lod2Gists.byteLength)); return;
    case 'lod1Scales':
    case 'lod2Scales': {
      const src = name === 'lod1Scales' ? d.lod1Scales : d.lod2Scales;
      if (LITTLE_ENDIAN) out.set(new Uint8Array(src.buffer, src.byteOffset, src.byteLength));
      else for (let i = 0; i < src.length; i++) out.writeFloatLE(src[i], i * 4);
      return;
    }
    case 'lod1Salience': out.set(d.lod1Salience); return;
    case 'lod2Salience': out.set(d.lod2Salience); return;
    case 'blocks':
      if (LITTLE_ENDIAN) out.set(new Uint8Array(d.blocks.buffer, d.blocks.byteOffset, d.blocks.byteLength));
      else for (let i = 0; i < d.blocks.length; i++) out.writeUInt32LE(d.blocks[i], i * 4);
      return;
  }
}

/** Block boundaries as the tree needs them: strictly ascending from 0 to the token count (just [0] when empty). */
/** Whether `n` block boundaries, the k-th `at(k)`, ascend strictly from 0 to `tokens`. */
function validBlocks(n: number, at: (k: number) => number, tokens: number): boolean {
  if (n < 1 || at(0) !== 0 || at(n - 1) !== tokens) return false;
  for (let i = 1; i < n; i++) if (at(i) <= at(i - 1)) return false;
  return true;
}

/** A generator or other iterator that can be walked only once. */
function isOneShot(docs: Iterable<StoredDocument>): boolean {
  return !Array.isArray(docs) && (docs[Symbol.iterator]() as unknown) === docs;
}

/** The header JSON built in UTF-8 parts of about a megabyte, with their total length and crc32. */
class JsonParts {
  readonly parts: Buffer[] = [];
  private pending: string[] = [];
  private pendingChars = 0;
  private bytes = 0;
  private crc = 0;

  constructor(first: string) {
    this.add(first);
  }

  add(text: string): void {
    this.pending.push(text);
    this.pendingChars += text.length;
    if (this.pendingChars >= 1 << 20) this.flush();
  }

  private flush(): void {
    if (this.pending.length === 0) return;
    const part = Buffer.from(this.pending.join(''), 'utf8');
    this.pending = [];
    this.pendingChars = 0;
    this.parts.push(part);
    this.bytes += part.length;
    this.crc = crc32(part, this.crc);
  }

  end(last: string): { parts: Buffer[]; bytes: number; crc: number } {
    this.add(last);
    this.flush();
    return { parts: this.parts, bytes: this.bytes, crc: this.crc };
  }
}

async function writeAll(fh: fsp.FileHandle, buf: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < buf.length) {
    const { bytesWritten } = await fh.write(buf, done, buf.length - done, position + done);
    if (bytesWritten <= 0) throw new Error('writeStore: write made no progress');
    done += bytesWritten;
  }
}

/**
 * Writes the store atomically: a temporary file in `dir`, fsynced, renamed over the target,
 * then the directory fsynced where the platform allows. On failure the old store is untouched
 * and the temporary file removed.
 */
export async function writeStore(
  dir: string, header: StoreHeader, docs: Iterable<StoredDocument>, options: WriteStoreOptions = {},
): Promise<{ bytes: number; path: string }> {
  const hp = headerProblem(header);
  if (hp) throw new TypeError(`writeStore: ${hp}`);
  const h: StoreHeader = { modelId: header.modelId, dim: header.dim, blockTokens: header.blockTokens, groupBlocks: header.groupBlocks };

  // Two passes over the documents: the first lays out the data region, the second encodes each
  // document into it and turns its header entry into JSON at once. Nothing per document outlives its
  // turn but a few numbers: holding every StoredDocument, a DocMeta with seven section arrays each and
  // the whole header as one string (twice, for its Buffer and the file's head) took ~3 KB per document,
  // 300 MB for a 100k-file tree. A one-shot iterator (a generator) is collected first.
  const source = isOneShot(docs) ? [...docs] : docs;
  const ids: string[] = [];
  const seen = new Set<string>();
  let cursor = 0;
  for (const d of source) {
    const meta = validateDoc(d, h);
    if (seen.has(meta.id)) throw new TypeError(`writeStore: duplicate document id ${JSON.stringify(meta.id)}`);
    seen.add(meta.id);
    ids.push(meta.id);
    for (const name of SECTIONS) cursor = align(cursor) + sectionBytes(name, meta, h);
  }
  seen.clear();
  const dataBytes = cursor;
  const data = Buffer.alloc(dataBytes); // zero-filled: padding is zero
  const head: StoreFileHeader = { ...h, docCount: ids.length, dataBytes, docs: [] };
  const jsonParts = new JsonParts(JSON.stringify(head).slice(0, -2)); // up to `"docs":[`
  cursor = 0;
  let i = 0;
  for (const d of source) {
    const meta = validateDoc(d, h);
    if (i >= ids.length || meta.id !== ids[i]) throw new Error('writeStore: the documents changed while they were being written');
    for (let s = 0; s < SECTIONS.length; s++) {
      const off = align(cursor);
      const len = sectionBytes(SECTIONS[s], meta, h);
      if (off + len > dataBytes) throw new Error('writeStore: the documents changed while they were being written');
      const view = data.subarray(off, off + len);
      encodeSection(SECTIONS[s], d, view);
      meta.sections.push([off, len, crc32(view)]);
      cursor = off + len;
    }
    jsonParts.add((i === 0 ? '' : ',') + JSON.stringify(meta));
    i++;
  }
  if (i !== ids.length || cursor !== dataBytes) throw new Error('writeStore: the documents changed while they were being written');
  const json = jsonParts.end(']}');
  const dataStart = align(PREFIX_BYTES + json.bytes);
  const prefix = Buffer.alloc(PREFIX_BYTES);
  prefix.write(MAGIC, 0, 'latin1');
  prefix.writeUInt32LE(STORE_FORMAT_VERSION, 4);
  prefix.writeUInt32LE(json.bytes, 8);
  prefix.writeUInt32LE(json.crc, 12);

  const fileName = options.fileName ?? STORE_FILE;
  const target = path.join(dir, fileName);
  await ensureDir(dir);
  await removeStaleTemps(dir, fileName);
  const tmp = `${target}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
  inFlight.add(tmp);
  let fh: fsp.FileHandle | undefined;
  try {
    fh = await fsp.open(tmp, 'wx', 0o600);
    await writeAll(fh, prefix, 0);
    let at = PREFIX_BYTES;
    for (const part of json.parts) {
      await writeAll(fh, part, at);
      at += part.length;
    }
    await writeAll(fh, Buffer.alloc(dataStart - at), at); // zero padding up to the data region
    await writeAll(fh, data, dataStart);
    await fh.sync();
    await fh.close();
    fh = undefined;
    if (options.beforeRename) await options.beforeRename(tmp);
    await fsp.rename(tmp, target);
  } catch (err) {
    if (fh) await fh.close().catch(() => undefined);
    await fsp.rm(tmp, { force: true }).catch(() => undefined);
    throw err;
  } finally {
    inFlight.delete(tmp);
  }
  await syncDir(dir);
  return { bytes: dataStart + dataBytes, path: target };
}

/**
 * `mkdir -p` that always ends: Node's own recursive mkdir retries forever where a parent exists but
 * refuses children with ENOENT (`/proc/self/x`: minutes of a spinning loop). Each folder is tried
 * once, parents first; any failure is thrown with its code.
 */
export async function ensureDir(dir: string): Promise<void> {
  const missing: string[] = [];
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    try {
      if ((await fsp.stat(d)).isDirectory()) break;
      throw Object.assign(new Error(`ENOTDIR: not a folder: ${d}`), { code: 'ENOTDIR' });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || path.dirname(d) === d) throw err;
      missing.push(d);
    }
  }
  for (const d of missing.reverse()) {
    try {
      await fsp.mkdir(d);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || !(await fsp.stat(d)).isDirectory()) throw err;
    }
  }
}

async function syncDir(dir: string): Promise<void> {
  let dh: fsp.FileHandle | undefined;
  try {
    dh = await fsp.open(dir, 'r');
    await dh.sync();
  } catch {
    // Windows cannot open or fsync a directory; the rename is still atomic there.
  } finally {
    await dh?.close().catch(() => undefined);
  }
}

/** Temporary files this process is writing now: never swept, whatever their age. */
const inFlight = new Set<string>();

/**
 * A temporary this old is stale whatever its pid says: a write takes seconds, and after a crash the
 * pid may be reused (containers start processes at the same small pids), which would keep it forever.
 */
export const STALE_TEMP_MS = 10 * 60_000;

/**
 * Removes temporaries left by writers that were killed mid-write: their pid no longer runs, or they are
 * older than STALE_TEMP_MS (their pid was reused by a live process, ours included).
 */
async function removeStaleTemps(dir: string, fileName: string): Promise<void> {
  const prefix = `${fileName}.tmp-`;
  let names: string[];
  try { names = await fsp.readdir(dir); } catch { return; }
  const now = Date.now();
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const file = path.join(dir, name);
    if (inFlight.has(file)) continue;
    const pid = Number(name.slice(prefix.length).split('-')[0]);
    let stale = !Number.isSafeInteger(pid) || pid <= 0 || (pid !== process.pid && !isRunning(pid));
    if (!stale) {
      try { stale = now - (await fsp.lstat(file)).mtimeMs > STALE_TEMP_MS; } catch { continue; }
    }
    if (stale) await fsp.rm(file, { force: true }).catch(() => undefined);
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

// ---------------------------------------------------------------------------------------------
// read

class Corrupt extends Error {}
function fail(reason: string): never {
  throw new Corrupt(reason);
}

function parseHeader(json: Buffer): StoreFileHeader {
  let raw: unknown;
  try { raw = JSON.parse(json.toString('utf8')); } catch { fail('store header is not valid JSON'); }
  const o = raw as Partial<StoreFileHeader> | null;
  if (!o || typeof o !== 'object') fail('store header is not an object');
  const h = o as StoreFileHeader;
  const hp = headerProblem(h);
  if (hp) fail(`store header: ${hp}`);
  if (!Array.isArray(h.docs)) fail('store header has no document list');
  if (h.docCount !== h.docs.length) fail(`store header counts ${String(h.docCount)} documents but lists ${h.docs.length}`);
  if (!Number.isSafeInteger(h.dataBytes) || h.dataBytes < 0) fail('store header has an invalid data length');
  return h;
}

function validateMeta(m: DocMeta, i: number, h: StoreHeader): void {
  if (!m || typeof m !== 'object') fail(`document ${i} metadata is not an object`);
  if (typeof m.id !== 'string') fail(`document ${i} has no id`);
  if (!KINDS.includes(m.kind)) fail(`document ${i} has unknown kind ${String(m.kind)}`);
  if (typeof m.appending !== 'boolean') fail(`document ${i} appending flag is not a boolean`);
  if (typeof m.contentHash !== 'string') fail(`document ${i} contentHash is not a string`);
  if (typeof m.mtimeMs !== 'number' || !Number.isFinite(m.mtimeMs)) fail(`document ${i} mtimeMs is not a number`);
  if (m.stat !== undefined && !statFromTuple(m.stat)) fail(`document ${i} stat is malformed`);
  const sp = shapeProblem(m, h);
  if (sp) fail(`document ${i}: ${sp}`);
  if (!Array.isArray(m.sections) || m.sections.length !== SECTIONS.length) fail(`document ${i} section list is malformed`);
  for (const s of m.sections) {
    if (!Array.isArray(s) || s.length !== 3 || !s.every((v) => Number.isSafeInteger(v) && v >= 0)) {
      fail(`document ${i} section entry is malformed`);
    }
  }
}

function allZero(buf: Buffer, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (buf[i] !== 0) return false;
  return true;
}

/**
 * Decodes one document. Tokens are a view of the file's bytes where the platform allows (the tree packs
 * them into its own form on restore). Gists, scales and salience are copied into rows r1… and r2… of
 * `nodes`, arrays shared by the whole store (the document's `rows`; its six arrays are views of them),
 * and its block boundaries into `blocks` at `at`: a separate ArrayBuffer for each small array of a
 * document cost ~1 KB of every tiny file of a 100k-file tree.
 */
function decodeDoc(buf: Buffer, base: number, m: DocMeta, h: StoreHeader, nodes: NodeArrays, r1: number, r2: number, blocks: Uint32Array, at: number): StoredDocument {
  const at_ = (name: SectionName): Buffer => {
    const [off, len] = m.sections[SECTIONS.indexOf(name)];
    return buf.subarray(base + off, base + off + len);
  };
  const tokBytes = at_('tokens');
  let tokens: Uint32Array;
  if (LITTLE_ENDIAN && tokBytes.byteOffset % 4 === 0) tokens = new Uint32Array(tokBytes.buffer, tokBytes.byteOffset, m.tokens);
  else {
    tokens = new Uint32Array(m.tokens);
    for (let i = 0; i < m.tokens; i++) tokens[i] = tokBytes.readUInt32LE(i * 4);
  }
  /** Bytes into `dst` from element `from` (same element size); 4-byte values read little-endian on a big-endian machine. */
  const copy = (bytes: Buffer, dst: Int8Array | Uint8Array | Float32Array | Uint32Array, from: number): void => {
    const n = bytes.length / dst.BYTES_PER_ELEMENT;
    if (dst.BYTES_PER_ELEMENT === 1 || LITTLE_ENDIAN) new Uint8Array(dst.buffer, dst.byteOffset + from * dst.BYTES_PER_ELEMENT, bytes.length).set(bytes);
    else if (dst instanceof Float32Array) for (let i = 0; i < n; i++) dst[from + i] = bytes.readFloatLE(i * 4);
    else for (let i = 0; i < n; i++) dst[from + i] = bytes.readUInt32LE(i * 4);
  };
  copy(at_('lod1Gists'), nodes.q1, r1 * h.dim);
  copy(at_('lod1Scales'), nodes.k1, r1);
  copy(at_('lod1Salience'), nodes.s1, r1 * h.blockTokens);
  copy(at_('lod2Gists'), nodes.q2, r2 * h.dim);
  copy(at_('lod2Scales'), nodes.k2, r2);
  copy(at_('lod2Salience'), nodes.s2, r2 * h.groupBlocks);
  copy(at_('blocks'), blocks, at);
  const stat = m.stat === undefined ? null : statFromTuple(m.stat);
  return {
    id: m.id, kind: m.kind, appending: m.appending, contentHash: m.contentHash, mtimeMs: m.mtimeMs,
    ...(stat ? { stat } : {}),
    tokens,
    lod1Gists: nodes.q1.subarray(r1 * h.dim, (r1 + m.lod1) * h.dim),
    lod1Scales: nodes.k1.subarray(r1, r1 + m.lod1),
    lod1Salience: nodes.s1.subarray(r1 * h.blockTokens, (r1 + m.lod1) * h.blockTokens),
    lod2Gists: nodes.q2.subarray(r2 * h.dim, (r2 + m.lod2) * h.dim),
    lod2Scales: nodes.k2.subarray(r2, r2 + m.lod2),
    lod2Salience: nodes.s2.subarray(r2 * h.groupBlocks, (r2 + m.lod2) * h.groupBlocks),
    blocks: blocks.subarray(at, at + m.blocks),
    rows: { nodes, r1, r2 },
  };
}

/** A store whose every byte was checked: its documents decode one at a time, and cannot fail to. */
interface ParsedStore {
  header: StoreHeader;
  count: number;
  /** The documents in store order, each decoded when reached (walk it once). */
  documents: () => IterableIterator<StoredDocument>;
}

/** Value checks of the sections whose values have rules of their own: scales, and block boundaries. */
function checkValues(buf: Buffer, dataStart: number, m: DocMeta): void {
  for (const name of ['lod1Scales', 'lod2Scales'] as const) {
    const [off, len] = m.sections[SECTIONS.indexOf(name)];
    for (let at = dataStart + off; at < dataStart + off + len; at += 4) {
      const v = buf.readFloatLE(at);
      if (!(v >= 0 && v !== Infinity)) fail(`document ${JSON.stringify(m.id)} has a gist scale ${v}`);
    }
  }
  const [off] = m.sections[SECTIONS.indexOf('blocks')];
  if (!validBlocks(m.blocks, (k) => buf.readUInt32LE(dataStart + off + 4 * k), m.tokens)) fail(`document ${JSON.stringify(m.id)} has block boundaries out of order`);
}

function parseStore(buf: Buffer, expected: StoreHeader): ParsedStore {
  const size = buf.length;
  if (size < PREFIX_BYTES) fail(`store file is truncated (${size} bytes)`);
  if (buf.toString('latin1', 0, 4) !== MAGIC) fail('store file has a wrong magic (not a MegaContext store)');
  const version = buf.readUInt32LE(4);
  if (version !== STORE_FORMAT_VERSION) {
    fail(`store format version ${version} is ${version > STORE_FORMAT_VERSION ? 'newer' : 'older'} than this build's ${STORE_FORMAT_VERSION}`);
  }
  const headerLen = buf.readUInt32LE(8);
  if (PREFIX_BYTES + headerLen > size) fail('store file is truncated inside its header');
  const json = buf.subarray(PREFIX_BYTES, PREFIX_BYTES + headerLen);
  if (crc32(json) !== buf.readUInt32LE(12)) fail('store header checksum mismatch');
  const h = parseHeader(json);
  if (h.modelId !== expected.modelId) fail(`store was built by model ${h.modelId}, expected ${expected.modelId}`);
  for (const k of ['dim', 'blockTokens', 'groupBlocks'] as const) {
    if (h[k] !== expected[k]) fail(`store ${k} is ${h[k]}, expected ${expected[k]}`);
  }
  const dataStart = align(PREFIX_BYTES + headerLen);
  if (size < dataStart + h.dataBytes) fail(`store file is truncated (${size} of ${dataStart + h.dataBytes} bytes)`);
  if (size > dataStart + h.dataBytes) fail(`store file has ${size - dataStart - h.dataBytes} trailing bytes`);
  if (!allZero(buf, PREFIX_BYTES + headerLen, dataStart)) fail('store header padding is not zero');

  const ids = new Set<string>();
  let cursor = 0;
  let lod1 = 0;
  let lod2 = 0;
  let bounds = 0;
  for (let i = 0; i < h.docs.length; i++) {
    const m = h.docs[i];
    validateMeta(m, i, h);
    if (ids.has(m.id)) fail(`store lists document ${JSON.stringify(m.id)} twice`);
    ids.add(m.id);
    for (let s = 0; s < SECTIONS.length; s++) {
      const [off, len, crc] = m.sections[s];
      if (off !== align(cursor) || len !== sectionBytes(SECTIONS[s], m, h)) fail(`document ${i} ${SECTIONS[s]} section is misplaced`);
      if (off + len > h.dataBytes) fail(`document ${i} ${SECTIONS[s]} section runs past the data region`);
      if (!allZero(buf, dataStart + cursor, dataStart + off)) fail(`document ${i} padding is not zero`);
      if (crc32(buf.subarray(dataStart + off, dataStart + off + len)) !== crc) fail(`document ${i} ${SECTIONS[s]} checksum mismatch`);
      cursor = off + len;
    }
    checkValues(buf, dataStart, m);
    lod1 += m.lod1;
    lod2 += m.lod2;
    bounds += m.blocks;
  }
  if (cursor !== h.dataBytes) fail(`store data length ${h.dataBytes} disagrees with its sections (${cursor})`);
  // Every check passed: decode, each document's nodes into rows of one set of arrays, its block
  // boundaries into one array. One at a time, as the caller takes them: 100k decoded documents held
  // at once (an object and eight array views each) were ~90 MB of a warm start's peak.
  const nodes = nodeArraysOf(lod1, lod2, h.dim, h.blockTokens, h.groupBlocks);
  const blocks = new Uint32Array(bounds);
  function* documents(): IterableIterator<StoredDocument> {
    let r1 = 0;
    let r2 = 0;
    let at = 0;
    for (const m of h.docs) {
      yield decodeDoc(buf, dataStart, m, h, nodes, r1, r2, blocks, at);
      r1 += m.lod1;
      r2 += m.lod2;
      at += m.blocks;
    }
  }
  return { header: { modelId: h.modelId, dim: h.dim, blockTokens: h.blockTokens, groupBlocks: h.groupBlocks }, count: h.docs.length, documents };
}

/**
 * Reads the store in `dir`. 'missing' when there is none; 'rebuild' (with a one-line reason) when
 * it was built for other settings or another format, or its bytes are damaged in any way.
 * Throws only on IO errors other than a missing file.
 */
export async function readStore(dir: string, expected: StoreHeader, options: { fileName?: string } = {}): Promise<ReadStoreResult> {
  const res = await openStore(dir, expected, options);
  return res.status === 'ok' ? { status: 'ok', header: res.header, docs: [...res.documents()] } : res;
}

export type OpenStoreResult = ({ status: 'ok' } & ParsedStore) | { status: 'missing' | 'rebuild'; reason: string };

/**
 * readStore with the documents decoded one at a time as `documents()` is walked (once): every byte is
 * checked before it returns 'ok', so the walk cannot fail, and a caller that keeps what it needs of
 * each document never holds them all.
 */
export async function openStore(dir: string, expected: StoreHeader, options: { fileName?: string } = {}): Promise<OpenStoreResult> {
  const file = path.join(dir, options.fileName ?? STORE_FILE);
  let buf: Buffer;
  try {
    buf = await readWhole(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { status: 'missing', reason: `no store at ${file}` };
    throw new Error(`cannot read store ${file}: ${(err as Error).message}`);
  }
  try {
    return { status: 'ok', ...parseStore(buf, expected) };
  } catch (err) {
    if (err instanceof Corrupt) return { status: 'rebuild', reason: err.message };
    throw err;
  }
}

async function readWhole(file: string): Promise<Buffer> {
  const fh = await fsp.open(file, 'r');
  try {
    const { size } = await fh.stat();
    const buf = Buffer.allocUnsafeSlow(size); // own ArrayBuffer at offset 0: aligned typed views
    let done = 0;
    while (done < size) {
      const { bytesRead } = await fh.read(buf, done, size - done, done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    return done === size ? buf : buf.subarray(0, done);
  } finally {
    await fh.close();
  }
}
