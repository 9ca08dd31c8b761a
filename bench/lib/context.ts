import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export type Engine = 'sqlite' | 'postgres';

/** What a benchmark gets from the runner. */
export interface BenchContext {
  engine: Engine;
  /** `DATABASE_URL` when benchmarking PostgreSQL (an admin URL; benchmarks create their own database). */
  databaseUrl: string | undefined;
  /** Sizes shrunk 10x for a smoke run. */
  quick: boolean;
  /** Write a V8 CPU profile of the process doing the product's work, into `profileDir`. */
  profile: boolean;
  profileDir: string;
  /** A fresh temp folder, removed after the run unless `--keep`. */
  tmp: string;
  log: (line: string) => void;
}

export type Figures = Record<string, number | string | null>;

export interface BenchResult {
  figures: Figures;
  params: Record<string, unknown>;
  /** One line naming the physical limit the figures are compared to. */
  limit: string;
  notes?: string[];
}

export interface Benchmark {
  name: string;
  /** What it measures, for `npm run bench` (the list) and the README. */
  description: string;
  run(ctx: BenchContext): Promise<BenchResult>;
}

/** The repository root (bench/..). */
export const root = path.resolve(import.meta.dirname, '..', '..');

/** The Node binary running the benchmarks (Node 24): child processes use the same one. */
export const nodeBin = process.execPath;

export function machine(): {
  cpu: string;
  cores: number;
  memory_gib: number;
  os: string;
  tmpfs: boolean | null;
  loadavg_1m: number;
} {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    memory_gib: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()}`,
    tmpfs: isTmpfs(os.tmpdir()),
    loadavg_1m: Math.round(os.loadavg()[0]! * 100) / 100,
  };
}

/**
 * Durable small writes per second in `dir` (4 KiB write + fdatasync, 300 times): the state of
 * the disk during this run, since every durable commit pays for one. The machine may be shared.
 */
export function fdatasyncPerS(dir: string): number {
  const file = path.join(dir, 'fdatasync-probe');
  const fd = fs.openSync(file, 'w');
  const page = Buffer.alloc(4096, 7);
  const started = performance.now();
  for (let i = 0; i < 300; i++) {
    fs.writeSync(fd, page, 0, page.length, (i % 16) * 4096);
    fs.fdatasyncSync(fd);
  }
  const ms = performance.now() - started;
  fs.closeSync(fd);
  fs.rmSync(file);
  return Math.round((300 / ms) * 1000);
}

function isTmpfs(dir: string): boolean | null {
  try {
    const out = execFileSync('stat', ['-f', '-c', '%T', dir], { encoding: 'utf8' });
    return out.trim() === 'tmpfs';
  } catch {
    return null;
  }
}

/** The commit measured, with `+dirty` when the work tree has changes. */
export function revision(): string | null {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      cwd: root,
      encoding: 'utf8',
    }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], {
      cwd: root,
      encoding: 'utf8',
    });
    return dirty.trim() ? `${head}+dirty` : head;
  } catch {
    return null;
  }
}

export function freshTmp(name: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `leadline-bench-${name}-`));
}
