/**
 * Typed config fields that accept what files, environment variables and flags give:
 * strings (`"9092"`, `"false"`, `"a,b"`) as well as JSON values.
 */
import { z } from 'zod';

const fromString = (value: unknown): unknown => (typeof value === 'string' ? value.trim() : value);

export function int(
  defaultValue: number,
  min = Number.MIN_SAFE_INTEGER,
  max = Number.MAX_SAFE_INTEGER,
) {
  return z
    .preprocess(
      (v) => (typeof v === 'string' && v.trim() !== '' ? Number(v) : v),
      z.number().int().min(min).max(max),
    )
    .default(defaultValue);
}

export function bool(defaultValue: boolean) {
  return z
    .preprocess((v) => {
      const s = fromString(v);
      if (s === 'true') return true;
      if (s === 'false') return false;
      return s;
    }, z.boolean())
    .default(defaultValue);
}

export function str(defaultValue: string) {
  return z.preprocess(fromString, z.string()).default(defaultValue);
}

export function optionalStr() {
  return z.preprocess(
    (v) => (fromString(v) === '' ? undefined : fromString(v)),
    z.string().optional(),
  );
}

/** A comma-separated list (or a JSON array). */
export function list(defaultValue: string[]) {
  return z
    .preprocess(
      (v) =>
        typeof v === 'string'
          ? v
              .split(',')
              .map((s) => s.trim())
              .filter((s) => s !== '')
          : v,
      z.array(z.string()),
    )
    .default(defaultValue);
}

export function oneOf<const T extends readonly [string, ...string[]]>(
  values: T,
  defaultValue: T[number],
) {
  return z.preprocess(fromString, z.enum(values)).default(defaultValue as never);
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Validates the keys `schema` knows in `raw`; other keys belong to other components. */
export function parseConfig<S extends z.ZodObject>(
  schema: S,
  raw: Record<string, unknown>,
): z.infer<S> {
  const result = schema.safeParse(raw);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  }
  return result.data;
}
