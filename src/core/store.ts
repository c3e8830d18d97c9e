/**
 * The persistent, versioned on-disk store of a tree (layout in storeFormat.ts): atomic writes,
 * and reads that never throw on damaged content and never return misread data.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { StoredDocument, StoreHeader } from './document';
import {
  align, crc32, headerProblem, KINDS, LITTLE_ENDIAN, MAGIC, PREFIX_BYTES, SECTIONS,
  sectionBytes, shapeProblem, STORE_FILE, STORE_FORMAT_VERSION, type DocMeta, type SectionName, type StoreFileHeader,
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
    tokens: d.tokens.length, lod1, lod2, sections: [],
  };
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

  const list: StoredDocument[] = [];
  const metas: DocMeta[] = [];
  const ids = new Set<string>();
  let cursor = 0;
  for (const d of docs) {
    const meta = validateDoc(d, h);
    if (ids.has(meta.id)) throw new TypeError(`writeStore: duplicate document id ${JSON.stringify(meta.id)}`);
    ids.add(meta.id);
    for (const name of SECTIONS) {
      const off = align(cursor);
      const len = sectionBytes(name, meta, h);
      meta.sections.push([off, len, 0]);
      cursor = off + len;
    }
    list.push(d);
    metas.push(meta);
  }
  const dataBytes = cursor;
  const data = Buffer.alloc(dataBytes); // zero-filled: padding is zero
  for (let i = 0; i < list.length; i++) {
    const secs = metas[i].sections;
    for (let s = 0; s < SECTIONS.length; s++) {
      const [off, len] = secs[s];
      const view = data.subarray(off, off + len);
      encodeSection(SECTIONS[s], list[i], view);
      secs[s][2] = crc32(view);
    }
  }

  const fileHeader: StoreFileHeader = { ...h, docCount: metas.length, dataBytes, docs: metas };
  const json = Buffer.from(JSON.stringify(fileHeader), 'utf8');
  const dataStart = align(PREFIX_BYTES + json.length);
  const head = Buffer.alloc(dataStart);
  head.write(MAGIC, 0, 'latin1');
  head.writeUInt32LE(STORE_FORMAT_VERSION, 4);
  head.writeUInt32LE(json.length, 8);
  head.writeUInt32LE(crc32(json), 12);
  json.copy(head, PREFIX_BYTES);

  const fileName = options.fileName ?? STORE_FILE;
  const target = path.join(dir, fileName);
  await fsp.mkdir(dir, { recursive: true });
  await removeStaleTemps(dir, fileName);
  const tmp = `${target}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
  inFlight.add(tmp);
  let fh: fsp.FileHandle | undefined;
  try {
    fh = await fsp.open(tmp, 'wx', 0o600);
    await writeAll(fh, head, 0);
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

function decodeDoc(buf: Buffer, base: number, m: DocMeta): StoredDocument {
  const at = (name: SectionName): Buffer => {
    const [off, len] = m.sections[SECTIONS.indexOf(name)];
    return buf.subarray(base + off, base + off + len);
  };
  const tokBytes = at('tokens');
  const tokens = new Uint32Array(m.tokens);
  if (LITTLE_ENDIAN) new Uint8Array(tokens.buffer).set(tokBytes);
  else for (let i = 0; i < m.tokens; i++) tokens[i] = tokBytes.readUInt32LE(i * 4);
  const gists = (bytes: Buffer): Int8Array => new Int8Array(Uint8Array.from(bytes).buffer);
  const scales = (bytes: Buffer): Float32Array => {
    const out = new Float32Array(bytes.length / 4);
    if (LITTLE_ENDIAN) new Uint8Array(out.buffer).set(bytes);
    else for (let i = 0; i < out.length; i++) out[i] = bytes.readFloatLE(i * 4);
    for (const s of out) if (!(s >= 0 && s !== Infinity)) fail(`document ${JSON.stringify(m.id)} has a gist scale ${s}`);
    return out;
  };
  const salience = (bytes: Buffer): Uint8Array => Uint8Array.from(bytes);
  return {
    id: m.id, kind: m.kind, appending: m.appending, contentHash: m.contentHash, mtimeMs: m.mtimeMs,
    tokens,
    lod1Gists: gists(at('lod1Gists')),
    lod1Scales: scales(at('lod1Scales')),
    lod1Salience: salience(at('lod1Salience')),
    lod2Gists: gists(at('lod2Gists')),
    lod2Scales: scales(at('lod2Scales')),
    lod2Salience: salience(at('lod2Salience')),
  };
}

function parseStore(buf: Buffer, expected: StoreHeader): { header: StoreHeader; docs: StoredDocument[] } {
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

  const docs: StoredDocument[] = [];
  const ids = new Set<string>();
  let cursor = 0;
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
    docs.push(decodeDoc(buf, dataStart, m));
  }
  if (cursor !== h.dataBytes) fail(`store data length ${h.dataBytes} disagrees with its sections (${cursor})`);
  return { header: { modelId: h.modelId, dim: h.dim, blockTokens: h.blockTokens, groupBlocks: h.groupBlocks }, docs };
}

/**
 * Reads the store in `dir`. 'missing' when there is none; 'rebuild' (with a one-line reason) when
 * it was built for other settings or another format, or its bytes are damaged in any way.
 * Throws only on IO errors other than a missing file.
 */
export async function readStore(dir: string, expected: StoreHeader, options: { fileName?: string } = {}): Promise<ReadStoreResult> {
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
