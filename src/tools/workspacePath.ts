// Confines a path given by a model or a user to the workspace folders: relative paths resolve against
// a folder (or `<folder name>/…` in a multi-root workspace) and may not climb out with `..`; absolute
// paths must already lie inside a folder; `~`, URLs, URL-encoded separators and, on POSIX, Windows
// drive paths are refused; and on the machine's own file system a path may not leave the folders
// through a symbolic link. Every refusal is one line saying what to give instead. Free of `vscode`.
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface WorkspaceRoot {
  name: string;
  fsPath: string;
}

export class PathOutsideWorkspaceError extends Error {}

type PathApi = typeof path.posix | typeof path.win32;

function within(root: string, target: string, p: PathApi): boolean {
  const rel = p.relative(root, target);
  return rel === '' || (rel !== '..' && !rel.startsWith('..' + p.sep) && !p.isAbsolute(rel));
}

/** Where `target` really is once every symbolic link on its way is followed (missing tails kept as written). */
function realTarget(target: string, p: PathApi): string {
  const rest: string[] = [];
  for (let probe = target; ; ) {
    try {
      return p.join(fs.realpathSync.native(probe), ...rest);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw new PathOutsideWorkspaceError(`${JSON.stringify(target)} cannot be checked (${code ?? 'error'})`);
      let dangling = false;
      try { dangling = fs.lstatSync(probe).isSymbolicLink(); } catch { /* really missing */ }
      if (dangling) throw new PathOutsideWorkspaceError(`${JSON.stringify(target)} goes through a broken symbolic link`);
      const parent = p.dirname(probe);
      if (parent === probe) return target;
      rest.unshift(p.basename(probe));
      probe = parent;
    }
  }
}

function realRoot(root: string): string | undefined {
  try {
    return fs.realpathSync.native(root);
  } catch {
    return undefined; // a folder that is not on this disk: nothing to follow
  }
}

/** The absolute path `input` names inside one of `roots`; throws PathOutsideWorkspaceError otherwise. */
export function resolveInWorkspace(input: string, roots: WorkspaceRoot[], p: PathApi = path): string {
  if (input.includes('\0')) throw new PathOutsideWorkspaceError('the path contains a NUL character');
  if (roots.length === 0) throw new PathOutsideWorkspaceError('no workspace folder is open');
  const cleaned = input.trim().replace(/^\.[\\/]/, '');
  // Quoted and escaped in messages, so a refusal stays one short line whatever the input holds.
  const shown = JSON.stringify(input.length > 120 ? input.slice(0, 120) + '…' : input);
  if (cleaned === '') throw new PathOutsideWorkspaceError('the path is empty');
  if (/^~(?:$|[\\/]|[A-Za-z0-9._-]+[\\/])/.test(cleaned)) throw new PathOutsideWorkspaceError(`${shown} is a home-directory path: give a path inside the workspace`);
  if (/^[A-Za-z][A-Za-z0-9+.-]+:\/\//.test(cleaned)) throw new PathOutsideWorkspaceError(`${shown} is a URL: give a workspace-relative path`);
  if (/%(?:2e|2f|5c|00)/i.test(cleaned)) throw new PathOutsideWorkspaceError(`${shown} is URL-encoded: give the path as plain text`);
  if (p.sep === '/' && /^(?:[A-Za-z]:[\\/]|\\\\)/.test(cleaned)) throw new PathOutsideWorkspaceError(`${shown} is a Windows path outside the workspace folders`);
  if (p.sep === '\\' && /^[A-Za-z]:(?![\\/])/.test(cleaned)) throw new PathOutsideWorkspaceError(`${shown} is relative to a drive, not to the workspace: give a workspace-relative path`);

  let target: string;
  if (p.isAbsolute(cleaned)) {
    target = p.resolve(cleaned);
    if (!roots.some((r) => within(r.fsPath, target, p))) throw new PathOutsideWorkspaceError(`${shown} is outside the workspace folders`);
  } else {
    if (cleaned.split(/[\\/]/).includes('..')) throw new PathOutsideWorkspaceError(`${shown} climbs out with "..": give a path inside the workspace`);
    const [first, ...rest] = cleaned.split(/[\\/]/);
    const named = roots.length > 1 ? roots.find((r) => r.name === first) : undefined;
    target = named ? p.resolve(named.fsPath, ...rest) : p.resolve(roots[0].fsPath, cleaned);
    if (!within((named ?? roots[0]).fsPath, target, p)) throw new PathOutsideWorkspaceError(`${shown} is outside the workspace folders`);
  }

  // On this machine's own file system, follow symbolic links: the real file must be inside a real folder.
  if (p.resolve === path.resolve) {
    const real = roots.map((r) => realRoot(r.fsPath)).filter((r): r is string => r !== undefined);
    if (real.length > 0) {
      const where = realTarget(target, p);
      if (!real.some((r) => within(r, where, p))) throw new PathOutsideWorkspaceError(`${shown} leads outside the workspace folders through a symbolic link`);
    }
  }
  return target;
}

/** What an expand may read: a memory document id (`chat:…`, `notes:…`) as given, or a path confined to `roots`. */
export function resolveExpandTarget(input: string, roots: WorkspaceRoot[]): string {
  if (/^(chat|notes):[\w.-]+$/.test(input)) return input;
  return resolveInWorkspace(input, roots);
}
