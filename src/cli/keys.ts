import { validationError } from '../errors.ts';
import { isScope } from '../workspaces/model.ts';
import { subcommandArgs, USAGE_EXIT } from './arguments.ts';
import { withServices } from './context.ts';

/** How `leadline keys` subcommands are called, as main's usage text shows them. */
const SYNOPSES = { create: '--workspace W --name NAME [--scope read|write|admin]' };

/** `leadline keys create --workspace W --name NAME [--scope S]`: prints only the key, for scripts. */
export async function runKeys(args: string[]): Promise<number> {
  const parsed = subcommandArgs('keys', SYNOPSES, {
    args,
    allowPositionals: true,
    options: {
      workspace: { type: 'string', default: 'default' },
      name: { type: 'string' },
      scope: { type: 'string', default: 'admin' },
    },
  });
  if (!parsed) return USAGE_EXIT;
  const { values, positionals } = parsed;
  if (positionals[0] !== 'create') throw validationError([{ path: 'command', message: 'use "keys create"' }]);
  if (!values.name) throw validationError([{ path: '--name', message: 'is required' }]);
  const scope = values.scope!;
  if (!isScope(scope)) throw validationError([{ path: '--scope', message: 'must be read, write or admin' }]);
  const { key } = await withServices((s) => s.workspaces.createKey(values.workspace!, values.name!, scope));
  process.stdout.write(`${key}\n`);
  return 0;
}
