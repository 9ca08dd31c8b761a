import type { Kysely } from 'kysely';
import type { DB } from '../db/schema.ts';
import type { StageChange } from '../scoring/qualify.ts';
import * as store from './history-store.ts';

/**
 * The stage history as other domains use it: the lead service records the moves a capture or
 * an activity causes in its own transaction; reports read durations and sales decisions.
 */
export const stageHistory = {
  recordIn: (db: Kysely<DB>, workspaceId: string, changes: readonly StageChange[]) =>
    store.insertStageChanges(db, workspaceId, changes),
  listIn: (db: Kysely<DB>, workspaceId: string, leadId: string) =>
    store.listStageChanges(db, workspaceId, leadId),
  salesDecisionsIn: (db: Kysely<DB>, workspaceId: string, from: number, to: number) =>
    store.countSalesDecisions(db, workspaceId, from, to),
};
