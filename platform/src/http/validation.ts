import type { z } from 'zod';
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
