import type { Kysely } from 'kysely';
import type { Database } from '../db/database.ts';
import { newId } from '../db/ids.ts';
import type { DB } from '../db/schema.ts';
import { DomainError, validationError } from '../errors.ts';
import { prepareUser, type User, type UserInput } from './model.ts';
import * as store from './store.ts';

export interface UserServiceDeps {
  database: Database;
  clock: () => number;
}

export type UserService = ReturnType<typeof createUserService>;

const notFound = (id: string) => new DomainError('USER_NOT_FOUND', `No user ${id} in this workspace.`);

/** The people of a workspace routing hands leads to: reps and managers. */
export function createUserService({ database, clock }: UserServiceDeps) {
  const { db } = database;
  // A change writes the whole user back: read under a row lock on PostgreSQL, or a deactivation
  // and a timezone change in two processes at once would bring the user back active. SQLite's
  // writer lock serialises them already.
  const lock = database.engine === 'postgres';

  /** The manager must be another user of the workspace. */
  async function checkManager(trx: Kysely<DB>, user: User): Promise<void> {
    if (user.managerId === null) return;
    if (!(await store.findUser(trx, user.workspaceId, user.managerId)))
      throw validationError([{ path: '/managerId', message: 'is not a user of this workspace' }]);
  }

  function emailTaken(email: string): DomainError {
    return new DomainError('USER_EXISTS', `A user with email ${email} already exists.`, [
      { path: '/email', message: 'is already the email of another user' },
    ]);
  }

  return {
    list: (workspaceId: string, filter: store.UserFilter = {}) => store.listUsers(db, workspaceId, filter),

    async get(workspaceId: string, id: string): Promise<User> {
      const user = await store.findUser(db, workspaceId, id);
      if (!user) throw notFound(id);
      return user;
    },

    /** These users as `db` (a transaction, perhaps) sees them; ids of no user are left out. */
    findIn: (db: Kysely<DB>, workspaceId: string, ids: readonly string[]): Promise<User[]> =>
      store.findUsers(db, workspaceId, ids),

    async create(workspaceId: string, input: UserInput): Promise<User> {
      const prepared = prepareUser(null, input, { id: newId(), workspaceId }, clock());
      if (!prepared.ok) throw validationError(prepared.errors);
      const user = prepared.user;
      return database.writes.run(async (trx) => {
        await checkManager(trx, user);
        // ON CONFLICT DO NOTHING rather than look-then-insert: two processes creating the same
        // email get one user and one 409, not a unique-violation 500.
        if (!(await store.insertUser(trx, user))) throw emailTaken(user.email);
        return user;
      });
    },

    /** Changes the given fields; `active: false` deactivates, `active: true` brings back. */
    async update(workspaceId: string, id: string, input: UserInput): Promise<User> {
      return database.writes.run(async (trx) => {
        const current = await store.findUser(trx, workspaceId, id, lock);
        if (!current) throw notFound(id);
        const prepared = prepareUser(current, input, { id, workspaceId }, clock());
        if (!prepared.ok) throw validationError(prepared.errors);
        const user = prepared.user;
        if (user.email !== current.email) {
          const holder = await store.findUserIdByEmail(trx, workspaceId, user.email);
          if (holder !== undefined && holder !== id) throw emailTaken(user.email);
        }
        await checkManager(trx, user);
        await store.updateUser(trx, user);
        return user;
      });
    },

    /**
     * Deactivates a person (what DELETE does): they keep their leads and history, stay in their
     * teams and in rules, and receive no new leads until reactivated.
     */
    async deactivate(workspaceId: string, id: string): Promise<User> {
      return database.writes.run(async (trx) => {
        const current = await store.findUser(trx, workspaceId, id, lock);
        if (!current) throw notFound(id);
        if (!current.active) return current;
        const user = { ...current, active: false, updatedAt: clock() };
        await store.updateUser(trx, user);
        return user;
      });
    },
  };
}
