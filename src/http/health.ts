import { sql } from 'kysely';
import type { Database } from '../db/database.ts';
import { sendProblem } from './errors.ts';
import type { HttpApp } from './types.ts';

/**
 * `/healthz`: the process answers. `/readyz`: it can also reach its database. Neither is rate
 * limited: a probe must not fail because other keyless callers share its IP (see server.ts).
 */
export function registerHealthRoutes(app: HttpApp, database: Database): void {
  const config = { public: true, rateLimit: false } as const;
  app.get('/healthz', { config, schema: { hide: true } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { config, schema: { hide: true } }, async (request, reply) => {
    try {
      await sql`select 1`.execute(database.db);
      return { status: 'ready', engine: database.engine };
    } catch (error) {
      request.log.warn({ err: error }, 'database not reachable');
      // Not a domain error (no request input is wrong), so not one of the domain codes either.
      return sendProblem(reply, {
        type: 'https://leadline.dev/problems/not-ready',
        title: 'Not ready',
        status: 503,
        code: 'NOT_READY',
        detail: 'The database is not reachable.',
      });
    }
  });
}
