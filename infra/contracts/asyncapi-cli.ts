/**
 * npm run asyncapi              writes docs/asyncapi.yaml, the AsyncAPI 3.0 document of the contracts
 * npm run asyncapi -- --check   exits 1 if the committed docs/asyncapi.yaml differs from a fresh generation
 *
 * Either way the fresh document is validated by @asyncapi/parser first: an
 * error diagnostic fails the command and nothing is written.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { Parser, DiagnosticSeverity, type Diagnostic } from '@asyncapi/parser';
import { stringify } from 'yaml';
import { ALL_TOPICS, allMessages } from '@shop/contracts';
import { asyncApiDocument } from '../../contracts/src/asyncapi';

export const ASYNCAPI_FILE = path.resolve(import.meta.dirname, '..', '..', 'docs', 'asyncapi.yaml');
export const OUT_OF_DATE = 'docs/asyncapi.yaml differs from the contracts: run npm run asyncapi';

const HEADER = '# Generated from @shop/contracts by `npm run asyncapi`; do not edit by hand.\n';

/** The document as YAML: the document's own key order, no anchors or aliases, no folded lines, so a regeneration is byte-stable. */
export function renderAsyncApi(document: Record<string, unknown> = asyncApiDocument(allMessages, ALL_TOPICS)): string {
  return HEADER + stringify(document, { aliasDuplicateObjects: false, lineWidth: 0 });
}

export async function asyncApiDiagnostics(source: string | Record<string, unknown>): Promise<Diagnostic[]> {
  const { diagnostics } = await new Parser().parse(typeof source === 'string' ? source : JSON.stringify(source));
  return diagnostics;
}

export const errorsOf = (diagnostics: readonly Diagnostic[]) => diagnostics.filter((d) => d.severity === DiagnosticSeverity.Error);

export const describeDiagnostic = (d: Diagnostic) =>
  `${DiagnosticSeverity[d.severity] ?? d.severity} ${d.code}: ${d.message} at ${d.path.length > 0 ? d.path.join('.') : '(root)'}`;

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { check: { type: 'boolean', default: false } } });
  const fresh = renderAsyncApi();
  const diagnostics = await asyncApiDiagnostics(fresh);
  const errors = errorsOf(diagnostics);
  for (const d of errors) console.error(describeDiagnostic(d));
  if (errors.length > 0) {
    console.error(`the generated AsyncAPI document has ${errors.length} error(s); nothing written`);
    return 1;
  }
  const rel = path.relative(process.cwd(), ASYNCAPI_FILE);
  if (values.check) {
    const committed = fs.existsSync(ASYNCAPI_FILE) ? fs.readFileSync(ASYNCAPI_FILE, 'utf8') : undefined;
    if (committed !== fresh) {
      console.error(OUT_OF_DATE);
      return 1;
    }
    console.log(`${rel} is up to date (${diagnostics.length} parser diagnostic(s), none an error)`);
    return 0;
  }
  fs.writeFileSync(ASYNCAPI_FILE, fresh);
  console.log(`wrote ${rel} (${diagnostics.length} parser diagnostic(s), none an error)`);
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
