/** A small argv parser: positional paths plus `--flag value` / `--switch` options. */
export class UsageError extends Error {}

export interface ParsedArgs {
  command: string;
  paths: string[];
  options: Map<string, string | true>;
}

/** `--help` and `-h` in place of a command are the `help` command; `-h` after one is `--help`. */
const HELP_FLAGS = new Set(['--help', '-h']);

export function parseArgs(argv: string[], valued: Set<string>, switches: Set<string>): ParsedArgs {
  const [first = '', ...rest] = argv;
  const command = HELP_FLAGS.has(first) ? 'help' : first;
  const paths: string[] = [];
  const options = new Map<string, string | true>();
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    if (a === '-h' && switches.has('help')) {
      options.set('help', true);
      continue;
    }
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

/**
 * An integer option written in decimal digits only (`0x10`, `1e3`, `16.0` and `` are refused, where
 * Number() would read them), between `min` and `max`.
 */
export function intOption(args: ParsedArgs, name: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const v = args.options.get(name);
  if (v === undefined) return fallback;
  const text = typeof v === 'string' ? v.trim() : '';
  const n = /^[+-]?[0-9]+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    const range = max < Number.MAX_SAFE_INTEGER ? `from ${min} to ${max}` : `≥ ${min}`;
    throw new UsageError(`--${name} must be an integer ${range} in decimal digits, got ${JSON.stringify(v === true ? '' : v)}`);
  }
  return n;
}

export function stringOption(args: ParsedArgs, name: string): string | undefined {
  const v = args.options.get(name);
  return typeof v === 'string' ? v : undefined;
}

/** A path option: absent is undefined, an empty (or blank) value is a usage error, not the current folder. */
export function pathOption(args: ParsedArgs, name: string): string | undefined {
  const v = stringOption(args, name);
  if (v !== undefined && v.trim() === '') throw new UsageError(`--${name} needs a path, got an empty string`);
  return v;
}
