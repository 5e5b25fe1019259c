/**
 * npx tsx infra/bench/profile-summary.ts DIR [--top 25]
 *
 * Summarises the V8 CPU profiles (`--cpu-prof`) in DIR, one block per
 * process: busy time, self time by package (node_modules/<package>, node's
 * own internals, the platform, each service) and the top functions by self
 * time. `npm run bench:saga -- --cpu-prof DIR` writes one profile per process.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '25' } } });
const dir = positionals[0];
if (!dir) throw new Error('usage: profile-summary.ts DIR');
const top = Number(values.top);

function owner(url: string): string {
  if (!url) return '(native/gc)';
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[0]}`;
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 14).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  const m = /\/(platform|contracts|[a-z]+-service|infra)\/src\/(.*)$/.exec(url);
  if (m) return `${m[1]}/${m[2]!.split('/')[0]}`;
  return url.replace(/^file:\/\//, '');
}

for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).sort()) {
  const profile = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  let idle = 0;
  let total = 0;
  const byOwner = new Map<string, number>();
  const byFunction = new Map<string, number>();
  for (const [id, us] of self) {
    const node = byId.get(id)!;
    total += us;
    const name = node.callFrame.functionName;
    if (name === '(idle)' || name === '(program)') {
      if (name === '(idle)') idle += us;
      else byOwner.set('(program)', (byOwner.get('(program)') ?? 0) + us);
      continue;
    }
    const o = name === '(garbage collector)' ? '(gc)' : owner(node.callFrame.url);
    byOwner.set(o, (byOwner.get(o) ?? 0) + us);
    const key = `${name || '(anonymous)'} ${owner(node.callFrame.url)}:${node.callFrame.lineNumber + 1}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + us);
  }
  const busy = total - idle;
  const pct = (us: number) => `${((100 * us) / Math.max(1, busy)).toFixed(1)}%`;
  console.log(`\n== ${file}: ${(total / 1e6).toFixed(1)} s sampled, busy ${(busy / 1e6).toFixed(2)} s`);
  console.log('  by package:');
  for (const [o, us] of [...byOwner].sort((a, b) => b[1] - a[1]).slice(0, 15)) console.log(`    ${pct(us).padStart(6)}  ${o}`);
  console.log('  top functions (self):');
  for (const [f, us] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`    ${pct(us).padStart(6)}  ${f}`);
}
