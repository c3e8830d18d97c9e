// Indexing the workspace folders into the tree, in full (`indexWorkspace`) or for a few changed paths
// (`updateFiles`). Same rules as the CLI's indexer (src/core/indexer.ts), plus what the extension
// needs: include/exclude globs from settings, and every skipped path with its reason for the output
// channel. Secret files are never read; secrets inside kept files are redacted before tokenization.
import { indexFolders, readFileForIndex } from '../core/indexer';
import { relative, sep } from 'node:path';
import { DEFAULT_EXCLUDES, DEFAULT_MAX_FILE_BYTES, isSecretPath, redactSecrets } from '../core/discovery';
import type { FileStat } from '../core/document';
import type { SkippedFile } from '../core/indexer';
import { secretContentRule } from '../core/secrets';
import type { DocumentInput } from '../core/tree';
import type { IndexParams, IndexProgress, IndexResult, UpdateFilesParams, UpdateFilesResult } from './protocol';
import type { MemorySession } from './session';

export async function indexWorkspace(
  session: MemorySession,
  params: IndexParams,
  signal: AbortSignal,
  onProgress: (p: IndexProgress) => void,
): Promise<IndexResult> {
  const tree = session.tree;
  session.roots = params.roots;
  if (params.rebuild) for (const d of [...tree.documents.values()]) if (d.kind === 'file') tree.remove(d.id);
  const s = await indexFolders(tree, params.roots, {
    maxFileBytes: params.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES,
    include: params.include?.length ? params.include : undefined,
    exclude: [...DEFAULT_EXCLUDES, ...(params.exclude ?? [])],
    signal,
    onProgress: (p) => onProgress({ documents: p.documents, totalDocuments: p.totalDocuments, tokens: p.tokens }),
  });
  if (s.added + s.updated + s.removed > 0 || !session.store.startsWith('loaded')) session.changed();
  const { files, tokens, added, updated, unchanged, removed, ms } = s;
  return { files, tokens, added, updated, unchanged, removed, skipped: s.skippedFiles, redacted: s.redactedFiles, ms };
}

function inside(roots: string[], path: string): boolean {
  return roots.some((r) => {
    const rel = relative(r, path);
    return rel !== '' && !rel.startsWith('..') && !rel.startsWith(sep) && !/^[A-Za-z]:/.test(rel);
  });
}

/**
 * Applies changes to single files. A file the tree already holds is re-read (or taken from the open
 * editor's text) and re-ingested; only its changed blocks are gisted again. A path the tree does not
 * know may be new: the folders are walked again (unchanged files are not re-read) so that
 * .gitignore, exclude globs and secret rules decide, exactly as at indexing.
 */
export async function updateFiles(session: MemorySession, params: UpdateFilesParams, signal: AbortSignal): Promise<UpdateFilesResult> {
  const tree = session.tree;
  session.roots = params.roots;
  let removed = 0;
  for (const p of params.deleted) if (tree.documents.get(p)?.kind === 'file' && tree.remove(p)) removed++;
  const inputs: DocumentInput[] = [];
  /** What the disk said when each input was read; undefined for an editor's text (maybe unsaved). */
  const stats: (FileStat | undefined)[] = [];
  const skipped: SkippedFile[] = [];
  const redacted: string[] = [];
  let unknown = false;
  const maxBytes = params.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  for (const change of params.changed) {
    if (!inside(params.roots, change.path) || isSecretPath(change.path)) continue;
    const known = tree.documents.get(change.path);
    if (!known || known.kind !== 'file') {
      unknown = true;
      continue;
    }
    let text = change.text;
    let mtimeMs = known.mtimeMs;
    let fileStat: FileStat | undefined;
    if (text === undefined) {
      // The same read as indexing: a file now too large, binary anywhere, or gone leaves the tree.
      const o = await readFileForIndex(change.path, maxBytes);
      if ('skip' in o) {
        if (tree.remove(change.path)) removed++;
        continue;
      }
      text = o.text;
      mtimeMs = o.stat.mtimeMs;
      fileStat = o.stat;
    }
    // A config that now holds a credential, or a pasted private key, makes the file a secret file.
    const secret = secretContentRule(change.path, text);
    if (secret) {
      if (tree.remove(change.path)) removed++;
      skipped.push({ path: change.path, reason: 'secret', detail: secret });
      continue;
    }
    const clean = redactSecrets(text);
    if (clean.redactions > 0) redacted.push(change.path);
    inputs.push({ id: change.path, text: clean.text, mtimeMs });
    stats.push(fileStat);
  }
  const res = await tree.ingest(inputs, { signal });
  // An editor's text may differ from the disk: no record, so the next index compares the file by content.
  inputs.forEach((input, i) => {
    const doc = tree.documents.get(input.id);
    if (doc) doc.fileStat = stats[i];
  });
  let rewalked = false;
  let updated = res.updated + res.added;
  if (unknown) {
    const full = await indexWorkspace(session, params, signal, () => undefined);
    updated += full.added + full.updated;
    removed += full.removed;
    rewalked = true;
    // What the walk left out for a reason worth telling (secrets), and where it redacted.
    skipped.push(...full.skipped.filter((f) => f.reason === 'secret' && !skipped.some((s) => s.path === f.path)));
    for (const p of full.redacted) if (!redacted.includes(p)) redacted.push(p);
  }
  if (updated + removed > 0) session.changed();
  return { updated, removed, rewalked, skipped, redacted };
}
