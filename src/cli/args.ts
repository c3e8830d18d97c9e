/** A small argv parser: positional paths plus `--flag value` / `--switch` options. */
export class UsageError extends Error {}

export interface ParsedArgs {
  command: string;
  paths: string[];
  options: Map<string, string | true>;
}

export function parseArgs(argv: string[], valued: Set<string>, switches: Set<string>): ParsedArgs {
  const [command = '', ...rest] = argv;
  const paths: string[] = [];
  const options = new Map<string, string | true>();
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    if (!a.startsWith('--')) {
      paths.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const name = eq > 0 ? a.slice(2, eq) : a.slice(2);
    if (valued.has(name)) {
      const value = eq > 0 ? a.slice(eq + 1) : rest[++i];
      if (value === undefined) throw new UsageError(`--${name} needs a value`);
      options.set(name, value);
    } else if (switches.has(name)) {
      options.set(name, true);
    } else throw new UsageError(`unknown option --${name}`);
  }
  return { command, paths, options };
}

export function intOption(args: ParsedArgs, name: string, fallback: number, min: number): number {
  const v = args.options.get(name);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be an integer ≥ ${min}, got ${String(v)}`);
  return n;
}

export function stringOption(args: ParsedArgs, name: string): string | undefined {
  const v = args.options.get(name);
  return typeof v === 'string' ? v : undefined;
}
