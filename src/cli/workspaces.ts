import { validationError } from '../errors.ts';
import { subcommandArgs, USAGE_EXIT } from './arguments.ts';
import { withServices } from './context.ts';

/** How `leadline workspaces` subcommands are called, as main's usage text shows them. */
const SYNOPSES = { create: 'SLUG [--name NAME]' };

/** `leadline workspaces create SLUG [--name NAME]`: prints the new workspace's id. */
export async function runWorkspaces(args: string[]): Promise<number> {
  const parsed = subcommandArgs('workspaces', SYNOPSES, {
    args,
    allowPositionals: true,
    options: { name: { type: 'string' } },
  });
  if (!parsed) return USAGE_EXIT;
  const { values, positionals } = parsed;
  const [sub, slug] = positionals;
  if (sub !== 'create' || !slug)
    throw validationError([{ path: 'command', message: 'use "workspaces create SLUG"' }]);
  const workspace = await withServices((s) => s.workspaces.createWorkspace(slug, values.name ?? slug));
  process.stdout.write(`${workspace.id}\n`);
  return 0;
}
