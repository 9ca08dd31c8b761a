import { validationError } from '../errors.ts';
import { type JobState, jobStates } from '../jobs/model.ts';
import { subcommandArgs, USAGE_EXIT } from './arguments.ts';
import { withServices } from './context.ts';

/** How `leadline jobs` subcommands are called, as main's usage text shows them. */
const SYNOPSES = {
  list: '[--workspace W] [--state queued|running|done|dead] [--kind K] [--limit N]',
  retry: 'ID [--workspace W]',
};

/**
 * `leadline jobs list [--workspace W] [--state S] [--kind K] [--limit N]` prints one job per
 * line (tab-separated: id, kind, state, attempts/max, run at, last error);
 * `leadline jobs retry ID [--workspace W]` queues a dead job again.
 */
export async function runJobs(args: string[]): Promise<number> {
  const parsed = subcommandArgs('jobs', SYNOPSES, {
    args,
    allowPositionals: true,
    options: {
      workspace: { type: 'string', default: 'default' },
      state: { type: 'string' },
      kind: { type: 'string' },
      limit: { type: 'string', default: '50' },
    },
  });
  if (!parsed) return USAGE_EXIT;
  const { values, positionals } = parsed;
  const [sub, id] = positionals;
  const state = values.state;
  if (state !== undefined && !(jobStates as readonly string[]).includes(state))
    throw validationError([{ path: '--state', message: `must be one of ${jobStates.join(', ')}` }]);
  const limit = Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 10_000)
    throw validationError([{ path: '--limit', message: 'must be an integer from 1 to 10000' }]);
  if (sub === 'list') {
    return withServices(
      async (s) => {
        const workspace = await s.workspaces.resolveWorkspace(values.workspace);
        const jobs = await s.jobs.list(workspace.id, {
          state: state as JobState | undefined,
          kind: values.kind,
          limit,
        });
        for (const job of jobs) {
          const line = [
            job.id,
            job.kind,
            job.state,
            `${job.attempts}/${job.maxAttempts}`,
            new Date(job.runAt).toISOString(),
            job.lastError ?? '',
          ];
          process.stdout.write(`${line.join('\t')}\n`);
        }
        return 0;
      },
      { readOnly: true },
    );
  }
  if (sub === 'retry' && id) {
    return withServices(async (s) => {
      const workspace = await s.workspaces.resolveWorkspace(values.workspace);
      const job = await s.jobs.retry(workspace.id, id);
      process.stdout.write(`${job.id}\t${job.kind}\t${job.state}\n`);
      return 0;
    });
  }
  throw validationError([{ path: 'command', message: 'use "jobs list" or "jobs retry ID"' }]);
}
