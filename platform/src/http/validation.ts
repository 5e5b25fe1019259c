import { z } from 'zod';
import { ValidationError } from '../errors/errors';

/** One entry of a validation problem's `errors` array. */
export interface FieldError {
  /** Where, starting with the part of the request: `body.lines[0].quantity`, `query.limit`, `params.id`. */
  path: string;
  message: string;
}

export type RequestPart = 'params' | 'query' | 'headers' | 'body';

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

export function formatPath(root: string, segments: readonly PropertyKey[]): string {
  let path = root;
  for (const segment of segments) {
    if (typeof segment === 'number') path += `[${segment}]`;
    else if (typeof segment === 'string' && IDENTIFIER.test(segment)) path += `.${segment}`;
    else path += `[${JSON.stringify(String(segment))}]`;
  }
  return path;
}

export const NUL_MESSAGE = 'the NUL character (U+0000) is not allowed';

/**
 * Where a value holds the NUL character (U+0000), in a string or a key.
 * PostgreSQL can store it in neither text nor jsonb, so a request carrying
 * one would fail at the database with a 500: it is refused up front, in
 * every part of every request, as a client error.
 */
export function nulCharacterPaths(value: unknown, segments: PropertyKey[] = []): PropertyKey[][] {
  if (typeof value === 'string') return value.includes('\u0000') ? [segments] : [];
  if (Array.isArray(value)) return value.flatMap((item, i) => nulCharacterPaths(item, [...segments, i]));
  if (typeof value === 'object' && value !== null) {
    return Object.entries(value).flatMap(([key, item]) =>
      key.includes('\u0000') ? [[...segments, key]] : nulCharacterPaths(item, [...segments, key]),
    );
  }
  return [];
}

/**
 * An integer parameter (query, path or header), documented as the integer
 * schema it is given: only an optional minus and digits are read as a
 * number. `z.coerce.number()` would read `''` and `' '` as 0, `1e3` as
 * 1000 and `0x10` as 16, values the document (an integer) says are invalid;
 * here any other text fails the integer schema (400).
 */
export function integerParameter<S extends z.ZodNumber>(schema: S) {
  return z.preprocess((value) => (typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : value), schema);
}

/**
 * Validates each part of the request that has a schema and reports every
 * failing field at once, across parts, in one 400.
 */
export function validateRequest(
  schemas: Partial<Record<RequestPart, z.ZodType>>,
  input: Record<RequestPart, unknown>,
): Record<RequestPart, unknown> {
  const output: Record<RequestPart, unknown> = { ...input };
  const errors: FieldError[] = [];
  for (const part of ['params', 'query', 'headers', 'body'] as const) {
    const schema = schemas[part];
    if (!schema) continue;
    for (const segments of nulCharacterPaths(input[part])) errors.push({ path: formatPath(part, segments), message: NUL_MESSAGE });
    const result = schema.safeParse(input[part]);
    if (result.success) {
      output[part] = result.data;
    } else {
      for (const issue of result.error.issues) {
        errors.push({ path: formatPath(part, issue.path), message: issue.message });
      }
    }
  }
  if (errors.length > 0) {
    throw new ValidationError(`request validation failed: ${errors.length} error(s)`, { errors });
  }
  return output;
}
