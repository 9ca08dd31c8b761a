import { validationError } from '../errors.ts';
import { type Role, roles } from '../users/model.ts';
import { subcommandArgs, USAGE_EXIT } from './arguments.ts';
import { withServices } from './context.ts';

/** How `leadline users` subcommands are called, as main's usage text shows them. */
const USERS_SYNOPSES = {
  create: '--name N --email E [--timezone TZ] [--role rep|manager] [--workspace W]',
  list: '[--workspace W]',
};

/** How `leadline teams` subcommands are called, as main's usage text shows them. */
const TEAMS_SYNOPSES = {
  create: 'NAME --members ID[:WEIGHT],... [--workspace W]',
  list: '[--workspace W]',
};

/**
 * `leadline users create --name N --email E [--timezone TZ] [--role rep|manager]` prints the new
 * user's id; `leadline users list` prints one user per line (tab-separated: id, name, email,
 * role, timezone, active|inactive). Both take `--workspace W` (Default: default).
 */
export async function runUsers(args: string[]): Promise<number> {
  const parsed = subcommandArgs('users', USERS_SYNOPSES, {
    args,
    allowPositionals: true,
    options: {
      workspace: { type: 'string', default: 'default' },
      name: { type: 'string' },
      email: { type: 'string' },
      timezone: { type: 'string' },
      role: { type: 'string' },
    },
  });
  if (!parsed) return USAGE_EXIT;
  const { values, positionals } = parsed;
  const [sub] = positionals;
  if (sub === 'create') {
    if (!values.name) throw validationError([{ path: '--name', message: 'is required' }]);
    if (!values.email) throw validationError([{ path: '--email', message: 'is required' }]);
    const role = values.role;
    if (role !== undefined && !(roles as readonly string[]).includes(role))
      throw validationError([{ path: '--role', message: `must be one of ${roles.join(', ')}` }]);
    return withServices(async (s) => {
      const workspace = await s.workspaces.resolveWorkspace(values.workspace!);
      const user = await s.users.create(workspace.id, {
        name: values.name,
        email: values.email,
        ...(values.timezone !== undefined ? { timezone: values.timezone } : {}),
        ...(role !== undefined ? { role: role as Role } : {}),
      });
      process.stdout.write(`${user.id}\n`);
      return 0;
    });
  }
  if (sub === 'list') {
    return withServices(
      async (s) => {
        const workspace = await s.workspaces.resolveWorkspace(values.workspace!);
        for (const user of await s.users.list(workspace.id)) {
          const line = [
            user.id,
            user.name,
            user.email,
            user.role,
            user.timezone,
            user.active ? 'active' : 'inactive',
          ];
          process.stdout.write(`${line.join('\t')}\n`);
        }
        return 0;
      },
      { readOnly: true },
    );
  }
  throw validationError([{ path: 'command', message: 'use "users create" or "users list"' }]);
}

/** `id[:weight],…` (a member may be named by email too) as members; the weight defaults to 1. */
function parseMembers(text: string): Array<{ ref: string; weight: number }> {
  return text
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '')
    .map((part, i) => {
      const colon = part.lastIndexOf(':');
      if (colon < 0) return { ref: part, weight: 1 };
      const weight = Number(part.slice(colon + 1));
      if (!Number.isInteger(weight) || weight < 1)
        throw validationError([{ path: `--members/${i}`, message: 'weight must be a whole number from 1' }]);
      return { ref: part.slice(0, colon), weight };
    });
}

/**
 * `leadline teams create NAME --members id[:weight],…` prints the new team's id (members by
 * user id or email, in rotation order); `leadline teams list` prints one team per line
 * (tab-separated: id, name, members as id:weight). Both take `--workspace W`.
 */
export async function runTeams(args: string[]): Promise<number> {
  const parsed = subcommandArgs('teams', TEAMS_SYNOPSES, {
    args,
    allowPositionals: true,
    options: {
      workspace: { type: 'string', default: 'default' },
      members: { type: 'string', default: '' },
    },
  });
  if (!parsed) return USAGE_EXIT;
  const { values, positionals } = parsed;
  const [sub, name] = positionals;
  if (sub === 'create' && name) {
    const given = parseMembers(values.members!);
    return withServices(async (s) => {
      const workspace = await s.workspaces.resolveWorkspace(values.workspace!);
      const byEmail = new Map((await s.users.list(workspace.id)).map((u) => [u.email, u.id]));
      const members = given.map((m) => ({
        userId: m.ref.includes('@') ? (byEmail.get(m.ref.toLowerCase()) ?? m.ref) : m.ref,
        weight: m.weight,
      }));
      const team = await s.teams.create(workspace.id, { name, members });
      process.stdout.write(`${team.id}\n`);
      return 0;
    });
  }
  if (sub === 'list') {
    return withServices(async (s) => {
      const workspace = await s.workspaces.resolveWorkspace(values.workspace!);
      for (const team of await s.teams.list(workspace.id)) {
        const members = team.members.map((m) => `${m.userId}:${m.weight}`).join(',');
        process.stdout.write(`${team.id}\t${team.name}\t${members}\n`);
      }
      return 0;
    });
  }
  throw validationError([
    { path: 'command', message: 'use "teams create NAME --members id[:weight],…" or "teams list"' },
  ]);
}
