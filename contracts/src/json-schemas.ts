import { z } from 'zod';
import type { MessageDefinition } from './message';

/** The JSON Schema (draft 2020-12) of each message's data, keyed `<type>@v<version>`. */
export function contractJsonSchemas(definitions: readonly MessageDefinition[]): Record<string, unknown> {
  return Object.fromEntries(
    definitions.map((d) => [
      `${d.type}@v${d.version}`,
      { $id: `urn:shop:${d.type}:${d.version}`, title: d.type, description: d.description, ...z.toJSONSchema(d.schema) },
    ]),
  );
}
