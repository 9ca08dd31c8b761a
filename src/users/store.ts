import type { Kysely } from 'kysely';
import { paddedInList } from '../db/in-list.ts';
import { parseJson, toJson } from '../db/json.ts';
import type { DB, UserRow } from '../db/schema.ts';
import type { Absence, Role, User, WeeklyHours } from './model.ts';

const columns = [
  'workspace_id',
  'id',
  'name',
  'email',
  'role',
  'timezone',
  'working_hours',
  'out_of_office',
  'daily_capacity',
  'rolling_capacity',
  'manager_id',
  'active',
  'created_at',
  'updated_at',
] as const;

function toUser(row: UserRow): User {
  return {
    id: row.id,
    workspaceId: row.workspace_id,
    name: row.name,
    email: row.email,
    role: row.role as Role,
    timezone: row.timezone,
    workingHours: parseJson<WeeklyHours | null>(row.working_hours, null),
    outOfOffice: parseJson<Absence[]>(row.out_of_office, []),
    capacity: { daily: row.daily_capacity, rolling30Days: row.rolling_capacity },
    managerId: row.manager_id,
    active: Boolean(row.active),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

function toRow(user: User): UserRow {
  return {
    workspace_id: user.workspaceId,
    id: user.id,
    name: user.name,
    email: user.email,
    role: user.role,
    timezone: user.timezone,
    working_hours: user.workingHours ? toJson(user.workingHours) : null,
    out_of_office: toJson(user.outOfOffice),
    daily_capacity: user.capacity.daily,
    rolling_capacity: user.capacity.rolling30Days,
    manager_id: user.managerId,
    active: user.active ? 1 : 0,
    created_at: user.createdAt,
    updated_at: user.updatedAt,
  };
}

export interface UserFilter {
  active?: boolean | undefined;
  role?: Role | undefined;
}

export async function listUsers(
  db: Kysely<DB>,
  workspaceId: string,
  filter: UserFilter = {},
): Promise<User[]> {
  let select = db.selectFrom('users').select(columns).where('workspace_id', '=', workspaceId);
  if (filter.active !== undefined) select = select.where('active', '=', filter.active ? 1 : 0);
  if (filter.role !== undefined) select = select.where('role', '=', filter.role);
  const rows = await select.orderBy('name').orderBy('id').execute();
  return rows.map(toUser);
}

/**
 * The user; with `lock` (PostgreSQL, in a write that stores the user back) the row stays locked
 * until the transaction ends, so another process's change to it waits instead of being undone.
 */
export async function findUser(
  db: Kysely<DB>,
  workspaceId: string,
  id: string,
  lock = false,
): Promise<User | undefined> {
  const select = db
    .selectFrom('users')
    .select(columns)
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', id);
  const row = await (lock ? select.forUpdate() : select).executeTakeFirst();
  return row && toUser(row);
}

export async function findUsers(
  db: Kysely<DB>,
  workspaceId: string,
  ids: readonly string[],
): Promise<User[]> {
  const out: User[] = [];
  const unique = [...new Set(ids)];
  for (let i = 0; i < unique.length; i += 500) {
    const rows = await db
      .selectFrom('users')
      .select(columns)
      .where('workspace_id', '=', workspaceId)
      .where('id', 'in', paddedInList(unique.slice(i, i + 500)))
      .execute();
    for (const row of rows) out.push(toUser(row));
  }
  return out;
}

/** The id of the user with this email, if any. */
export async function findUserIdByEmail(
  db: Kysely<DB>,
  workspaceId: string,
  email: string,
): Promise<string | undefined> {
  const row = await db
    .selectFrom('users')
    .select('id')
    .where('workspace_id', '=', workspaceId)
    .where('email', '=', email)
    .executeTakeFirst();
  return row?.id;
}

/** Inserts a user; false when the email is taken (also by a concurrent transaction). */
export async function insertUser(db: Kysely<DB>, user: User): Promise<boolean> {
  const result = await db
    .insertInto('users')
    .values(toRow(user))
    .onConflict((oc) => oc.columns(['workspace_id', 'email']).doNothing())
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0n) > 0;
}

export async function updateUser(db: Kysely<DB>, user: User): Promise<void> {
  const { workspace_id: _w, id: _i, created_at: _c, ...changes } = toRow(user);
  await db
    .updateTable('users')
    .set(changes)
    .where('workspace_id', '=', user.workspaceId)
    .where('id', '=', user.id)
    .execute();
}
