import fs from 'node:fs';
import path from 'node:path';
import { root } from './context.ts';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  file: string;
  total_ms: number;
  /** Functions by self time (where the CPU actually was), largest first. */
  functions: Array<{ self_ms: number; pct: number; fn: string; at: string }>;
  /** The same, added up per package (node_modules/<name>) or per source folder. */
  modules: Array<{ self_ms: number; pct: number; module: string }>;
}

function where(url: string): string {
  if (!url) return '(native)';
  const file = url.replace(/^file:\/\//, '');
  const nm = file.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = file.slice(nm + '/node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  if (file.startsWith(root)) {
    const rel = path.relative(root, file).split('/');
    return rel.slice(0, Math.min(2, rel.length - 1)).join('/') || rel[0]!;
  }
  return file.startsWith('node:') ? 'node (core)' : file;
}

/** Self time per function and per module of a V8 `.cpuprofile`. */
export function summariseProfile(file: string, top = 25): ProfileSummary {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  let total = 0;
  const fns = new Map<string, { us: number; fn: string; at: string }>();
  const modules = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)!.callFrame;
    total += us;
    const fn = frame.functionName || '(anonymous)';
    const file = frame.url.replace(/^file:\/\//, '');
    const at = file
      ? `${file.startsWith(root) ? path.relative(root, file) : file}:${frame.lineNumber + 1}`
      : '';
    const key = `${fn} ${at}`;
    const entry = fns.get(key) ?? { us: 0, fn, at };
    entry.us += us;
    fns.set(key, entry);
    const module = ['(idle)', '(program)', '(garbage collector)'].includes(fn) ? fn : where(frame.url);
    modules.set(module, (modules.get(module) ?? 0) + us);
  }
  const pct = (us: number) => Math.round((us / total) * 1000) / 10;
  return {
    file: path.relative(root, file),
    total_ms: Math.round(total / 1000),
    functions: [...fns.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, top)
      .map((f) => ({ self_ms: Math.round(f.us / 1000), pct: pct(f.us), fn: f.fn, at: f.at })),
    modules: [...modules.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 15)
      .map(([module, us]) => ({ self_ms: Math.round(us / 1000), pct: pct(us), module })),
  };
}

export function printProfile(summary: ProfileSummary, log: (line: string) => void): void {
  log(`\nCPU profile ${summary.file} (${summary.total_ms} ms sampled)`);
  log('  by module (self time):');
  for (const m of summary.modules)
    log(`    ${String(m.pct).padStart(5)}%  ${String(m.self_ms).padStart(7)} ms  ${m.module}`);
  log('  top functions (self time):');
  for (const f of summary.functions)
    log(`    ${String(f.pct).padStart(5)}%  ${String(f.self_ms).padStart(7)} ms  ${f.fn}  ${f.at}`);
}

/**
 * Runs `work` under the in-process V8 profiler (node:inspector) and writes the profile to
 * `file`: for benchmarks that call services directly, only the measured phase is profiled.
 */
export async function profileInProcess<T>(file: string, work: () => Promise<T>): Promise<T> {
  const { Session } = await import('node:inspector/promises');
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 500 });
  await session.post('Profiler.start');
  try {
    return await work();
  } finally {
    const { profile } = await session.post('Profiler.stop');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, JSON.stringify(profile));
    session.disconnect();
  }
}
