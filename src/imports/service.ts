import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../db/database.ts';
import type { Joinable, Settled } from '../db/group-commit.ts';
import type { DB } from '../db/schema.ts';
import { type FieldError, validationError } from '../errors.ts';
import type { Lead, LeadCapture } from '../leads/model.ts';
import type { LeadReactions } from '../leads/reactions.ts';
import type { LeadService, WorkspaceContext } from '../leads/service.ts';
import { checkProperties, type PropertyDefinition } from '../properties/model.ts';
import type { PropertyService } from '../properties/service.ts';
import { encodingNamed } from './encoding.ts';
import { csvRows, type ExportFormat, exportHeader, jsonLine, leadCells } from './export.ts';
import { completeCapture, type ImportPlan, parseColumnMap, rejectReason } from './model.ts';
import { decode, type ParsedRow, parseRows, type RowBatch, release } from './rows.ts';

export interface ImportServiceDeps {
  database: Database;
  leads: LeadService;
  /** The workspace's property definitions, which imported properties are checked against. */
  properties: Pick<PropertyService, 'definitionsIn'>;
  /** The other domains' checks of captures (routing: an owner must be an active user). */
  captureChecks: Pick<LeadReactions, 'checkIn'>;
  clock: () => number;
}

/**
 * Batches (of `BATCH_ROWS` rows, see rows.ts) handed to group commit at once: they share one
 * transaction (each in its own savepoint), so one durable commit covers 24,000 rows. Most of
 * a commit's cost is writing the index pages it touched, and the leads indexes on email and
 * created_at take rows in random order: a bigger group writes each page for more rows.
 * Measured on 750,000 HubSpot rows (SQLite): COMMIT took 19 s of the import's wall time with
 * 8 batches per commit, 12 s with 16, 10 s with 24, 9 s with 32. Memory bounds it: a round
 * waits as bytes (~0.7 MB a batch) while it is written, and the SQLite cache holds its dirty
 * pages; peak RSS was 283-292 MB with 8 (the rows held as objects), 284-297 MB with 24 and up
 * to 303 MB with 32. (24)
 */
const BATCHES_PER_ROUND = 24;

/** Leads read per page when exporting (keyset pagination). (1,000) */
const EXPORT_PAGE = 1000;

export interface ImportOptions {
  workspace: WorkspaceContext;
  /** `--map` / `?map=`: "Column=field,Other=properties.foo,Junk=-". */
  map?: string | undefined;
  /** Validate and count (created vs updated by existing emails), write nothing. */
  dryRun?: boolean | undefined;
  /**
   * The file's encoding, as a label ("utf-8", "windows-1252", "latin1"…) from `--encoding` or the
   * Content-Type's charset. Without one it is guessed from the file's start (see `Utf8Input`).
   */
  encoding?: string | undefined;
  /**
   * Where errors about the file, the map and the encoding point: `FILE`/`--map`/`--encoding` on
   * the CLI, `/body`/`/query/map`/`/headers/content-type` over HTTP.
   */
  paths?: { file: string; map: string; encoding: string };
  /** Called once with the header row, before any reject. */
  onHeader?: (header: readonly string[]) => void;
  /** Called for each rejected row, in file order; a returned promise is awaited (backpressure). */
  onReject?: (reject: ImportReject) => void | Promise<void>;
  /** Called as the file is read, with the bytes read so far. */
  onProgress?: (bytesRead: number) => void;
}

export interface ImportReject {
  /** 1-based data row (the header is not a row). */
  row: number;
  /** 1-based line of the file where the row starts. */
  line: number;
  errors: FieldError[];
  /** The errors in one line, naming the columns they came from. */
  reason: string;
  /** The row's cells as they were in the file. */
  cells: readonly string[];
}

export interface ImportSummary {
  dryRun: boolean;
  rows: number;
  created: number;
  updated: number;
  rejected: number;
  /** Wall time of the import, in milliseconds. */
  ms: number;
}

/** One batch checked against the workspace's property definitions. */
interface CheckedBatch {
  captures: LeadCapture[];
  /** In file order. */
  rejects: ImportReject[];
}

/** One batch to write, with what it is written under. */
interface BatchWrite {
  workspace: WorkspaceContext;
  plan: ImportPlan;
  batch: RowBatch;
}

interface BatchResult {
  created: number;
  updated: number;
  rejects: ImportReject[];
}

/**
 * A parsed row with its custom properties checked against the workspace's definitions: typed
 * as they define them, or the row gains their errors.
 */
function withPropertiesChecked(
  row: ParsedRow,
  definitions: ReadonlyMap<string, PropertyDefinition>,
  strict: boolean,
): ParsedRow {
  if (!row.capture?.properties) return row;
  const checked = checkProperties(row.capture.properties, definitions, strict);
  if (checked.ok) return { ...row, capture: { ...row.capture, properties: checked.value } };
  return { ...row, errors: [...(row.errors ?? []), ...checked.errors] };
}

export type ImportService = ReturnType<typeof createImportService>;

/** Settles `promise` later: marks it handled now, so a rejection before the `await` is not fatal. */
function later<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => {});
  return promise;
}

export function createImportService({
  database,
  leads,
  properties,
  captureChecks,
  clock,
}: ImportServiceDeps) {
  /**
   * Checks one batch of parsed rows as `leads.parseManyIn` checks API captures, in `db`: against
   * the workspace's property definitions, then the other domains' capture checks (routing: an
   * `ownerId` must be an active user), and completes the valid ones (create date, channel): they
   * become captures; the others rejects, with their cells. A capture a check refuses is a
   * rejected row like any other: left to the write, it would fail its whole round.
   */
  async function checkBatch(
    db: Kysely<DB>,
    workspace: WorkspaceContext,
    plan: ImportPlan,
    batch: RowBatch,
  ): Promise<CheckedBatch> {
    const definitions = await properties.definitionsIn(db, workspace.id);
    const strict = workspace.settings.strictProperties ?? false;
    const now = clock();
    const rows = decode<ParsedRow[]>(batch.rows).map((row) =>
      withPropertiesChecked(row, definitions, strict),
    );
    const valid = rows.filter((row) => row.capture && !row.errors);
    const refused = await captureChecks.checkIn(
      db,
      workspace,
      valid.map((row) => row.capture!),
    );
    for (const [index, errors] of refused) valid[index]!.errors = errors;

    let cells: string[][] | undefined;
    const cellsOf = (index: number) => {
      cells ??= decode<string[][]>(batch.cells);
      return cells[index]!;
    };
    let clean = 0;
    const captures: LeadCapture[] = [];
    const rejects: ImportReject[] = [];
    for (const row of rows) {
      // The cells of a row parsed without errors are in the batch's `cells`, in order.
      const index = row.cells ? -1 : clean++;
      if (row.capture && !row.errors) {
        captures.push(completeCapture(row.capture, row, plan, now));
        continue;
      }
      const errors = row.errors ?? [];
      rejects.push({
        row: row.row,
        line: row.line,
        errors,
        reason: rejectReason(plan, errors),
        cells: row.cells ?? cellsOf(index),
      });
    }
    return { captures, rejects };
  }

  /**
   * One batch in the caller's transaction: check every row against the workspace's property
   * schema, complete the valid ones and capture them together (one lookup, one multi-row
   * insert). Rejected rows are returned; nothing of them is written.
   */
  async function writeBatchIn(
    trx: Transaction<DB>,
    { workspace, plan, batch }: BatchWrite,
  ): Promise<BatchResult> {
    const { captures, rejects } = await checkBatch(trx, workspace, plan, batch);
    const written = captures.length > 0 ? await leads.captureManyIn(trx, workspace, captures, 'import') : [];
    const created = written.filter((w) => w.created).length;
    return { created, updated: written.length - created, rejects };
  }

  /**
   * A round's batches share one group-commit unit, written one after the other, without a
   * savepoint each: in a savepoint SQLite copies every page a batch changes for the first time
   * into a statement journal, and a round's batches all change the same index pages. Measured
   * on the 750,000-row import (runs taking turns): 112–113 s and 99–100 s of CPU with a
   * savepoint per batch, 96–97 s and 83–84 s without; activity inserts took half the time and
   * releasing savepoints (1.5 s) went. Should one batch fail, group commit runs each batch
   * again in a savepoint of its own, so the others are still written (see `Joinable`).
   */
  const joinedBatches: Joinable<BatchWrite, BatchResult> = {
    keyOf: ({ workspace }) => workspace.id,
    run: async (trx, items) => {
      const results: Settled<BatchResult>[] = [];
      for (const item of items) results.push({ ok: true, value: await writeBatchIn(trx, item) });
      return results;
    },
  };

  function writeBatch(workspace: WorkspaceContext, plan: ImportPlan, batch: RowBatch): Promise<BatchResult> {
    return database.writes.runJoined(joinedBatches, { workspace, plan, batch });
  }

  /**
   * A dry run of one batch: the same checks, then created vs updated by looking up which
   * emails (and phones of phone-only leads) already have a lead — or appeared earlier in the
   * file (`seen`, which grows with the file: a dry run holds one short key per distinct person).
   */
  async function countBatch(
    workspace: WorkspaceContext,
    plan: ImportPlan,
    batch: RowBatch,
    seen: Set<string>,
  ): Promise<BatchResult> {
    const { captures, rejects } = await checkBatch(database.db, workspace, plan, batch);
    const known = await leads.knownContacts(
      workspace.id,
      captures.flatMap((c) => (c.email && !seen.has(`e:${c.email}`) ? [c.email] : [])),
      captures.flatMap((c) => (c.phone && !seen.has(`p:${c.phone}`) ? [c.phone] : [])),
    );
    let created = 0;
    for (const { email, phone } of captures) {
      const byEmail = email !== undefined && (known.emails.has(email) || seen.has(`e:${email}`));
      const byPhone = !byEmail && phone !== undefined && (known.phones.has(phone) || seen.has(`p:${phone}`));
      if (!byEmail && !byPhone) created++;
      // A phone-only lead that gets an email becomes that email's lead (as capture does).
      if (email !== undefined) {
        seen.add(`e:${email}`);
        if (byPhone) {
          seen.delete(`p:${phone}`);
          known.phones.delete(phone!);
        }
      } else if (phone !== undefined) seen.add(`p:${phone}`);
    }
    return { created, updated: captures.length - created, rejects };
  }

  /**
   * Imports a CSV stream: parses it into batches of rows (`parseRows`) and writes them
   * `BATCHES_PER_ROUND` batches per group commit. Memory stays flat whatever the file's size:
   * reading waits while a round is written (backpressure), and a round waits as bytes
   * (`RowBatch`). A row that breaks the CSV (wrong column count, a quote never closed) is
   * rejected like a row with bad fields, and the import goes on. Throws VALIDATION_FAILED for
   * an invalid map, an unknown encoding, an empty file or a file without a usable header.
   */
  async function importCsv(source: AsyncIterable<unknown>, options: ImportOptions): Promise<ImportSummary> {
    const started = performance.now();
    const paths = options.paths ?? { file: '/file', map: '/map', encoding: '/encoding' };
    const workspace = options.workspace;
    const dryRun = options.dryRun ?? false;
    const map = parseColumnMap(options.map, paths.map);
    if (!map.ok) throw validationError(map.errors, 'The column map is invalid.');
    const encoding = options.encoding === undefined ? undefined : encodingNamed(options.encoding);
    if (options.encoding !== undefined && encoding === undefined)
      throw validationError(
        [
          {
            path: paths.encoding,
            message: `"${options.encoding}" is not an encoding Leadline reads (use utf-8, windows-1252, iso-8859-15, utf-16le, …)`,
          },
        ],
        'The encoding is unknown.',
      );

    const summary: ImportSummary = { dryRun, rows: 0, created: 0, updated: 0, rejected: 0, ms: 0 };
    const seen = new Set<string>();
    let plan: ImportPlan | undefined;
    let round: RowBatch[] = [];

    /**
     * Writes a round's batches together (or counts them, one after the other: a dry run's
     * `seen` must see them in file order), then reports their rejects in file order.
     */
    async function runRound(batches: RowBatch[]): Promise<void> {
      const writes = dryRun ? [] : batches.map((b) => later(writeBatch(workspace, plan!, b)));
      try {
        for (const [i, batch] of batches.entries()) {
          // A failed unit fails the import (what was committed before it stays). Group commit
          // already retries the one expected failure, a unique-index race with another process.
          const result = await (dryRun ? countBatch(workspace, plan!, batch, seen) : writes[i]!);
          summary.created += result.created;
          summary.updated += result.updated;
          for (const reject of result.rejects) {
            summary.rejected++;
            await options.onReject?.(reject);
          }
          release(batch);
        }
      } finally {
        // The import ends when the last of its writes has: none is left running behind it.
        await Promise.allSettled(writes);
      }
    }

    /** The source's chunks as bytes, reporting progress as they are read. */
    async function* bytes(): AsyncGenerator<Buffer> {
      // Not `for await`: stopping early must not destroy the caller's stream.
      const chunks = source[Symbol.asyncIterator]();
      let read = 0;
      for (let next = await chunks.next(); !next.done; next = await chunks.next()) {
        const chunk = Buffer.isBuffer(next.value) ? next.value : Buffer.from(String(next.value), 'utf8');
        read += chunk.length;
        options.onProgress?.(read);
        yield chunk;
      }
    }

    const defined = [...(await properties.definitionsIn(database.db, workspace.id)).keys()];
    const events = parseRows(
      bytes(),
      { map: map.value, paths, defaultCountry: workspace.settings.defaultCountry, encoding, defined },
      clock,
    );
    for await (const event of events) {
      if (event.type === 'header') {
        plan = event.plan;
        options.onHeader?.(plan.header);
        continue;
      }
      summary.rows += event.batch.count;
      round.push(event.batch);
      if (round.length === BATCHES_PER_ROUND) {
        await runRound(round);
        round = [];
      }
    }
    if (round.length > 0) await runRound(round);
    summary.ms = performance.now() - started;
    return summary;
  }

  /** Every non-merged lead (archived ones included), page by page in creation order. */
  async function* allLeads(workspaceId: string): AsyncGenerator<Lead[]> {
    let after: { value: number; id: string } | undefined;
    for (;;) {
      const page = await leads.list(workspaceId, {
        sort: 'createdAt',
        limit: EXPORT_PAGE,
        includeArchived: true,
        after,
      });
      if (page.length > 0) yield page;
      if (page.length < EXPORT_PAGE) return;
      const last = page.at(-1)!;
      after = { value: last.createdAt, id: last.id };
    }
  }

  /**
   * Streams a workspace's leads as CSV or JSON lines, one page of leads in memory at a time
   * (keyset pagination). CSV needs its columns before the first row: a first pass collects the
   * custom property keys (a set of names, not the leads), the second writes the rows. A lead
   * created between the passes with a property no other lead has exports without it.
   */
  async function* exportLeads(workspaceId: string, format: ExportFormat): AsyncGenerator<string> {
    if (format === 'jsonl') {
      for await (const page of allLeads(workspaceId)) yield page.map(jsonLine).join('');
      return;
    }
    const keys = new Set<string>();
    for await (const page of allLeads(workspaceId))
      for (const lead of page) for (const key of Object.keys(lead.properties)) keys.add(key);
    const propertyKeys = [...keys].sort();
    yield csvRows([exportHeader(propertyKeys)]);
    for await (const page of allLeads(workspaceId))
      yield csvRows(page.map((lead) => leadCells(lead, propertyKeys)));
  }

  return { importCsv, exportLeads };
}
