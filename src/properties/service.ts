import type { Kysely } from 'kysely';
import { ConfigCache } from '../db/config-cache.ts';
import type { Database } from '../db/database.ts';
import type { DB } from '../db/schema.ts';
import { DomainError, validationError } from '../errors.ts';
import type { PropertyDefinition, PropertyType } from './model.ts';
import * as store from './store.ts';

export interface PropertyServiceDeps {
  database: Database;
  clock: () => number;
}

export interface PropertyDraft {
  name: string;
  type: PropertyType;
  label?: string | undefined;
  options?: string[] | undefined;
}

export type PropertyService = ReturnType<typeof createPropertyService>;

function checkOptions(type: PropertyType, options: string[] | undefined): string[] | null {
  if (type !== 'enum') {
    if (options && options.length > 0)
      throw validationError([{ path: '/options', message: 'only enum properties have options' }]);
    return null;
  }
  if (!options || options.length === 0)
    throw validationError([{ path: '/options', message: 'is required for enum properties' }]);
  if (new Set(options).size !== options.length)
    throw validationError([{ path: '/options', message: 'must not repeat a value' }]);
  return options;
}

/**
 * How long a workspace's definitions are cached when no word of a change comes. Every capture
 * checks its properties against them; a change made by any process is announced as it commits
 * (config-cache.ts), and this is the bound should a process's listening connection be down, or
 * on SQLite. (5 s)
 */
const DEFINITIONS_CACHE_MS = 5_000;

export function createPropertyService({ database, clock }: PropertyServiceDeps) {
  const cache = new ConfigCache<Map<string, PropertyDefinition>>({
    kind: 'properties',
    database,
    ttlMs: DEFINITIONS_CACHE_MS,
    clock,
  });

  return {
    list: (workspaceId: string) => store.listDefinitions(database.db, workspaceId),

    /** The definitions as a map: from the cache, else read in the caller's transaction. */
    definitionsIn(db: Kysely<DB>, workspaceId: string): Promise<Map<string, PropertyDefinition>> {
      return cache.read(
        workspaceId,
        async () => new Map((await store.listDefinitions(db, workspaceId)).map((d) => [d.name, d])),
      );
    },

    /** Forgets cached definitions (of a workspace, or all): another process changed them. */
    forgetCached: (workspaceId?: string) => cache.forget(workspaceId),

    async get(workspaceId: string, name: string): Promise<PropertyDefinition> {
      const found = await store.findDefinition(database.db, workspaceId, name);
      if (!found) throw new DomainError('PROPERTY_NOT_FOUND', `No property "${name}".`);
      return found;
    },

    async create(workspaceId: string, draft: PropertyDraft): Promise<PropertyDefinition> {
      const options = checkOptions(draft.type, draft.options);
      const now = clock();
      const definition: PropertyDefinition = {
        name: draft.name,
        type: draft.type,
        label: draft.label ?? null,
        options,
        createdAt: now,
        updatedAt: now,
      };
      return database.writes.run(async (trx) => {
        // ON CONFLICT DO NOTHING rather than look-then-insert: two API processes creating the
        // same name get a 409 each but one, instead of a unique-violation 500.
        if (!(await store.insertDefinition(trx, workspaceId, definition))) {
          throw new DomainError('PROPERTY_EXISTS', `Property "${draft.name}" already exists.`);
        }
        await cache.changedIn(trx, workspaceId);
        return definition;
      });
    },

    /** Label and enum options can change; the type cannot (stored values would stop matching it). */
    async update(
      workspaceId: string,
      name: string,
      patch: { label?: string; options?: string[] },
    ): Promise<PropertyDefinition> {
      return database.writes.run(async (trx) => {
        // Locked on PostgreSQL: label and options are written back together, and a change of
        // the other by another process at once would be undone (SQLite serialises writers).
        const current = await store.findDefinition(trx, workspaceId, name, database.engine === 'postgres');
        if (!current) throw new DomainError('PROPERTY_NOT_FOUND', `No property "${name}".`);
        const next: PropertyDefinition = {
          ...current,
          label: patch.label ?? current.label,
          options: patch.options !== undefined ? checkOptions(current.type, patch.options) : current.options,
          updatedAt: clock(),
        };
        await store.updateDefinition(trx, workspaceId, next);
        await cache.changedIn(trx, workspaceId);
        return next;
      });
    },

    async remove(workspaceId: string, name: string): Promise<void> {
      const removed = await database.writes.run(async (trx) => {
        const deleted = await store.deleteDefinition(trx, workspaceId, name);
        await cache.changedIn(trx, workspaceId);
        return deleted;
      });
      if (!removed) throw new DomainError('PROPERTY_NOT_FOUND', `No property "${name}".`);
    },
  };
}
