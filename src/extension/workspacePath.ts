// Confines a path given by a model or a user to the workspace folders: relative paths resolve against
// a folder (or `<folder name>/…` in a multi-root workspace) and may not climb out with `..`; absolute
// paths must already lie inside a folder. Free of `vscode`.
import * as path from 'node:path';

export interface WorkspaceRoot {
  name: string;
  fsPath: string;
}

export class PathOutsideWorkspaceError extends Error {}

function within(root: string, target: string, p: typeof path.posix | typeof path.win32): boolean {
  const rel = p.relative(root, target);
  return rel === '' || (!rel.startsWith('..') && !p.isAbsolute(rel));
}

/** The absolute path `input` names inside one of `roots`; throws PathOutsideWorkspaceError otherwise. */
export function resolveInWorkspace(input: string, roots: WorkspaceRoot[], p: typeof path.posix | typeof path.win32 = path): string {
  if (input.includes('\0')) throw new PathOutsideWorkspaceError('the path contains a NUL character');
  if (roots.length === 0) throw new PathOutsideWorkspaceError('no workspace folder is open');
  const cleaned = input.trim().replace(/^\.\//, '');
  if (cleaned === '') throw new PathOutsideWorkspaceError('the path is empty');
  if (p.isAbsolute(cleaned)) {
    const target = p.resolve(cleaned);
    if (roots.some((r) => within(r.fsPath, target, p))) return target;
    throw new PathOutsideWorkspaceError(`${input} is outside the workspace folders`);
  }
  if (cleaned.split(/[\\/]/).includes('..')) throw new PathOutsideWorkspaceError(`${input} climbs out with "..": give a path inside the workspace`);
  const [first, ...rest] = cleaned.split(/[\\/]/);
  const named = roots.length > 1 ? roots.find((r) => r.name === first) : undefined;
  const target = named ? p.resolve(named.fsPath, ...rest) : p.resolve(roots[0].fsPath, cleaned);
  const root = named ?? roots[0];
  if (!within(root.fsPath, target, p)) throw new PathOutsideWorkspaceError(`${input} is outside the workspace folders`);
  return target;
}
