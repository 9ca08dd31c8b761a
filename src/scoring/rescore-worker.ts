import { parentPort, workerData } from 'node:worker_threads';
import { openSqliteReader } from '../db/database.ts';
import { newId } from '../db/ids.ts';
import * as store from '../leads/store.ts';
import { rescoreLead, type ScoringContext } from './qualify.ts';
import type { RescoreRequest, RescoreResponse } from './rescore-prefetch.ts';
import { countChanges, toColumns, toRescoredLead } from './rescore-result.ts';
import { historiesToReplay } from './service.ts';

/**
 * Worker thread entry of rescore-prefetch.ts: reads leads and their histories on its own
 * read-only connection, in one read transaction, and rescores them with the same code as the
 * writer's inline path (`rescoreLead`); for a dry run it only counts what would change. Writes
 * nothing.
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
    const { leads, history } = await db.transaction().execute(async (trx) => {
      // The ids are a chunk of consecutive live leads (`leadIdsAfter`): both reads take the
      // stretch of their index between its ends.
      const live = (await store.findLeadsToRescore(trx, request.workspaceId, request.ids)).filter(
        (lead) => !lead.mergedIntoId,
      );
      const ids = live.map((lead) => lead.id);
      return {
        leads: live,
        history: await historiesToReplay(trx, request.workspaceId, ids, ctx, { run: true }),
      };
    });
    // Each lead's result is reduced at once to what is sent back: keeping every rescored lead
    // of a chunk until its end cost the benchmark a fifth more CPU (113–116 s instead of 96 s).
    const rescoreOne = (lead: (typeof leads)[number]) =>
      rescoreLead(ctx, lead, history.get(lead.id) ?? [], request.now, newId);
    response =
      request.mode === 'count'
        ? {
            id: request.id,
            ok: true,
            counted: countChanges(
              ctx.model,
              leads.map((before) => ({ before, after: rescoreOne(before).lead })),
              request.now,
            ),
          }
        : {
            id: request.id,
            ok: true,
            columns: toColumns(leads.map((lead) => toRescoredLead(lead, rescoreOne(lead)))),
          };
  } catch (error) {
    response = {
      id: request.id,
      ok: false,
      error: error instanceof Error ? (error.stack ?? error.message) : String(error),
    };
  }
  // The typed arrays of the columns move to the writer instead of being copied.
  parentPort!.postMessage(
    response,
    'columns' in response ? [response.columns.numbers.buffer, response.columns.flags.buffer] : [],
  );
});
