import { Readable } from 'node:stream';
import { type CsvError, parse } from 'csv-parse';
import type { Kysely } from 'kysely';
import type { Database } from '../db/database.ts';
import type { DB } from '../db/schema.ts';
import { type FieldError, validationError } from '../errors.ts';
import type { Lead, LeadCapture } from '../leads/model.ts';
import type { LeadService, WorkspaceContext } from '../leads/service.ts';
import { csvRows, type ExportFormat, exportHeader, jsonLine, leadCells } from './export.ts';
import {
  completeCapture,
  csvErrorMessage,
  detectDelimiter,
  firstLine,
  type ImportPlan,
  type ImportRow,
  parseColumnMap,
  planImport,
  rejectReason,
  rowInput,
} from './model.ts';

export interface ImportServiceDeps {
  database: Database;
  leads: LeadService;
  clock: () => number;
}

/** Rows per batch: one group-commit unit, parsed and written together. (1,000) */
export const BATCH_ROWS = 1000;

/**
 * Batches handed to group commit at once: they share one transaction (each in its own
 * savepoint), so one durable commit covers 16,000 rows. Most of a commit's cost is writing the
 * index pages it touched, and the leads indexes on email and created_at take rows in random
 * order: a bigger group writes each page for more rows. Measured on 100,000 HubSpot rows
 * (SQLite): 1 batch per commit wrote 3.0 GB, 8 wrote 0.8 GB, 16 wrote 0.6 GB. It also bounds
 * memory: at most two rounds (one being written, the next being read) are held. (16)
 */
const BATCHES_PER_ROUND = 8;

/** Longest record csv-parse accepts, in characters; beyond it a quote was surely never closed. (1 MiB) */
const MAX_RECORD_CHARS = 1 << 20;

/** Longest header line looked for before parsing starts, in bytes. (1 MiB) */
const MAX_HEADER_BYTES = 1 << 20;

/** Leads read per page when exporting (keyset pagination). (1,000) */
const EXPORT_PAGE = 1000;

export interface ImportOptions {
  workspace: WorkspaceContext;
  /** `--map` / `?map=`: "Column=field,Other=properties.foo,Junk=-". */
  map?: string | undefined;
  /** Validate and count (created vs updated by existing emails), write nothing. */
  dryRun?: boolean | undefined;
  /** Where errors about the file and the map point: `FILE`/`--map` on the CLI, `/body`/`/query/map` over HTTP. */
  paths?: { file: string; map: string };
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

/** One data row on its way through a batch. */
interface Entry {
  row: number;
  line: number;
  cells: string[];
  /** Absent when the row was refused before conversion (a wrong column count). */
  data?: ImportRow;
  errors?: FieldError[];
}

interface BatchResult {
  created: number;
  updated: number;
}

export type ImportService = ReturnType<typeof createImportService>;

function toBuffer(chunk: unknown): Buffer {
  return Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk), 'utf8');
}

/** Settles `promise` later: marks it handled now, so a rejection before the `await` is not fatal. */
function later<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => {});
  return promise;
}

export function createImportService({ database, leads, clock }: ImportServiceDeps) {
  /**
   * Parses one batch against the workspace's schema as `db` sees it: the valid rows become
   * captures; the others get their errors on their entry.
   */
  async function parseBatch(
    db: Kysely<DB>,
    workspace: WorkspaceContext,
    plan: ImportPlan,
    batch: Entry[],
  ): Promise<LeadCapture[]> {
    const now = clock();
    const rows = batch.filter((e) => e.data);
    const parsed = await leads.parseManyIn(
      db,
      workspace,
      rows.map((e) => e.data!.input),
      () => '',
    );
    const captures: LeadCapture[] = [];
    parsed.forEach((result, i) => {
      const entry = rows[i]!;
      const errors = result.ok ? entry.data!.errors : [...entry.data!.errors, ...result.errors];
      if (errors.length > 0) entry.errors = errors;
      else if (result.ok) captures.push(completeCapture(result.value, entry.data!, plan, now));
    });
    return captures;
  }

  /**
   * One batch in one group-commit unit: parse every row against the workspace's property
   * schema, complete the valid ones (create date, channel) and capture them together (one
   * lookup, one multi-row insert). This is `leads.captureRawManyIn` in its two steps, so the
   * import can add what the input schema has no field for between them. Rejected rows get
   * their errors on their entry; nothing of them is written.
   */
  function writeBatch(workspace: WorkspaceContext, plan: ImportPlan, batch: Entry[]): Promise<BatchResult> {
    return database.writes.run(async (trx) => {
      const captures = await parseBatch(trx, workspace, plan, batch);
      const written =
        captures.length > 0 ? await leads.captureManyIn(trx, workspace, captures, 'import') : [];
      const created = written.filter((w) => w.created).length;
      return { created, updated: written.length - created };
    });
  }

  /**
   * A dry run of one batch: the same parsing, then created vs updated by looking up which
   * emails (and phones of phone-only leads) already have a lead — or appeared earlier in the
   * file (`seen`, which grows with the file: a dry run holds one short key per distinct person).
   */
  async function countBatch(
    workspace: WorkspaceContext,
    plan: ImportPlan,
    batch: Entry[],
    seen: Set<string>,
  ): Promise<BatchResult> {
    const captures = await parseBatch(database.db, workspace, plan, batch);
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
    return { created, updated: captures.length - created };
  }

  /**
   * Imports a CSV stream: reads the header (delimiter auto-detected among comma, semicolon and
   * tab; a BOM is skipped), then parses the rows as they arrive and writes them in batches of
   * `BATCH_ROWS`, each one group-commit unit, `BATCHES_PER_ROUND` at a time. Memory stays flat
   * whatever the file's size: reading waits while a round is written (backpressure), and only
   * two rounds of rows are held. A row that breaks the CSV (wrong column count, a quote never
   * closed) is rejected like a row with bad fields, and the import goes on. Throws
   * VALIDATION_FAILED for an invalid map, an empty file or a file without a usable header.
   */
  async function importCsv(source: AsyncIterable<unknown>, options: ImportOptions): Promise<ImportSummary> {
    const started = performance.now();
    const paths = options.paths ?? { file: '/file', map: '/map' };
    const workspace = options.workspace;
    const dryRun = options.dryRun ?? false;
    const map = parseColumnMap(options.map, paths.map);
    if (!map.ok) throw validationError(map.errors, 'The column map is invalid.');

    // The header line decides the delimiter: read until it is complete.
    const chunks = source[Symbol.asyncIterator]();
    const head: Buffer[] = [];
    let bytes = 0;
    let ended = false;
    let headerLine: string | undefined;
    while (headerLine === undefined) {
      const next = await chunks.next();
      if (next.done) ended = true;
      else {
        const chunk = toBuffer(next.value);
        head.push(chunk);
        bytes += chunk.length;
        options.onProgress?.(bytes);
      }
      headerLine = firstLine(Buffer.concat(head).toString('utf8'), ended);
      if (headerLine === undefined && bytes > MAX_HEADER_BYTES)
        throw validationError([{ path: paths.file, message: 'has a first line longer than 1 MiB' }]);
    }
    if (headerLine.trim() === '')
      throw validationError(
        [{ path: paths.file, message: 'is empty: it needs a header line, then one row per lead' }],
        'The file is empty.',
      );

    const parser = parse({
      delimiter: detectDelimiter(headerLine),
      bom: true,
      info: true,
      relax_column_count: true,
      relax_quotes: true,
      skip_empty_lines: true,
      skip_records_with_error: true,
      max_record_size: MAX_RECORD_CHARS,
    });
    // Records that break the CSV arrive as 'skip' events, ahead of the records still buffered
    // in the parser: they wait here and are slotted in by line number.
    const broken: CsvError[] = [];
    let unreadable = false;
    parser.on('skip', (error: CsvError) => {
      // An unclosed quote swallows the rest of the file; report it once.
      if (unreadable) return;
      if (error.code === 'CSV_QUOTE_NOT_CLOSED' || error.code === 'CSV_MAX_RECORD_SIZE') unreadable = true;
      broken.push(error);
    });
    const feed = Readable.from(
      (async function* () {
        yield* head;
        if (ended) return;
        for (let next = await chunks.next(); !next.done; next = await chunks.next()) {
          const chunk = toBuffer(next.value);
          bytes += chunk.length;
          options.onProgress?.(bytes);
          yield chunk;
        }
      })(),
      { objectMode: false },
    );
    feed.on('error', (error) => parser.destroy(error));
    feed.pipe(parser);

    const summary: ImportSummary = { dryRun, rows: 0, created: 0, updated: 0, rejected: 0, ms: 0 };
    const seen = new Set<string>();
    let plan: ImportPlan | undefined;
    let lastLine = 0;
    let lastEmpty = 0;
    let batch: Entry[] = [];
    let round: Entry[][] = [];
    let inFlight: Promise<void> | undefined;

    /**
     * Writes a round's batches together (or counts them, one after the other: a dry run's
     * `seen` must see them in file order), then reports their rejects in file order.
     */
    async function runRound(batches: Entry[][]): Promise<void> {
      const writes = dryRun ? [] : batches.map((b) => later(writeBatch(workspace, plan!, b)));
      for (const [i, batch] of batches.entries()) {
        // A failed unit fails the import (what was committed before it stays). Group commit
        // already retries the one expected failure, a unique-index race with another process.
        const counts = await (dryRun ? countBatch(workspace, plan!, batch, seen) : writes[i]!);
        summary.created += counts.created;
        summary.updated += counts.updated;
        for (const entry of batch) if (entry.errors) await reject(entry, entry.errors);
      }
    }

    async function reject(entry: Entry, errors: FieldError[]): Promise<void> {
      summary.rejected++;
      await options.onReject?.({
        row: entry.row,
        line: entry.line,
        errors,
        reason: rejectReason(plan!, errors),
        cells: entry.cells,
      });
    }

    function take(entry: Entry): Promise<void> | undefined {
      batch.push(entry);
      if (batch.length < BATCH_ROWS) return undefined;
      round.push(batch);
      batch = [];
      if (round.length < BATCHES_PER_ROUND) return undefined;
      return flushRound();
    }

    async function flushRound(): Promise<void> {
      if (batch.length > 0) {
        round.push(batch);
        batch = [];
      }
      await inFlight;
      if (round.length > 0) {
        inFlight = later(runRound(round));
      }
      round = [];
    }

    /** A record csv-parse refused, as a rejected row at its place in the file. */
    function brokenRow(error: CsvError): Promise<void> | undefined {
      const info = error as unknown as { lines: number; empty_lines: number; record?: string[] };
      const line = lastLine + 1 + (info.empty_lines - lastEmpty);
      lastLine = info.lines;
      lastEmpty = info.empty_lines;
      if (!plan) return undefined;
      summary.rows++;
      const errors = [{ path: '/', message: csvErrorMessage(error.code, error.message) }];
      return take({ row: summary.rows, line, cells: info.record ?? [], errors });
    }

    try {
      for await (const { record, info } of parser as AsyncIterable<{
        record: string[];
        info: { lines: number; empty_lines: number };
      }>) {
        while (broken.length > 0 && (broken[0]!.lines as number) < info.lines)
          await brokenRow(broken.shift()!);
        const line = lastLine + 1 + (info.empty_lines - lastEmpty);
        lastLine = info.lines;
        lastEmpty = info.empty_lines;
        if (!plan) {
          const planned = planImport(record, map.value, paths);
          if (!planned.ok) throw validationError(planned.errors, 'The file cannot be imported.');
          plan = planned.value;
          options.onHeader?.(plan.header);
          continue;
        }
        // A line of delimiters only (spreadsheets pad files with them) is no row at all.
        if (record.every((cell) => cell === '')) continue;
        summary.rows++;
        const width = plan.header.length;
        let entry: Entry;
        if (record.length < width || (record.length > width && record.slice(width).some((c) => c !== ''))) {
          const message = `has ${record.length} columns; the header has ${width}`;
          entry = { row: summary.rows, line, cells: record, errors: [{ path: '/', message }] };
        } else entry = { row: summary.rows, line, cells: record, data: rowInput(plan, record, clock()) };
        const pending = take(entry);
        if (pending) await pending;
      }
      for (const error of broken.splice(0)) await brokenRow(error);
      if (!plan)
        throw validationError(
          [{ path: paths.file, message: 'has no readable header line' }],
          'The file cannot be imported.',
        );
      await flushRound();
      await inFlight;
    } finally {
      feed.destroy();
      parser.destroy();
      await inFlight?.catch(() => {});
    }
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
