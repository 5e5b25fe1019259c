import fs from 'node:fs/promises';
import path from 'node:path';
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import { parseAllDocuments } from 'yaml';
import type { CheckResult } from './check-result';
import { runTool } from '../tools/tool-process';

/**
 * Strict schema validation of rendered manifests: `kubernetes-validate
 * --strict` (the Kubernetes OpenAPI schemas, unknown fields rejected) for
 * the built-in kinds, and the vendored CRDs' `openAPIV3Schema` for the
 * custom ones it has no schema for (Traefik's Middleware). A kind that
 * neither knows fails: kubernetes-validate only warns about it, which would
 * let any typo in a custom resource through.
 */

/** The Kubernetes version K3s ships now (v1.36), among those kubernetes-validate 1.37.0 has schemas for. */
export const KUBERNETES_VERSION = '1.36.0';

type Schema = Record<string, unknown>;

interface Manifest {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string };
}

/** `<group>/<version> <Kind>` → a validator of the CRD's schema, for every CRD file in `crdDir`. */
export async function crdValidators(crdDir: string): Promise<Map<string, ValidateFunction>> {
  const validators = new Map<string, ValidateFunction>();
  const files = (await fs.readdir(crdDir).catch(() => [])).filter((f) => /\.ya?ml$/.test(f));
  // format: false: the CRDs use OpenAPI formats (int32, int-or-string) that are not JSON Schema's.
  const ajv = new Ajv({ allErrors: true, format: false });
  for (const file of files) {
    for (const doc of parseAllDocuments(await fs.readFile(path.join(crdDir, file), 'utf8'))) {
      const crd = doc.toJS() as { kind?: string; spec?: { group: string; names: { kind: string }; versions: { name: string; schema?: { openAPIV3Schema?: Schema } }[] } } | null;
      if (crd?.kind !== 'CustomResourceDefinition' || !crd.spec) continue;
      for (const version of crd.spec.versions) {
        const schema = version.schema?.openAPIV3Schema;
        if (schema) validators.set(`${crd.spec.group}/${version.name} ${crd.spec.names.kind}`, ajv.compile(strictSchema(schema)));
      }
    }
  }
  return validators;
}

/**
 * The API server's strict field validation in JSON Schema: an object schema
 * that lists its properties admits no others, unless it says it keeps
 * unknown fields (`x-kubernetes-preserve-unknown-fields`).
 */
export function strictSchema(schema: Schema): Schema {
  const out: Schema = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'properties' && value && typeof value === 'object') {
      out[key] = Object.fromEntries(Object.entries(value as Record<string, Schema>).map(([name, sub]) => [name, strictSchema(sub)]));
    } else if ((key === 'items' || key === 'additionalProperties') && value && typeof value === 'object') {
      out[key] = strictSchema(value as Schema);
    } else if ((key === 'allOf' || key === 'anyOf' || key === 'oneOf') && Array.isArray(value)) {
      out[key] = value.map((sub: Schema) => strictSchema(sub));
    } else {
      out[key] = value;
    }
  }
  if (out.properties && out.additionalProperties === undefined && out['x-kubernetes-preserve-unknown-fields'] !== true) out.additionalProperties = false;
  return out;
}

function describeError(error: ErrorObject): string {
  const where = error.dataPath.replace(/^\./, '') || '(root)';
  const params = error.params as { additionalProperty?: string; allowedValues?: unknown[] };
  if (params.additionalProperty) return `${where}: unknown field ${JSON.stringify(params.additionalProperty)}`;
  if (params.allowedValues) return `${where}: ${error.message} (${params.allowedValues.map((v) => JSON.stringify(v)).join(', ')})`;
  return `${where}: ${error.message}`;
}

const NO_SCHEMA = /Couldn't find schema for kind (\S+) with api version (\S+)/;

/** kubernetes-validate --strict plus the CRD schemas over one rendered overlay. */
export async function kubernetesSchemaCheck(options: { kubernetesValidate: string; manifestsFile: string; crdDir: string; label: string }): Promise<CheckResult> {
  const name = `${options.label}: schema (kubernetes-validate --strict -k ${KUBERNETES_VERSION}, CRDs)`;
  const problems: string[] = [];
  const validators = await crdValidators(options.crdDir);

  const output = await runTool(options.kubernetesValidate, ['--strict', '--quiet', '-k', KUBERNETES_VERSION, options.manifestsFile]);
  for (const line of `${output.stdout}\n${output.stderr}`.split('\n')) {
    const text = line.trim().split(options.manifestsFile).join('').replace(/\s+/g, ' ');
    if (text === '') continue;
    const missing = NO_SCHEMA.exec(text);
    if (missing) {
      const [, kind, apiVersion] = missing;
      if (!validators.has(`${apiVersion} ${kind}`)) problems.push(`${kind} (${apiVersion}): no schema, neither built in nor a CRD in ${path.basename(options.crdDir)}/`);
      continue;
    }
    if (text.startsWith('ERROR') || text.startsWith('CRITICAL')) problems.push(text.replace(/^(ERROR|CRITICAL) /, '').replace(/^did not validate for resource /, '').replace(/ against version [\d.]+:/, ':'));
    else if (!text.startsWith('WARN') && !text.startsWith('INFO') && output.code !== 0) problems.push(text);
  }
  if (output.code !== 0 && problems.length === 0) problems.push(`kubernetes-validate exited ${output.code}`);

  const yaml = await fs.readFile(options.manifestsFile, 'utf8');
  for (const doc of parseAllDocuments(yaml)) {
    const manifest = doc.toJS() as Manifest | null;
    const validate = manifest && validators.get(`${manifest.apiVersion} ${manifest.kind}`);
    if (!manifest || !validate || validate(manifest)) continue;
    for (const error of validate.errors ?? []) problems.push(`${manifest.kind}/${manifest.metadata?.name ?? '?'}: ${describeError(error)} (CRD schema)`);
  }
  return { name, ok: problems.length === 0, problems };
}
