import { parentPort, workerData } from 'node:worker_threads';
import { openSqliteReader } from '../db/database.ts';
import { newId } from '../db/ids.ts';
import * as store from '../leads/store.ts';
import * as timeline from '../leads/timeline-store.ts';
import { rescoreLead, type ScoringContext } from './qualify.ts';
import type { RescoreRequest, RescoreResponse } from './rescore-prefetch.ts';
import { toRescoredLead } from './rescore-result.ts';
import { relevantTypes, typesReadingProperties } from './service.ts';

/**
 * Worker thread entry of rescore-prefetch.ts: reads leads and their histories on its own
 * read-only connection, in one read transaction, and rescores them with the same code as the
 * writer's inline path (`rescoreLead`). Writes nothing.
 */
const { databaseFile } = workerData as { databaseFile: string };
const db = openSqliteReader(databaseFile);
/** The rules of the run, sent once and kept: compiled matchers are cached per context object. */
let context: ScoringContext | undefined;

parentPort!.on('message', async (request: RescoreRequest) => {
  let response: RescoreResponse;
  try {
    if (request.context) context = request.context;
    const ctx = context!;
    const results = await db.transaction().execute(async (trx) => {
      const leads = (await store.findLeadsByIds(trx, request.workspaceId, request.ids)).filter(
        (lead) => !lead.mergedIntoId,
      );
      const history = await timeline.activitiesOf(
        trx,
        request.workspaceId,
        leads.map((lead) => lead.id),
        relevantTypes(ctx),
        typesReadingProperties(ctx),
      );
      return leads.map((lead) =>
        toRescoredLead(rescoreLead(ctx, lead, history.get(lead.id) ?? [], request.now, newId)),
      );
    });
    response = { id: request.id, ok: true, results };
  } catch (error) {
    response = {
      id: request.id,
      ok: false,
      error: error instanceof Error ? (error.stack ?? error.message) : String(error),
    };
  }
  parentPort!.postMessage(response);
});
