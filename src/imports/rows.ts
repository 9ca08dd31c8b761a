import { Readable } from 'node:stream';
import { type CsvError, parse } from 'csv-parse';
import { type FieldError, validationError } from '../errors.ts';
import { parseLeadInput } from '../leads/input.ts';
import type { Channel, LeadCapture } from '../leads/model.ts';
import { Utf8Input } from './encoding.ts';
import {
  type ColumnMap,
  csvErrorMessage,
  detectDelimiter,
  headerLineOf,
  type ImportPlan,
  planImport,
  rowInput,
} from './model.ts';

/**
 * The part of an import that needs no database: CSV bytes in, batches of parsed rows out, as
 * compact JSON bytes. Only the custom property check (its definitions are read in the writing
 * transaction) and the writes are left to the service.
 */

/** Rows per batch: one group-commit unit, checked and written together. (1,000) */
export const BATCH_ROWS = 1000;

/** Longest record csv-parse accepts, in characters; beyond it a quote was surely never closed. (1 MiB) */
const MAX_RECORD_CHARS = 1 << 20;

/** Longest header line looked for before parsing starts, in bytes. (1 MiB) */
const MAX_HEADER_BYTES = 1 << 20;

export interface RowSettings {
  map: ColumnMap;
  /** Where errors about the file and the map point. */
  paths: { file: string; map: string };
  /** The workspace's country for phone numbers without a country code. */
  defaultCountry: string | undefined;
  /** The encoding the file is said to be in (`encodingNamed`); guessed when undefined. */
  encoding?: string | undefined;
  /** The names of the workspace's defined properties: a column named so fills that property. */
  defined?: readonly string[];
}

/**
 * One data row, parsed and normalised as far as it can be without the workspace's property
 * definitions (`checkProperties` reads them in the writing transaction).
 */
export interface ParsedRow {
  /** 1-based data row (the header is not a row). */
  row: number;
  /** 1-based line of the file where the row starts. */
  line: number;
  /** The lead the row describes; absent when the row is refused already. */
  capture?: LeadCapture;
  /** What `completeCapture` needs besides the capture (see `ImportRow`). */
  at?: number;
  channel?: Channel;
  labelChannel?: Channel;
  /** The errors found so far: a row with any is rejected. */
  errors?: FieldError[];
  /** The row's cells as they were in the file, on rows with errors (see `RowBatch.cells`). */
  cells?: string[];
}

/**
 * A batch of rows in file order, as UTF-8 JSON. A round of batches waits for its group commit
 * in this form, outside the JavaScript heap (about 0.7 MB for 1,000 HubSpot rows, four times
 * their CSV text), rather than as objects the garbage collector keeps scanning and promoting.
 * Each batch is decoded when its unit runs.
 */
export interface RowBatch {
  /** How many rows. */
  count: number;
  /** `ParsedRow[]`. */
  rows: Uint8Array;
  /**
   * The cells of the rows without errors, in order (`string[][]`). A rejects file needs them
   * only when such a row fails the property check: they are decoded only then.
   */
  cells: Uint8Array;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A batch's rows, or cells, back from its bytes. */
export function decode<T>(bytes: Uint8Array): T {
  return JSON.parse(decoder.decode(bytes)) as T;
}

/**
 * Frees a batch's bytes now, once it is written. Left to the garbage collector, they wait for
 * a full collection: a long import's batches would pile up outside the heap meanwhile.
 */
export function release(batch: RowBatch): void {
  (batch.rows.buffer as ArrayBuffer).transfer(0);
  (batch.cells.buffer as ArrayBuffer).transfer(0);
}

export type RowEvent = { type: 'header'; plan: ImportPlan } | { type: 'batch'; batch: RowBatch };

/**
 * Parses a CSV stream into a header plan, then batches of `BATCH_ROWS` rows. Reads the header
 * first (delimiter auto-detected among comma, semicolon and tab; a BOM and blank lines before
 * it are skipped). The bytes are read in the encoding `settings` names, else the one their start
 * suggests (`Utf8Input`); a row with bytes that are not UTF-8 in a file read as UTF-8 is
 * refused, not stored with U+FFFD in their place. A row that breaks the CSV (wrong column count, a quote never closed) is a
 * row with an error, at its place in the file. `now` is the import's clock, read for each row (create dates in the future are
 * refused). Throws VALIDATION_FAILED for an empty file or one without a usable header.
 */
export async function* parseRows(
  source: AsyncIterable<Buffer>,
  settings: RowSettings,
  now: () => number,
): AsyncGenerator<RowEvent> {
  const { map, paths, defaultCountry } = settings;
  const input = new Utf8Input(settings.encoding);
  const notDecoded = () =>
    notDecodedMessage(
      input.encoding!,
      settings.encoding !== undefined && input.encoding === settings.encoding,
    );

  // The header line decides the delimiter: read until it is complete (blank lines before it
  // are skipped).
  const chunks = input.chunks(source)[Symbol.asyncIterator]();
  const head: Buffer[] = [];
  let headBytes = 0;
  let ended = false;
  let headerLine: string | undefined;
  while (headerLine === undefined) {
    const next = await chunks.next();
    if (next.done) ended = true;
    else {
      head.push(next.value);
      headBytes += next.value.length;
    }
    headerLine = headerLineOf(Buffer.concat(head).toString('utf8'), ended);
    if (headerLine === undefined && headBytes > MAX_HEADER_BYTES)
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
      for (let next = await chunks.next(); !next.done; next = await chunks.next()) yield next.value;
    })(),
    { objectMode: false },
  );
  feed.on('error', (error) => parser.destroy(error));
  feed.pipe(parser);

  let plan: ImportPlan | undefined;
  let rows = 0;
  const lines = new LineCounter();
  const batch = new BatchBuilder();

  /** The batch, when it is full. */
  function full(): RowBatch | undefined {
    return batch.count < BATCH_ROWS ? undefined : batch.take();
  }

  /** A record csv-parse refused, as a rejected row at its place in the file. */
  function brokenRow(error: CsvError): RowBatch | undefined {
    const info = error as unknown as { lines: number; empty_lines: number; record?: string[] };
    const line = lines.startOf(info, info.record ?? []);
    if (!plan) return undefined;
    const errors = [{ path: '/', message: csvErrorMessage(error.code, error.message) }];
    batch.add({ row: ++rows, line, errors }, info.record ?? []);
    return full();
  }

  try {
    for await (const { record, info } of parser as AsyncIterable<{
      record: string[];
      info: { lines: number; empty_lines: number };
    }>) {
      while (broken.length > 0 && (broken[0]!.lines as number) < info.lines) {
        const done = brokenRow(broken.shift()!);
        if (done) yield { type: 'batch', batch: done };
      }
      const line = lines.startOf(info, record);
      if (!plan) {
        // Blank lines before the header (csv-parse skips only the empty ones) are no header.
        if (record.every((cell) => cell.trim() === '')) continue;
        if (input.invalidBytes && hasReplacement(record))
          throw validationError(
            [{ path: paths.file, message: notDecoded() }],
            'The file cannot be imported.',
          );
        const planned = planImport(record, map, paths, settings.defined);
        if (!planned.ok) throw validationError(planned.errors, 'The file cannot be imported.');
        plan = planned.value;
        yield { type: 'header', plan };
        continue;
      }
      // A line of delimiters or spaces only (spreadsheets pad files with them) is no row at all.
      if (record.every((cell) => cell.trim() === '')) continue;
      if (input.invalidBytes && hasReplacement(record)) {
        batch.add({ row: ++rows, line, errors: [{ path: '/', message: notDecoded() }] }, record);
        const done = full();
        if (done) yield { type: 'batch', batch: done };
        continue;
      }
      batch.add(parseRow(plan, record, ++rows, line, defaultCountry, now()), record);
      const done = full();
      if (done) yield { type: 'batch', batch: done };
    }
    for (const error of broken.splice(0)) {
      const done = brokenRow(error);
      if (done) yield { type: 'batch', batch: done };
    }
    if (!plan)
      throw validationError(
        [{ path: paths.file, message: 'has no readable header line' }],
        'The file cannot be imported.',
      );
    if (batch.count > 0) yield { type: 'batch', batch: batch.take() };
  } finally {
    feed.destroy();
    parser.destroy();
  }
}

/**
 * Why a row holding bytes not valid in the file's encoding is refused (stored, they would be
 * U+FFFD, and the characters they stood for lost without a word), and how to fix the file.
 */
export function notDecodedMessage(encoding: string, named: boolean): string {
  const how = named ? 'as named' : 'as its start is';
  if (encoding === 'utf-8')
    return `has characters that are not UTF-8, in a file read as UTF-8 (${how}): save the file as UTF-8 (in Excel: "CSV UTF-8") or name its encoding, and import it again`;
  return `has bytes that are not valid ${encoding}, in a file read as ${encoding} (${how}): save the file as UTF-8 (in Excel: "CSV UTF-8") and import it again`;
}

/**
 * Whether a record holds U+FFFD, the character bytes that are not UTF-8 were decoded to. Asked
 * only once such bytes were seen: a U+FFFD in a file that is UTF-8 throughout is its own.
 */
function hasReplacement(record: readonly string[]): boolean {
  return record.some((cell) => cell.includes('\uFFFD'));
}

/**
 * The line of the file where each record starts, from csv-parse's `info` of the records in
 * file order: the line after the previous record's last, plus the empty lines skipped between.
 * csv-parse counts a CRLF inside a quoted cell as two lines (its CR, then its LF); each one is
 * taken off again, from the records after it.
 */
class LineCounter {
  #lastLine = 0;
  #lastEmpty = 0;
  #overcounted = 0;

  startOf(info: { lines: number; empty_lines: number }, cells: readonly string[]): number {
    const line = this.#lastLine + 1 + (info.empty_lines - this.#lastEmpty) - this.#overcounted;
    this.#lastLine = info.lines;
    this.#lastEmpty = info.empty_lines;
    for (const cell of cells) if (cell.includes('\r\n')) this.#overcounted += cell.split('\r\n').length - 1;
    return line;
  }
}

/**
 * One record under the header's plan: refused for a wrong column count, else converted
 * (`rowInput`) and validated and normalised (`parseLeadInput`) like an API capture.
 */
function parseRow(
  plan: ImportPlan,
  record: string[],
  row: number,
  line: number,
  defaultCountry: string | undefined,
  now: number,
): ParsedRow {
  const width = plan.header.length;
  if (record.length < width || (record.length > width && record.slice(width).some((c) => c !== ''))) {
    const message = `has ${record.length} columns; the header has ${width}`;
    return { row, line, errors: [{ path: '/', message }] };
  }
  const data = rowInput(plan, record, now);
  const parsed = parseLeadInput(data.input, { defaultCountry, now });
  if (!parsed.ok) return { row, line, errors: [...data.errors, ...parsed.errors] };
  const out: ParsedRow = { row, line, capture: parsed.value };
  if (data.at !== undefined) out.at = data.at;
  if (data.channel !== undefined) out.channel = data.channel;
  if (data.labelChannel !== undefined) out.labelChannel = data.labelChannel;
  // Still to check against the property definitions, which may add errors of their own.
  if (data.errors.length > 0) out.errors = data.errors;
  return out;
}

/**
 * Collects a batch's rows as JSON bytes, one row at a time: nothing of a row outlives it as an
 * object, so no batch of objects survives into the old generation to become its garbage. The
 * cells go with rows that have errors, or to `cells`.
 */
class BatchBuilder {
  count = 0;
  readonly #rows = new JsonArrayWriter();
  readonly #cells = new JsonArrayWriter();

  add(row: ParsedRow, cells: string[]): void {
    this.count++;
    if (row.errors) row.cells = cells;
    else this.#cells.add(cells);
    this.#rows.add(row);
  }

  /** The batch so far; the builder starts a new one. */
  take(): RowBatch {
    const batch = { count: this.count, rows: this.#rows.take(), cells: this.#cells.take() };
    this.count = 0;
    return batch;
  }
}

/** A JSON array written item by item as UTF-8 into one buffer, reused from batch to batch. */
class JsonArrayWriter {
  #buffer = new Uint8Array(1 << 18);
  #length = 0;

  add(value: unknown): void {
    this.#write(this.#length === 0 ? '[' : ',');
    this.#write(JSON.stringify(value));
  }

  /** The array's bytes, in a buffer of their own. */
  take(): Uint8Array {
    this.#write(this.#length === 0 ? '[]' : ']');
    const bytes = this.#buffer.slice(0, this.#length);
    this.#length = 0;
    return bytes;
  }

  #write(text: string): void {
    // UTF-8 takes at most 3 bytes per UTF-16 code unit.
    if (this.#length + text.length * 3 > this.#buffer.length) {
      const grown = new Uint8Array(Math.max(this.#buffer.length * 2, this.#length + text.length * 3));
      grown.set(this.#buffer.subarray(0, this.#length));
      this.#buffer = grown;
    }
    this.#length += encoder.encodeInto(text, this.#buffer.subarray(this.#length)).written;
  }
}
