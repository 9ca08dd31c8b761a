import { sql } from 'kysely';
import { announceChange, ConfigCache } from '../db/config-cache.ts';
import type { Database } from '../db/database.ts';
import { newId } from '../db/ids.ts';
import { writeWithSlug } from '../db/unique-violation.ts';
import { DomainError, validationError } from '../errors.ts';
import {
  type ApiKey,
  generateKey,
  hashKey,
  keyPrefix,
  type Principal,
  type Scope,
  type SettingsPatch,
  slugPattern,
  type Workspace,
  type WorkspaceSettings,
} from './model.ts';
import * as store from './store.ts';

export interface WorkspaceServiceDeps {
  database: Database;
  clock: () => number;
}

/** PostgreSQL advisory lock of the first start's workspace and key (see `bootstrap`). */
const BOOTSTRAP_LOCK_KEY = 742_019_002;

/**
 * How long a key lookup is cached. A revocation is seen at once by every process (announced as
 * it commits, see config-cache.ts); this is the bound should a process's listening connection
 * be down, and on SQLite. (5 s)
 */
const KEY_CACHE_MS = 5_000;
/** How long a workspace's settings are cached: the same bound as `KEY_CACHE_MS`. (5 s) */
const WORKSPACE_CACHE_MS = 5_000;

export type WorkspaceService = ReturnType<typeof createWorkspaceService>;

/** A new, unrevoked key's record; only the secret's hash is stored beside it. */
function newApiKey(workspaceId: string, name: string, scope: Scope, secret: string, now: number): ApiKey {
  return {
    id: newId(),
    workspaceId,
    name,
    scope,
    prefix: keyPrefix(secret),
    createdAt: now,
    revokedAt: null,
  };
}

export function createWorkspaceService({ database, clock }: WorkspaceServiceDeps) {
  const { db } = database;
  // By key hash: every request looks its key up.
  const keyCache = new ConfigCache<Principal | undefined>({
    kind: 'apiKeys',
    database,
    ttlMs: KEY_CACHE_MS,
    clock,
  });
  // Every capture reads its workspace's settings.
  const workspaceCache = new ConfigCache<Workspace>({
    kind: 'workspace',
    database,
    ttlMs: WORKSPACE_CACHE_MS,
    clock,
  });

  async function createWorkspace(
    slug: string,
    name = slug,
    settings: WorkspaceSettings = {},
  ): Promise<Workspace> {
    if (!slugPattern.test(slug)) {
      throw validationError([{ path: '/slug', message: 'must be lower-case letters, digits and dashes' }]);
    }
    const workspace: Workspace = { id: newId(), slug, name, settings, createdAt: clock() };
    await writeWithSlug(
      database,
      (trx) => store.insertWorkspace(trx, workspace),
      () =>
        new DomainError('CONFLICT', `A workspace "${slug}" already exists.`, [
          { path: '/slug', message: 'is taken by another workspace' },
        ]),
    );
    return workspace;
  }

  async function resolveWorkspace(slugOrId: string): Promise<Workspace> {
    const workspace =
      (await store.findWorkspaceBySlug(db, slugOrId)) ?? (await store.findWorkspace(db, slugOrId));
    if (!workspace) throw new DomainError('WORKSPACE_NOT_FOUND', `No workspace "${slugOrId}".`);
    return workspace;
  }

  async function createKey(
    workspaceSlugOrId: string,
    name: string,
    scope: Scope,
    secret = generateKey(),
  ): Promise<{ key: string; apiKey: ApiKey }> {
    const workspace = await resolveWorkspace(workspaceSlugOrId);
    const apiKey = newApiKey(workspace.id, name, scope, secret, clock());
    await database.writes.run((trx) => store.insertApiKey(trx, apiKey, hashKey(secret)));
    return { key: secret, apiKey };
  }

  return {
    createWorkspace,
    resolveWorkspace,
    createKey,

    /**
     * On an empty database: workspace `default` and its first admin key, which is returned so
     * the caller can show it once (or `bootstrapKey`, for automation). Undefined otherwise.
     */
    async bootstrap(bootstrapKey?: string): Promise<{ workspace: Workspace; key: string } | undefined> {
      if ((await store.countWorkspaces(db)) > 0) return undefined;
      // Processes starting together on an empty database (a server and a worker) take turns,
      // and the workspace and its key commit together: a crash between the two would leave a
      // workspace without an admin key, and no later start would make one.
      return database.writes.run(async (trx) => {
        if (database.engine === 'postgres')
          await sql`select pg_advisory_xact_lock(${BOOTSTRAP_LOCK_KEY})`.execute(trx);
        if ((await store.countWorkspaces(trx)) > 0) return undefined;
        const now = clock();
        const workspace: Workspace = {
          id: newId(),
          slug: 'default',
          name: 'Default',
          settings: {},
          createdAt: now,
        };
        const key = bootstrapKey ?? generateKey();
        const apiKey = newApiKey(workspace.id, 'bootstrap admin', 'admin', key, now);
        await store.insertWorkspace(trx, workspace);
        await store.insertApiKey(trx, apiKey, hashKey(key));
        return { workspace, key };
      });
    },

    async authenticate(secret: string): Promise<Principal | undefined> {
      const hash = hashKey(secret);
      return keyCache.read(hash, async () => {
        const key = await store.findApiKeyByHash(db, hash);
        return key && key.revokedAt === null
          ? { workspaceId: key.workspaceId, keyId: key.id, scope: key.scope }
          : undefined;
      });
    },

    listIds: () => store.listWorkspaceIds(db),

    async getWorkspace(id: string): Promise<Workspace> {
      return workspaceCache.read(id, async () => {
        const workspace = await store.findWorkspace(db, id);
        if (!workspace) throw new DomainError('WORKSPACE_NOT_FOUND', 'Workspace not found.');
        return workspace;
      });
    },

    /** Forgets cached workspaces (one, or all): another process changed their settings. */
    forgetCachedWorkspace: (id?: string) => workspaceCache.forget(id),

    /** Forgets every cached key lookup: another process revoked a key. */
    forgetCachedKeys: () => keyCache.forget(),

    /** Merges `patch` into the settings; a null removes that setting (its default applies). */
    async updateSettings(id: string, patch: SettingsPatch): Promise<Workspace> {
      return database.writes.run(async (trx) => {
        // Locked: the whole settings object is written back, and another process may be
        // changing another setting of it (PostgreSQL; SQLite's writer lock serialises them).
        const workspace = await store.findWorkspace(trx, id, database.engine === 'postgres');
        if (!workspace) throw new DomainError('WORKSPACE_NOT_FOUND', 'Workspace not found.');
        const settings: WorkspaceSettings = Object.fromEntries(
          Object.entries({ ...workspace.settings, ...patch }).filter(([, value]) => value !== null),
        );
        await store.updateWorkspaceSettings(trx, id, settings);
        await workspaceCache.changedIn(trx, id);
        return { ...workspace, settings };
      });
    },

    listKeys: (workspaceId: string) => store.listApiKeys(db, workspaceId),

    async revokeKey(workspaceId: string, id: string): Promise<void> {
      const done = await database.writes.run(async (trx) => {
        if (!(await store.revokeApiKey(trx, workspaceId, id, clock()))) return false;
        // The cache is by key hash: every process forgets all its lookups.
        await announceChange(trx, database, 'apiKeys', workspaceId);
        return true;
      });
      if (!done) throw new DomainError('NOT_FOUND', 'No such active key in this workspace.');
      keyCache.forget();
    },
  };
}
