import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const CLIENT_DIR = fileURLToPath(new URL('./client/', import.meta.url));

export interface DashboardAssets {
  html: string;
  js: Uint8Array;
  css: Uint8Array;
  /** Wall time of the build, for the start-up log line. */
  buildMs: number;
}

/**
 * Builds the page's script and style sheet from `client/` into memory with
 * esbuild (chart.js comes from node_modules, so nothing is fetched from the
 * network and no build output has to exist in a fresh clone).
 */
export async function buildDashboardAssets(): Promise<DashboardAssets> {
  const started = performance.now();
  const [result, html] = await Promise.all([
    build({
      entryPoints: [
        { in: join(CLIENT_DIR, 'main.ts'), out: 'app' },
        { in: join(CLIENT_DIR, 'dashboard.css'), out: 'app' },
      ],
      outdir: join(CLIENT_DIR, 'out'),
      write: false,
      bundle: true,
      format: 'esm',
      platform: 'browser',
      target: ['es2022'],
      minify: true,
      // Chart.js is MIT: its licence comment stays at the end of the bundle.
      legalComments: 'eof',
      logLevel: 'silent',
    }),
    readFile(join(CLIENT_DIR, 'index.html'), 'utf8'),
  ]);
  const output = (extension: string): Uint8Array => {
    const file = result.outputFiles.find((f) => f.path.endsWith(extension));
    if (!file) throw new Error(`the dashboard build produced no ${extension} file`);
    return file.contents;
  };
  return { html, js: output('.js'), css: output('.css'), buildMs: Math.round(performance.now() - started) };
}
