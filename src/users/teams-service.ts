import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../db/database.ts';
import { newId } from '../db/ids.ts';
import type { DB } from '../db/schema.ts';
import { DomainError, type FieldError, validationError } from '../errors.ts';
import { checkMembers, type Team, type TeamMember } from './model.ts';
import * as users from './store.ts';
import * as store from './teams-store.ts';

export interface TeamServiceDeps {
  database: Database;
  clock: () => number;
}

export type TeamService = ReturnType<typeof createTeamService>;

export interface TeamInput {
  name?: string;
  members?: Array<{ userId: string; weight?: number }>;
}

/**
 * Asked before a team is removed: the problems that forbid it (routing answers with the rules
 * that use the team). Registered by the domains that refer to teams, so this one imports none.
 */
export type RemovalGuard = (trx: Kysely<DB>, workspaceId: string, teamId: string) => Promise<FieldError[]>;

const notFound = (id: string) => new DomainError('TEAM_NOT_FOUND', `No team ${id} in this workspace.`);

/** Teams: the groups of people routing takes weighted turns over. */
export function createTeamService({ database, clock }: TeamServiceDeps) {
  const { db } = database;
  const guards: RemovalGuard[] = [];

  function checkName(name: string | undefined): string {
    const trimmed = name?.trim() ?? '';
    if (trimmed === '') throw validationError([{ path: '/name', message: 'is required' }]);
    return trimmed;
  }

  function nameTaken(name: string): DomainError {
    return new DomainError('TEAM_EXISTS', `A team named "${name}" already exists.`, [
      { path: '/name', message: 'is already the name of another team' },
    ]);
  }

  /** Members with their default weight (1), checked: each a user of the workspace, once. */
  async function membersIn(
    trx: Kysely<DB>,
    workspaceId: string,
    given: NonNullable<TeamInput['members']>,
  ): Promise<TeamMember[]> {
    const members = given.map((m) => ({ userId: m.userId, weight: m.weight ?? 1 }));
    const errors = checkMembers(members, '/members');
    const known = new Set(
      (
        await users.findUsers(
          trx,
          workspaceId,
          members.map((m) => m.userId),
        )
      ).map((u) => u.id),
    );
    members.forEach((m, i) => {
      if (!known.has(m.userId))
        errors.push({ path: `/members/${i}/userId`, message: 'is not a user of this workspace' });
    });
    if (errors.length > 0) throw validationError(errors);
    return members;
  }

  return {
    list: (workspaceId: string) => store.listTeams(db, workspaceId),

    async get(workspaceId: string, id: string): Promise<Team> {
      const team = await store.findTeam(db, workspaceId, id);
      if (!team) throw notFound(id);
      return team;
    },

    /** One team as `db` (a transaction, perhaps) sees it. */
    getIn: (db: Kysely<DB>, workspaceId: string, id: string): Promise<Team | undefined> =>
      store.findTeam(db, workspaceId, id),

    /** The ids of the teams a user is a member of, in the order of the teams' names. */
    teamIdsOfIn: (db: Kysely<DB>, workspaceId: string, userId: string): Promise<string[]> =>
      store.teamIdsOf(db, workspaceId, userId),

    /** `guard` is asked before every removal; its problems refuse it (409 CONFLICT). */
    guardRemoval(guard: RemovalGuard): void {
      guards.push(guard);
    },

    async create(workspaceId: string, input: TeamInput): Promise<Team> {
      const name = checkName(input.name);
      const now = clock();
      return database.writes.run(async (trx) => {
        const members = await membersIn(trx, workspaceId, input.members ?? []);
        const team: Team = { id: newId(), workspaceId, name, members, createdAt: now, updatedAt: now };
        if (!(await store.insertTeam(trx, team))) throw nameTaken(name);
        await store.replaceMembers(trx, workspaceId, team.id, members);
        return team;
      });
    },

    /** Renames and/or replaces the member list (given as a whole, in order). */
    async update(workspaceId: string, id: string, input: TeamInput): Promise<Team> {
      return database.writes.run(async (trx) => {
        // Locked on PostgreSQL: the name is written back as read, and two processes replacing
        // the members at once would otherwise interleave their deletes and inserts.
        const current = await store.findTeam(trx, workspaceId, id, database.engine === 'postgres');
        if (!current) throw notFound(id);
        const name = input.name !== undefined ? checkName(input.name) : current.name;
        const members =
          input.members !== undefined ? await membersIn(trx, workspaceId, input.members) : current.members;
        if (name !== current.name) {
          const holder = await store.findTeamIdByName(trx, workspaceId, name);
          if (holder !== undefined && holder !== id) throw nameTaken(name);
        }
        const team: Team = { ...current, name, members, updatedAt: clock() };
        await store.renameTeam(trx, team);
        if (input.members !== undefined) await store.replaceMembers(trx, workspaceId, id, members);
        return team;
      });
    },

    /** Removes a team (its members stay users); refused while something (a routing rule) uses it. */
    async remove(workspaceId: string, id: string): Promise<void> {
      await database.writes.run(async (trx: Transaction<DB>) => {
        if (!(await store.findTeam(trx, workspaceId, id))) throw notFound(id);
        const problems: FieldError[] = [];
        for (const guard of guards) problems.push(...(await guard(trx, workspaceId, id)));
        if (problems.length > 0)
          throw new DomainError(
            'CONFLICT',
            'The team is in use; change what uses it first (see errors).',
            problems,
          );
        await store.deleteTeam(trx, workspaceId, id);
      });
    },
  };
}
