// Validation of tool inputs against their JSON schema (the subset toolSchemas.ts uses), with messages
// a model can act on. Free of `vscode`.
import type { JsonSchema } from './toolSchemas';

export class ToolInputError extends Error {}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'number' && !Number.isInteger(value) ? 'a non-integer number' : `a ${typeof value}`;
}

function check(value: unknown, schema: JsonSchema, at: string): void {
  switch (schema.type) {
    case 'string':
      if (typeof value !== 'string') throw new ToolInputError(`${at} must be a string, got ${describe(value)}`);
      if (schema.minLength !== undefined && value.trim().length < schema.minLength) throw new ToolInputError(`${at} must not be empty`);
      if (schema.maxLength !== undefined && value.length > schema.maxLength) throw new ToolInputError(`${at} is longer than ${schema.maxLength} characters`);
      return;
    case 'integer':
      if (typeof value !== 'number' || !Number.isInteger(value)) throw new ToolInputError(`${at} must be an integer, got ${describe(value)}`);
      if (schema.minimum !== undefined && value < schema.minimum) throw new ToolInputError(`${at} must be at least ${schema.minimum}, got ${value}`);
      if (schema.maximum !== undefined && value > schema.maximum) throw new ToolInputError(`${at} must be at most ${schema.maximum}, got ${value}`);
      return;
    case 'object': {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ToolInputError(`${at} must be an object, got ${describe(value)}`);
      const obj = value as Record<string, unknown>;
      for (const name of schema.required ?? []) {
        if (!hasOwn(obj, name) || obj[name] === undefined) throw new ToolInputError(`missing required property "${name}"`);
      }
      for (const [name, v] of Object.entries(obj)) {
        // Own properties only: `constructor` or `toString` must not find Object.prototype's.
        const sub = schema.properties && hasOwn(schema.properties, name) ? schema.properties[name] : undefined;
        if (!sub) {
          if (schema.additionalProperties === false) throw new ToolInputError(`unknown property ${quote(name)} (allowed: ${Object.keys(schema.properties ?? {}).join(', ')})`);
          continue;
        }
        if (v !== undefined) check(v, sub, `"${name}"`);
      }
      return;
    }
    default:
      throw new ToolInputError(`${at} has a schema of unsupported type ${JSON.stringify((schema as { type?: unknown }).type)}`);
  }
}

const hasOwn = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);

/** A name from the input, quoted and escaped so an error stays one short line. */
const quote = (s: string): string => JSON.stringify(s.length > 60 ? s.slice(0, 60) + '…' : s);

/** Returns `input` typed as T when it satisfies `schema`; throws ToolInputError saying what is wrong. */
export function validateInput<T>(input: unknown, schema: JsonSchema): T {
  check(input, schema, 'the input');
  return input as T;
}
