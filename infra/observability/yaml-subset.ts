/**
 * A reader for the part of YAML that Prometheus rule files and Grafana
 * provisioning files use here: block mappings and sequences, plain and
 * quoted scalars, `|` and `>` block scalars, one-line flow sequences of
 * scalars, comments. The repository has no YAML library, and these files are
 * small and written by hand; what this reader does not understand (anchors,
 * tags, flow mappings, multi-line plain or quoted scalars, tabs) is an error
 * with its line, never a guess. Every scalar is a string. The rule count it
 * finds is checked against promtool's, which reads YAML with Prometheus' own
 * parser (infra/test/observability-config.int.spec.ts).
 */
export type YamlValue = string | null | YamlValue[] | { [key: string]: YamlValue };

export class YamlSubsetError extends Error {
  constructor(file: string, line: number, message: string) {
    super(`${file}:${line}: ${message}`);
    this.name = 'YamlSubsetError';
  }
}

interface Line {
  number: number;
  indent: number;
  text: string;
}

export function parseYamlSubset(source: string, file = '<yaml>'): YamlValue {
  const raw = source.replace(/\r\n?/g, '\n').split('\n');
  const fail = (line: number, message: string): never => {
    throw new YamlSubsetError(file, line, message);
  };
  raw.forEach((text, i) => {
    if (/^\s*\t/.test(text)) fail(i + 1, 'a tab in the indentation');
  });

  // Significant lines; block scalars read `raw` themselves and skip past.
  let pos = 0;
  const isBlank = (text: string) => /^\s*(#.*)?$/.test(text);
  const peek = (): Line | undefined => {
    while (pos < raw.length && (isBlank(raw[pos]!) || /^(---|\.\.\.)\s*$/.test(raw[pos]!))) {
      if (/^---/.test(raw[pos]!) && pos > 0 && raw.slice(0, pos).some((t) => !isBlank(t))) fail(pos + 1, 'more than one document');
      pos++;
    }
    if (pos >= raw.length) return undefined;
    const text = raw[pos]!;
    const indent = text.length - text.trimStart().length;
    return { number: pos + 1, indent, text: text.slice(indent) };
  };
  // A sequence item's content (`- key: v`) is re-read as a line of its own at its column.
  let pending: Line | undefined;
  const next = (): Line | undefined => pending ?? peek();
  const consume = () => {
    if (pending) pending = undefined;
    else pos++;
  };

  const isItem = (line: Line) => line.text === '-' || line.text.startsWith('- ');

  function node(indent: number): YamlValue {
    const line = next();
    if (!line || line.indent < indent) return null;
    if (isItem(line)) return sequence(line.indent);
    if (splitKey(line) !== undefined) return mapping(line.indent);
    consume();
    const value = scalar(line.text, line.number);
    const after = next();
    if (after && after.indent >= indent && after.indent > 0) fail(after.number, 'unexpected content after a scalar (multi-line plain scalars are not supported)');
    return value;
  }

  function sequence(indent: number): YamlValue[] {
    const items: YamlValue[] = [];
    for (let line = next(); line && line.indent === indent && isItem(line); line = next()) {
      consume();
      const rest = line.text.slice(1);
      const content = rest.trimStart();
      if (content === '' || content.startsWith('#')) {
        const child = next();
        items.push(child && child.indent > indent ? node(child.indent) : null);
        continue;
      }
      pending = { number: line.number, indent: indent + 1 + (rest.length - content.length), text: content };
      items.push(node(pending.indent));
    }
    const line = next();
    if (line && line.indent > indent) fail(line.number, 'unexpected indentation');
    return items;
  }

  function mapping(indent: number): { [key: string]: YamlValue } {
    const result: { [key: string]: YamlValue } = {};
    for (let line = next(); line && line.indent === indent && !isItem(line); line = next()) {
      const split = splitKey(line);
      if (split === undefined) fail(line.number, `expected "key: value", found ${JSON.stringify(line.text)}`);
      const [key, rest] = split!;
      if (Object.hasOwn(result, key)) fail(line.number, `the key ${JSON.stringify(key)} appears twice`);
      consume();
      const value = rest.replace(/^#.*$/, '');
      if (value === '') {
        const child = next();
        if (child && child.indent > indent) result[key] = node(child.indent);
        else if (child && child.indent === indent && isItem(child)) result[key] = sequence(indent);
        else result[key] = null;
      } else if (/^[|>]/.test(value)) {
        result[key] = blockScalar(value, line.number, indent);
      } else {
        result[key] = scalar(value, line.number);
      }
    }
    const line = next();
    if (line && line.indent > indent) fail(line.number, 'unexpected indentation');
    return result;
  }

  /** `key: rest` (rest trimmed), or undefined when the line is not a mapping entry. */
  function splitKey(line: Line): [string, string] | undefined {
    const { text } = line;
    if (text.startsWith('"') || text.startsWith("'")) {
      const [key, end] = quoted(text, line.number);
      const after = text.slice(end);
      if (!/^\s*:(\s|$)/.test(after)) return undefined;
      return [key, after.replace(/^\s*:/, '').trim()];
    }
    const match = /^([^\s#&*!?|>'"%@`{}[\],-][^#]*?|-[^\s#][^#]*?)\s*:(\s|$)/.exec(text);
    if (!match) return undefined;
    return [match[1]!, text.slice(match[0].length).trim()];
  }

  function blockScalar(header: string, lineNumber: number, parentIndent: number): string {
    const match = /^([|>])([+-]?)\s*(#.*)?$/.exec(header);
    if (!match) return fail(lineNumber, `unsupported block scalar header ${JSON.stringify(header)}`);
    const [, style, chomp] = match;
    const lines: string[] = [];
    let contentIndent: number | undefined;
    while (pos < raw.length) {
      const text = raw[pos]!;
      if (text.trim() === '') {
        lines.push('');
        pos++;
        continue;
      }
      const indent = text.length - text.trimStart().length;
      if (indent <= parentIndent) break;
      contentIndent ??= indent;
      if (indent < contentIndent) fail(pos + 1, 'a block scalar line indented less than its first line');
      lines.push(text.slice(contentIndent));
      pos++;
    }
    let trailing = 0;
    while (lines.length > 0 && lines[lines.length - 1] === '') {
      lines.pop();
      trailing++;
    }
    // Folding: a line break between two text lines becomes a space; an empty line stays a line break.
    const body = style === '|' ? lines.join('\n') : lines.reduce((acc, l, i) => (i === 0 ? l : l === '' ? `${acc}\n` : lines[i - 1] === '' ? `${acc}${l}` : `${acc} ${l}`), '');
    if (lines.length === 0) return '';
    if (chomp === '-') return body;
    if (chomp === '+') return `${body}\n${'\n'.repeat(trailing)}`;
    return `${body}\n`;
  }

  function scalar(text: string, lineNumber: number): YamlValue {
    if (text.startsWith('"') || text.startsWith("'")) {
      const [value, end] = quoted(text, lineNumber);
      if (!/^\s*(#.*)?$/.test(text.slice(end))) fail(lineNumber, 'unexpected text after a quoted scalar');
      return value;
    }
    if (text.startsWith('[')) return flowSequence(text, lineNumber);
    if (/^[&*!{%@`]/.test(text)) fail(lineNumber, `unsupported YAML (${JSON.stringify(text[0])}: anchors, aliases, tags and flow mappings are not read here)`);
    const value = text.replace(/\s+#.*$/, '').trim();
    if (/:\s/.test(value) || value.endsWith(':')) fail(lineNumber, `a plain scalar with ": " in it (quote it): ${JSON.stringify(value)}`);
    return value === '~' || value === 'null' ? null : value;
  }

  function flowSequence(text: string, lineNumber: number): YamlValue[] {
    const items: YamlValue[] = [];
    let rest = text.slice(1).trimStart();
    if (rest.startsWith(']')) return items;
    for (;;) {
      let item: string;
      if (rest.startsWith('"') || rest.startsWith("'")) {
        const [value, end] = quoted(rest, lineNumber);
        item = value;
        rest = rest.slice(end).trimStart();
      } else {
        const match = /^([^,\][{}#'"]*)/.exec(rest)!;
        item = match[1]!.trim();
        if (item === '') fail(lineNumber, 'an empty item in a flow sequence');
        rest = rest.slice(match[1]!.length);
      }
      items.push(item);
      if (rest.startsWith(',')) {
        rest = rest.slice(1).trimStart();
        continue;
      }
      if (!rest.startsWith(']')) fail(lineNumber, 'a flow sequence must be on one line, of scalars only');
      if (!/^\]\s*(#.*)?$/.test(rest)) fail(lineNumber, 'unexpected text after a flow sequence');
      return items;
    }
  }

  /** A quoted scalar at the start of `text`: its value and the index after its closing quote. */
  function quoted(text: string, lineNumber: number): [string, number] {
    const quote = text[0]!;
    let value = '';
    for (let i = 1; i < text.length; i++) {
      const c = text[i]!;
      if (quote === "'") {
        if (c !== "'") value += c;
        else if (text[i + 1] === "'") {
          value += "'";
          i++;
        } else return [value, i + 1];
      } else if (c === '"') return [value, i + 1];
      else if (c === '\\') {
        const e = text[++i];
        const simple: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', n: '\n', t: '\t', r: '\r', '0': '\0', ' ': ' ' };
        if (e !== undefined && e in simple) value += simple[e];
        else if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(text.slice(i + 1, i + 5))) {
          value += String.fromCharCode(parseInt(text.slice(i + 1, i + 5), 16));
          i += 4;
        } else fail(lineNumber, `unsupported escape \\${e ?? ''} in a double-quoted scalar`);
      } else value += c;
    }
    return fail(lineNumber, 'a quoted scalar must end on its line');
  }

  const first = next();
  if (!first) return null;
  if (first.indent !== 0) fail(first.number, 'the document must start at column 1');
  const value = node(0);
  const rest = next();
  if (rest) fail(rest.number, 'unexpected content');
  return value;
}
