/**
 * Whether a message version's JSON Schema may replace the one it was
 * published with. Within a version, producers and consumers of either schema
 * meet on the bus and in the archive: a consumer on the published schema must
 * read whatever the current one allows, and a consumer on the current schema
 * must read what is in flight and archived under the published one. So the
 * only change allowed is a new optional property (the contracts' zod objects
 * drop fields they do not know when they parse, whatever the JSON Schema's
 * `additionalProperties: false` says), besides annotations. Anything else,
 * widening or narrowing, needs a new version with an upcaster.
 */

export interface Incompatibility {
  /** Where in the data: `lines[].sku`, `total.amount`; '' is the data itself. */
  path: string;
  /** What changed, as a sentence naming the path. */
  message: string;
}

type Schema = Record<string, unknown>;

/** Keywords that describe a value without constraining it. */
const ANNOTATIONS = new Set(['$id', '$schema', '$comment', 'title', 'description', 'examples']);
/** Keywords compared structurally below; every other keyword must be equal. */
const STRUCTURAL = new Set(['type', 'properties', 'required', 'items', 'prefixItems', 'additionalProperties', 'anyOf', 'oneOf', 'allOf', '$ref', '$defs', 'definitions']);
const COMPOSITIONS = ['anyOf', 'oneOf', 'allOf'] as const;

export function compareSchemas(published: unknown, current: unknown): Incompatibility[] {
  const found: Incompatibility[] = [];
  const context: Context = { oldRoot: published, newRoot: current, seen: new Set(), found };
  compareNode(published, current, '', context);
  return found;
}

interface Context {
  oldRoot: unknown;
  newRoot: unknown;
  /** `$ref` pairs already being compared: a recursive schema compares each pair once. */
  seen: Set<string>;
  found: Incompatibility[];
}

const shown = (path: string) => (path === '' ? 'the message data' : `\`${path}\``);
const child = (path: string, name: string) => (path === '' ? name : `${path}.${name}`);

function compareNode(oldNode: unknown, newNode: unknown, path: string, ctx: Context): void {
  const oldRef = refOf(oldNode);
  const newRef = refOf(newNode);
  if (oldRef !== undefined && newRef !== undefined) {
    // Compared once: what a pair of definitions finds is the same wherever they are used.
    if (ctx.seen.has(`${oldRef} ${newRef}`)) return;
    ctx.seen.add(`${oldRef} ${newRef}`);
  }
  const before = resolve(oldNode, ctx.oldRoot);
  const after = resolve(newNode, ctx.newRoot);
  const report = (message: string) => ctx.found.push({ path, message });

  if (typeof before === 'boolean' || typeof after === 'boolean') {
    if (JSON.stringify(before) !== JSON.stringify(after)) report(`${shown(path)} was ${describe(before)}, now ${describe(after)}`);
    return;
  }

  for (const keyword of COMPOSITIONS) {
    const was = before[keyword] as unknown[] | undefined;
    const now = after[keyword] as unknown[] | undefined;
    if (!was && !now) continue;
    if (!was || !now) {
      report(`${shown(path)} was ${describe(before)}, now ${describe(after)}`);
      return;
    }
    if (was.length !== now.length) report(`${shown(path)} had ${was.length} ${keyword} alternatives, now ${now.length}`);
    // Zod emits alternatives in declaration order, so position is identity.
    for (let i = 0; i < Math.min(was.length, now.length); i++) compareNode(was[i], now[i], `${path}.${keyword}[${i}]`, ctx);
  }

  const typesBefore = typesOf(before);
  const typesAfter = typesOf(after);
  if (typesBefore.join('|') !== typesAfter.join('|')) {
    // A different type: the keywords under it no longer mean the same thing.
    report(`${shown(path)} was ${describe(before)}, now ${describe(after)}`);
    return;
  }

  compareProperties(before, after, path, ctx);

  if (before.items !== undefined && after.items !== undefined) compareNode(before.items, after.items, `${path}[]`, ctx);
  else if (before.items !== undefined || after.items !== undefined) report(keywordChange(path, 'items', before.items, after.items));

  const prefixBefore = (before.prefixItems as unknown[] | undefined) ?? [];
  const prefixAfter = (after.prefixItems as unknown[] | undefined) ?? [];
  if (prefixBefore.length !== prefixAfter.length) report(`${shown(path)} had ${prefixBefore.length} fixed items, now ${prefixAfter.length}`);
  for (let i = 0; i < Math.min(prefixBefore.length, prefixAfter.length); i++) compareNode(prefixBefore[i], prefixAfter[i], `${path}[${i}]`, ctx);

  const extraBefore = before.additionalProperties;
  const extraAfter = after.additionalProperties;
  if (isSchemaObject(extraBefore) && isSchemaObject(extraAfter)) compareNode(extraBefore, extraAfter, child(path, '*'), ctx);
  else if (!equal(extraBefore, extraAfter)) report(keywordChange(path, 'additionalProperties', extraBefore, extraAfter));

  const keywords = new Set([...Object.keys(before), ...Object.keys(after)].filter((k) => !ANNOTATIONS.has(k) && !STRUCTURAL.has(k)));
  for (const keyword of [...keywords].sort()) {
    if (!equal(before[keyword], after[keyword])) report(keywordChange(path, keyword, before[keyword], after[keyword]));
  }
}

function compareProperties(before: Schema, after: Schema, path: string, ctx: Context): void {
  const propsBefore = (before.properties as Record<string, unknown> | undefined) ?? {};
  const propsAfter = (after.properties as Record<string, unknown> | undefined) ?? {};
  const requiredBefore = new Set((before.required as string[] | undefined) ?? []);
  const requiredAfter = new Set((after.required as string[] | undefined) ?? []);
  const names = new Set([...Object.keys(propsBefore), ...Object.keys(propsAfter), ...requiredBefore, ...requiredAfter]);
  const report = (name: string, message: string) => ctx.found.push({ path: child(path, name), message });
  for (const name of names) {
    const field = shown(child(path, name));
    const inBefore = name in propsBefore || requiredBefore.has(name);
    const inAfter = name in propsAfter || requiredAfter.has(name);
    if (inBefore && !inAfter) {
      report(name, `field ${field} removed`);
      continue;
    }
    if (!inBefore) {
      // The one change a published version allows: a field nobody had to send.
      if (requiredAfter.has(name)) report(name, `${field} is a new required field`);
      continue;
    }
    if (!requiredBefore.has(name) && requiredAfter.has(name)) report(name, `${field} is now required`);
    if (requiredBefore.has(name) && !requiredAfter.has(name)) report(name, `${field} is no longer required`);
    compareNode(propsBefore[name] ?? {}, propsAfter[name] ?? {}, child(path, name), ctx);
  }
}

function keywordChange(path: string, keyword: string, was: unknown, now: unknown): string {
  if (keyword === 'enum' && Array.isArray(was) && Array.isArray(now)) {
    const added = now.filter((v) => !was.some((w) => equal(v, w)));
    const removed = was.filter((w) => !now.some((v) => equal(v, w)));
    const parts = [
      ...(removed.length > 0 ? [`no longer allows ${removed.map((v) => JSON.stringify(v)).join(', ')}`] : []),
      ...(added.length > 0 ? [`now also allows ${added.map((v) => JSON.stringify(v)).join(', ')}`] : []),
    ];
    if (parts.length > 0) return `${shown(path)} enum ${parts.join(' and ')}`;
  }
  if (was === undefined) return `${shown(path)} now has ${keyword} ${value(now)}`;
  if (now === undefined) return `${shown(path)} no longer has ${keyword} ${value(was)}`;
  return `${shown(path)} ${keyword} was ${value(was)}, now ${value(now)}`;
}

/** A short description of what a schema accepts, for "was X, now Y". */
function describe(schema: unknown): string {
  if (schema === true) return 'any value';
  if (schema === false) return 'no value';
  const s = schema as Schema;
  for (const keyword of COMPOSITIONS) {
    const alternatives = s[keyword] as unknown[] | undefined;
    if (alternatives) return alternatives.map(describe).join(keyword === 'allOf' ? ' & ' : ' | ');
  }
  if (s.const !== undefined) return value(s.const);
  const types = typesOf(s);
  return types.length > 0 ? types.join(' | ') : 'any type';
}

function typesOf(schema: Schema): string[] {
  const type = schema.type;
  if (type === undefined) return [];
  return (Array.isArray(type) ? (type as string[]) : [type as string]).slice().sort();
}

const value = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));

const isSchemaObject = (v: unknown): v is Schema => v !== null && typeof v === 'object' && !Array.isArray(v);

const refOf = (node: unknown) => (isSchemaObject(node) && typeof node.$ref === 'string' ? node.$ref : undefined);

/**
 * The schema a `$ref` points at (local JSON pointers: `#`, `#/$defs/Line`),
 * with the keywords beside the `$ref`; other nodes as they are.
 */
function resolve(node: unknown, root: unknown, depth = 0): Schema | boolean {
  if (typeof node === 'boolean') return node;
  if (!isSchemaObject(node)) return {};
  const ref = refOf(node);
  if (ref === undefined) return node;
  if (!ref.startsWith('#')) throw new Error(`only local $ref are supported, got ${ref}`);
  if (depth > 32) throw new Error(`$ref ${ref} does not resolve to a schema`);
  let target: unknown = root;
  for (const token of ref.slice(1).split('/').filter(Boolean)) {
    const key = decodeURIComponent(token).replace(/~1/g, '/').replace(/~0/g, '~');
    target = isSchemaObject(target) ? target[key] : undefined;
  }
  if (target === undefined) throw new Error(`$ref ${ref} points at nothing`);
  const { $ref: _ref, ...siblings } = node;
  const resolved = resolve(target, root, depth + 1);
  return typeof resolved === 'boolean' ? resolved : { ...resolved, ...siblings };
}

/** Deep equality of JSON values, key order aside. */
function equal(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((v, i) => equal(v, b[i]));
  }
  if (isSchemaObject(a) && isSchemaObject(b)) {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((k) => k in b && equal(a[k], b[k]));
  }
  return false;
}
