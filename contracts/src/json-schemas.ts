import { z } from 'zod';
import type { MessageDefinition } from './message';

/** The JSON Schema (draft 2020-12) of each message's data, keyed `<type>@v<version>`. */
export function contractJsonSchemas(definitions: readonly MessageDefinition[]): Record<string, unknown> {
  return Object.fromEntries(definitions.map((d) => [`${d.type}@v${d.version}`, versionJsonSchema(d, d.version, d.schema)]));
}

/**
 * The JSON Schema of every version of every message a producer may have
 * published and a consumer must still read: the current version and each
 * `previous` one, keyed `<type>@v<version>`. These are what
 * `contracts/schemas/` keeps a snapshot of and `npm run contracts:check`
 * compares against.
 */
export function publishedJsonSchemas(definitions: readonly MessageDefinition[]): Record<string, Record<string, unknown>> {
  return Object.fromEntries(
    definitions.flatMap((d) => [
      [`${d.type}@v${d.version}`, versionJsonSchema(d, d.version, d.schema)],
      ...(d.previous ?? []).map((p) => [`${d.type}@v${p.version}`, versionJsonSchema(d, p.version, p.schema)] as const),
    ]),
  );
}

function versionJsonSchema(d: MessageDefinition, version: number, schema: z.ZodType): Record<string, unknown> {
  return { $id: `urn:shop:${d.type}:${version}`, title: d.type, description: d.description, ...z.toJSONSchema(schema) };
}
