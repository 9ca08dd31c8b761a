import { parseArgs } from 'node:util';
import { validationError } from '../errors.ts';
import { withServices } from './context.ts';

/** `leadline workspaces create SLUG [--name NAME]`: prints the new workspace's id. */
export async function runWorkspaces(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { name: { type: 'string' } },
  });
  const [sub, slug] = positionals;
  if (sub !== 'create' || !slug)
    throw validationError([{ path: 'command', message: 'use "workspaces create SLUG"' }]);
  const workspace = await withServices((s) => s.workspaces.createWorkspace(slug, values.name ?? slug));
  process.stdout.write(`${workspace.id}\n`);
  return 0;
}
