// The `megacontext mcp` command's options: workspace folders, store, default budget and scorer, and the
// indexing scope (the extension passes its settings here, so both index the same files).
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { intOption, pathOption, stringOption, UsageError, type ParsedArgs } from '../cli/args';
import { TOOL_SCHEMAS, RECALL_TOOL } from '../tools/toolSchemas';
import type { ServeMcpOptions } from './server';

export { serveMcp } from './server';

/** The default budget of recall: the extension's `megacontext.budget` default. */
const DEFAULT_BUDGET = 8192;

function globList(args: ParsedArgs, name: string): string[] | undefined {
  const raw = stringOption(args, name);
  if (raw === undefined) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    // reported below
  }
  if (!Array.isArray(v) || v.some((g) => typeof g !== 'string')) throw new UsageError(`--${name} takes a JSON array of globs, e.g. ["src/**"]`);
  return v as string[];
}

export function mcpOptions(args: ParsedArgs, defaultStore: (paths: string[]) => string): Omit<ServeMcpOptions, 'runtime' | 'log'> {
  if (args.paths.length === 0) throw new UsageError('mcp needs at least one workspace folder');
  const roots = args.paths.map((p) => resolve(p));
  for (const r of roots) if (!existsSync(r) || !statSync(r).isDirectory()) throw new UsageError(`mcp serves folders: ${r} is not a folder`);
  const store = resolve(pathOption(args, 'store') ?? defaultStore(roots));
  if (existsSync(store) && !statSync(store).isDirectory()) throw new UsageError(`--store is not a folder: ${store}`);
  const { minimum, maximum } = TOOL_SCHEMAS[RECALL_TOOL].properties.budget;
  const scorer = stringOption(args, 'scorer') ?? 'lexical';
  if (scorer !== 'lens' && scorer !== 'lens2' && scorer !== 'lexical') throw new UsageError('--scorer must be lens, lens2 or lexical');
  const include = globList(args, 'include');
  return {
    storeDir: store,
    budget: intOption(args, 'budget', DEFAULT_BUDGET, minimum, maximum),
    scorer,
    scope: {
      roots,
      ...(include?.length ? { include } : {}),
      exclude: globList(args, 'exclude') ?? [],
      maxFileBytes: intOption(args, 'max-file-bytes', 1_000_000, 1),
    },
  };
}
