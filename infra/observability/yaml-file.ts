import { parse } from 'yaml';

export type YamlValue = string | number | boolean | null | YamlValue[] | { [key: string]: YamlValue };

export class YamlFileError extends Error {
  constructor(file: string, cause: unknown) {
    super(`${file}: ${(cause as Error)?.message ?? String(cause)}`, { cause });
    this.name = 'YamlFileError';
  }
}

/** A YAML file's content (the `yaml` package, strict: duplicate keys and other mistakes are errors naming the file). */
export function parseYamlFile(source: string, file = '<yaml>'): YamlValue {
  try {
    return parse(source, { strict: true, uniqueKeys: true, prettyErrors: true }) as YamlValue;
  } catch (err) {
    throw new YamlFileError(file, err);
  }
}
