import { readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/**
 * Node module customization hooks, registered with module.register after
 * tsx's loader (so they run before tsx's):
 * - resolve: `k6`, `k6/http`, `k6/metrics` and `k6/execution` resolve to the
 *   harness's shims; any other `k6/*` module fails with the reason.
 * - load: before a k6 script (a scenario, its lib, a fixture — not the
 *   harness's own Node code) is compiled, its import specifiers are checked
 *   as k6 would load them, on the source as written (tsx rewrites
 *   extensionless specifiers on some Node versions): a relative import must
 *   name an existing file exactly (k6 adds no extension and does not map
 *   `.js` to `.ts`); npm packages, Node built-ins and remote URLs are not
 *   loadable here.
 */

const HARNESS = new URL('../', import.meta.url).href;
const FIXTURES = new URL('../fixtures/', import.meta.url).href;
const SHIMS: Record<string, string> = {
  k6: new URL('../shim/k6.ts', import.meta.url).href,
  'k6/http': new URL('../shim/http.ts', import.meta.url).href,
  'k6/metrics': new URL('../shim/metrics.ts', import.meta.url).href,
  'k6/execution': new URL('../shim/execution.ts', import.meta.url).href,
};

interface ResolveContext {
  parentURL?: string;
  conditions: string[];
  importAttributes?: Record<string, string>;
}
interface LoadContext {
  format?: string | null;
  conditions: string[];
  importAttributes?: Record<string, string>;
}
type NextResolve = (specifier: string, context: ResolveContext) => Promise<{ url: string; format?: string | null }>;
type NextLoad = (url: string, context: LoadContext) => Promise<{ format: string; source?: string | ArrayBuffer | Uint8Array | null }>;

function unimplemented(specifier: string): Error {
  const hint = specifier === 'k6/options' ? ' (k6/options only has types: use `import type`)' : '';
  return new Error(`k6 once-harness: module '${specifier}' is not implemented${hint}; implemented: ${Object.keys(SHIMS).join(', ')}`);
}

export async function resolve(specifier: string, context: ResolveContext, nextResolve: NextResolve) {
  if (specifier === 'k6' || specifier.startsWith('k6/')) {
    const url = SHIMS[specifier];
    if (!url) throw unimplemented(specifier);
    // Through the rest of the chain, so tsx resolves (and then loads) the TypeScript shim.
    return nextResolve(url, context);
  }
  return nextResolve(specifier, context);
}

/** A k6 script: a file that is neither the harness's own Node code nor in a package. */
function isK6Script(url: string): boolean {
  if (!url.startsWith('file:') || url.includes('/node_modules/')) return false;
  return !url.startsWith(HARNESS) || url.startsWith(FIXTURES);
}

/** The module specifiers a script imports at run time (type-only imports are erased before k6 sees them). */
function runtimeImports(sf: ts.SourceFile): string[] {
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.importClause;
      const named = clause?.namedBindings;
      const allTypes = clause !== undefined && !clause.name && named !== undefined && ts.isNamedImports(named) && named.elements.length > 0 && named.elements.every((e) => e.isTypeOnly);
      if (!clause?.isTypeOnly && !allTypes) found.push(node.moduleSpecifier.text);
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      if (!node.isTypeOnly) found.push(node.moduleSpecifier.text);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const [arg] = node.arguments;
      if (arg && ts.isStringLiteralLike(arg)) found.push(arg.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}

function checkImports(url: string): void {
  const file = fileURLToPath(url);
  const kind = /\.[cm]?tsx?$/.test(file) ? ts.ScriptKind.TS : ts.ScriptKind.JS;
  const sf = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, false, kind);
  for (const specifier of runtimeImports(sf)) {
    if (specifier === 'k6' || specifier.startsWith('k6/')) {
      if (!SHIMS[specifier]) throw unimplemented(specifier);
    } else if (/^https?:\/\//.test(specifier)) {
      throw new Error(`k6 once-harness: remote module '${specifier}' (imported by ${file}) cannot be loaded here: vendor it into the repository`);
    } else if (specifier.startsWith('./') || specifier.startsWith('../') || specifier.startsWith('/') || specifier.startsWith('file:')) {
      if (!statSync(fileURLToPath(new URL(specifier, url)), { throwIfNoEntry: false })?.isFile()) {
        throw new Error(`k6 resolves imports literally: '${specifier}' (imported by ${file}) is not a file; k6 adds no extension and does not map .js to .ts`);
      }
    } else {
      throw new Error(`k6 once-harness: '${specifier}' (imported by ${file}) is not a k6 module; k6 scripts cannot import npm packages or Node built-ins`);
    }
  }
}

export async function load(url: string, context: LoadContext, nextLoad: NextLoad) {
  if (isK6Script(url)) checkImports(url.split(/[?#]/)[0]!);
  return nextLoad(url, context);
}
