import path from 'node:path';
import type { BenchContext } from './context.ts';
import { createBenchDatabase } from './raw-pg.ts';
import { type ServerHandle, startServer } from './server.ts';

/** The database a product run writes to: a fresh SQLite folder, or a fresh PostgreSQL database. */
export interface Target {
  dataDir: string;
  databaseUrl: string | undefined;
  drop: () => Promise<void>;
}

export async function freshTarget(ctx: BenchContext, label: string): Promise<Target> {
  const dataDir = path.join(ctx.tmp, label);
  if (!ctx.databaseUrl) return { dataDir, databaseUrl: undefined, drop: async () => {} };
  const { url, drop } = await createBenchDatabase(ctx.databaseUrl);
  return { dataDir, databaseUrl: url, drop };
}

/** Starts the server on a fresh target; `stop` stops it and drops the target. */
export async function serverOn(
  ctx: BenchContext,
  benchName: string,
): Promise<{ server: ServerHandle; target: Target; stop: () => Promise<void> }> {
  const target = await freshTarget(ctx, 'server');
  const server = await startServer({
    dataDir: target.dataDir,
    databaseUrl: target.databaseUrl,
    cpuProfile: ctx.profile ? path.join(ctx.profileDir, `${benchName}-server.cpuprofile`) : undefined,
  });
  ctx.log(`server pid ${server.pid} on ${server.origin} (${ctx.engine})`);
  return {
    server,
    target,
    stop: async () => {
      await server.stop();
      await target.drop();
    },
  };
}
