import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { nodeBin, root } from './context.ts';

/** The API key the child server is bootstrapped with (LEADLINE_BOOTSTRAP_KEY). */
export const benchKey = 'll_bench_0123456789abcdefghijklmnopqrstuvwxyz';

export interface ServerHandle {
  pid: number;
  port: number;
  origin: string;
  key: string;
  /** Resident set size of the server process now, in MiB (VmRSS of /proc/<pid>/status). */
  rssMb(): number;
  /** Peak resident set size so far, in MiB (VmHWM). */
  peakRssMb(): number;
  /** CPU time the server process has used so far (user + system), in ms. */
  cpuMs(): number;
  /** SIGTERM, then waits for exit (the server closes its database and writes its CPU profile). */
  stop(): Promise<void>;
  /** What the server printed on stdout and stderr so far (for error reports). */
  output(): string;
}

/** A free TCP port on 127.0.0.1, chosen by the kernel. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.unref();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

export function procStatusMb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
  if (!match) throw new Error(`no ${field} for pid ${pid}`);
  return Number(match[1]) / 1024;
}

/** utime + stime of a process from /proc/<pid>/stat, in ms (clock ticks are 100/s on Linux). */
export function procCpuMs(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may contain spaces) start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

export interface StartServerOptions {
  dataDir: string;
  databaseUrl?: string | undefined;
  /** Writes a V8 CPU profile to this file when the server exits (`node --cpu-prof`). */
  cpuProfile?: string | undefined;
  env?: Record<string, string>;
}

/**
 * Starts `leadline serve` in a child process (its own event loop, as in production) on a free
 * port of 127.0.0.1, with rate limits out of the way, and waits until /readyz answers.
 */
export async function startServer(options: StartServerOptions): Promise<ServerHandle> {
  const port = await freePort();
  // The flag `npm start` and the leadline bin pass (see bin/leadline.js).
  const args = ['--max-semi-space-size=16'];
  if (options.cpuProfile) {
    fs.mkdirSync(path.dirname(options.cpuProfile), { recursive: true });
    args.push(
      '--cpu-prof',
      `--cpu-prof-dir=${path.dirname(options.cpuProfile)}`,
      `--cpu-prof-name=${path.basename(options.cpuProfile)}`,
    );
  }
  args.push(path.join(root, 'bin/leadline.js'), 'serve');
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/tmp',
    PORT: String(port),
    HOST: '127.0.0.1',
    LEADLINE_DATA_DIR: options.dataDir,
    LEADLINE_BOOTSTRAP_KEY: benchKey,
    LEADLINE_RATE_LIMIT_PER_KEY: '100000000',
    LEADLINE_RATE_LIMIT_PER_IP: '100000000',
    LEADLINE_BODY_LIMIT_BYTES: String(64 * 1024 * 1024),
    LOG_LEVEL: 'warn',
    ...(options.databaseUrl ? { DATABASE_URL: options.databaseUrl } : {}),
    ...options.env,
  };
  const child = spawn(nodeBin, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-20_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const origin = `http://127.0.0.1:${port}`;
  const started = Date.now();
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`server exited with ${child.exitCode} before ready:\n${output}`);
    try {
      const res = await fetch(`${origin}/readyz`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() - started > 60_000) {
      child.kill('SIGKILL');
      throw new Error(`server not ready after 60 s:\n${output}`);
    }
    await sleep(50);
  }
  const pid = child.pid!;
  return {
    pid,
    port,
    origin,
    key: benchKey,
    rssMb: () => procStatusMb(pid, 'VmRSS'),
    peakRssMb: () => procStatusMb(pid, 'VmHWM'),
    cpuMs: () => procCpuMs(pid),
    output: () => output,
    stop: () => stopChild(child, exited),
  };
}

async function stopChild(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  await exited;
  clearTimeout(timer);
}
