import { parseArgs } from 'node:util';
import { validationError } from '../errors.ts';
import { isScope } from '../workspaces/model.ts';
import { withServices } from './context.ts';

/** `leadline keys create --workspace W --name NAME [--scope S]`: prints only the key, for scripts. */
export async function runKeys(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      workspace: { type: 'string', default: 'default' },
      name: { type: 'string' },
      scope: { type: 'string', default: 'admin' },
    },
  });
  if (positionals[0] !== 'create') throw validationError([{ path: 'command', message: 'use "keys create"' }]);
  if (!values.name) throw validationError([{ path: '--name', message: 'is required' }]);
  const scope = values.scope!;
  if (!isScope(scope)) throw validationError([{ path: '--scope', message: 'must be read, write or admin' }]);
  const { key } = await withServices((s) => s.workspaces.createKey(values.workspace!, values.name!, scope));
  process.stdout.write(`${key}\n`);
  return 0;
}
