import type { Kysely } from 'kysely';
import { paddedInList } from '../db/in-list.ts';
import type { DB } from '../db/schema.ts';
import type { Team, TeamMember } from './model.ts';

async function membersOf(
  db: Kysely<DB>,
  workspaceId: string,
  teamIds: readonly string[],
): Promise<Map<string, TeamMember[]>> {
  const byTeam = new Map<string, TeamMember[]>();
  for (let i = 0; i < teamIds.length; i += 500) {
    const rows = await db
      .selectFrom('team_members')
      .select(['team_id', 'user_id', 'weight'])
      .where('workspace_id', '=', workspaceId)
      .where('team_id', 'in', paddedInList(teamIds.slice(i, i + 500)))
      .orderBy('team_id')
      .orderBy('position')
      .execute();
    for (const row of rows) {
      const list = byTeam.get(row.team_id) ?? [];
      list.push({ userId: row.user_id, weight: row.weight });
      byTeam.set(row.team_id, list);
    }
  }
  return byTeam;
}

export async function listTeams(db: Kysely<DB>, workspaceId: string): Promise<Team[]> {
  const rows = await db
    .selectFrom('teams')
    .select(['id', 'name', 'created_at', 'updated_at'])
    .where('workspace_id', '=', workspaceId)
    .orderBy('name')
    .execute();
  const members = await membersOf(
    db,
    workspaceId,
    rows.map((r) => r.id),
  );
  return rows.map((row) => ({
    id: row.id,
    workspaceId,
    name: row.name,
    members: members.get(row.id) ?? [],
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  }));
}

/**
 * The team with its members; with `lock` (PostgreSQL, in a write that stores it back) the team's
 * row stays locked until the transaction ends, so another process's rename or new member list
 * waits instead of being undone (every change of its members takes this lock first).
 */
export async function findTeam(
  db: Kysely<DB>,
  workspaceId: string,
  id: string,
  lock = false,
): Promise<Team | undefined> {
  const select = db
    .selectFrom('teams')
    .select(['id', 'name', 'created_at', 'updated_at'])
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', id);
  const row = await (lock ? select.forUpdate() : select).executeTakeFirst();
  if (!row) return undefined;
  const members = await membersOf(db, workspaceId, [id]);
  return {
    id: row.id,
    workspaceId,
    name: row.name,
    members: members.get(id) ?? [],
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

/** The ids of the teams this user is a member of, in team-name order. */
export async function teamIdsOf(db: Kysely<DB>, workspaceId: string, userId: string): Promise<string[]> {
  const rows = await db
    .selectFrom('team_members')
    .innerJoin('teams', (join) =>
      join
        .onRef('teams.workspace_id', '=', 'team_members.workspace_id')
        .onRef('teams.id', '=', 'team_members.team_id'),
    )
    .select('teams.id')
    .where('team_members.workspace_id', '=', workspaceId)
    .where('team_members.user_id', '=', userId)
    .orderBy('teams.name')
    .execute();
  return rows.map((r) => r.id);
}

/** Inserts a team without members; false when the name is taken (also concurrently). */
export async function insertTeam(db: Kysely<DB>, team: Team): Promise<boolean> {
  const result = await db
    .insertInto('teams')
    .values({
      workspace_id: team.workspaceId,
      id: team.id,
      name: team.name,
      created_at: team.createdAt,
      updated_at: team.updatedAt,
    })
    .onConflict((oc) => oc.columns(['workspace_id', 'name']).doNothing())
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0n) > 0;
}

/** The id of the team with this name, if any. */
export async function findTeamIdByName(
  db: Kysely<DB>,
  workspaceId: string,
  name: string,
): Promise<string | undefined> {
  const row = await db
    .selectFrom('teams')
    .select('id')
    .where('workspace_id', '=', workspaceId)
    .where('name', '=', name)
    .executeTakeFirst();
  return row?.id;
}

export async function renameTeam(db: Kysely<DB>, team: Team): Promise<void> {
  await db
    .updateTable('teams')
    .set({ name: team.name, updated_at: team.updatedAt })
    .where('workspace_id', '=', team.workspaceId)
    .where('id', '=', team.id)
    .execute();
}

/** Replaces the team's member list (order = position). */
export async function replaceMembers(
  db: Kysely<DB>,
  workspaceId: string,
  teamId: string,
  members: readonly TeamMember[],
): Promise<void> {
  await db
    .deleteFrom('team_members')
    .where('workspace_id', '=', workspaceId)
    .where('team_id', '=', teamId)
    .execute();
  for (let i = 0; i < members.length; i += 200) {
    await db
      .insertInto('team_members')
      .values(
        members.slice(i, i + 200).map((m, j) => ({
          workspace_id: workspaceId,
          team_id: teamId,
          user_id: m.userId,
          weight: m.weight,
          position: i + j,
        })),
      )
      .execute();
  }
}

export async function deleteTeam(db: Kysely<DB>, workspaceId: string, id: string): Promise<boolean> {
  await replaceMembers(db, workspaceId, id, []);
  const result = await db
    .deleteFrom('teams')
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', id)
    .executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}
