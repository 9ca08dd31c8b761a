import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import cliProgress from 'cli-progress';
import type { Services } from '../app.ts';
import { validationError } from '../errors.ts';
import { csvRows, escapeCell, escapeFileCell } from '../imports/export.ts';
import { isRejectsHeader, rejectsColumns } from '../imports/model.ts';
import type { ImportReject } from '../imports/service.ts';
import { commandArgs, USAGE_EXIT } from './arguments.ts';
import { withServices } from './context.ts';

/** The default rejects file: next to the input, `contacts.csv` → `contacts.rejects.csv`. */
export function defaultRejectsFile(file: string): string {
  return `${file.replace(/\.csv$/i, '')}.rejects.csv`;
}

/** How `leadline import` is called, as main's usage text shows it. */
const SYNOPSIS =
  'FILE.csv [--workspace W] [--map "Column=field,..."] [--encoding E] [--dry-run] [--rejects FILE]';

/**
 * Why the rejects file cannot be written, if it cannot: checked before the import starts, as
 * the file is only created on the first reject, after rows may have been written.
 */
function rejectsFileProblem(file: string, input: string): string | undefined {
  if (path.resolve(file) === path.resolve(input)) return 'is the file being imported';
  const folder = path.dirname(file);
  try {
    const existing = fs.statSync(file, { throwIfNoEntry: false });
    if (existing && !existing.isFile()) return 'is not a file';
    const source = fs.statSync(input);
    if (existing && existing.ino === source.ino && existing.dev === source.dev)
      return 'is the file being imported';
    // Replaced or removed later: only a file an earlier import wrote, never anyone's own file.
    if (existing && !isRejectsFile(file))
      return 'already exists and is not a rejects file: name another with --rejects';
    if (!existing && !fs.statSync(folder, { throwIfNoEntry: false })?.isDirectory())
      return `cannot be written: there is no folder ${folder}`;
    fs.accessSync(existing ? file : folder, fs.constants.W_OK);
    return undefined;
  } catch (error) {
    // EACCES, or ENOTDIR for a path through a file ("notes.txt/r.csv").
    return `cannot be written (${(error as NodeJS.ErrnoException).code ?? String(error)})`;
  }
}

/** Whether the file starts as a rejects file does (`row,line,reason,…`): one an import wrote. */
function isRejectsFile(file: string): boolean {
  const start = Buffer.alloc(64);
  const fd = fs.openSync(file, 'r');
  try {
    const text = start.subarray(0, fs.readSync(fd, start, 0, start.length, 0)).toString('utf8');
    return new RegExp(`^\uFEFF?${rejectsColumns.join(',')}(,|\r|\n|$)`).test(text);
  } finally {
    fs.closeSync(fd);
  }
}

/** Refuses a rejects file that cannot be written (see `rejectsFileProblem`). */
function checkRejectsFile(file: string, input: string): void {
  const problem = rejectsFileProblem(file, input);
  if (problem) throw validationError([{ path: '--rejects', message: `"${file}" ${problem}` }]);
}

/**
 * A CSV file of rejected rows, created on the first reject: row, line, reason, then the row's
 * own columns under the input's header (escaped against formulas; a re-import strips that
 * again), so the file can be fixed and imported as it is: the importer skips the first three
 * columns of such a file (`rejectsColumns`), and the rejects of a rejects file do not repeat
 * them. Waits for the disk when it lags. An import that reads the file and rejects no row
 * removes the rejects file an earlier import left (see `close`).
 */
function rejectsWriter(file: string) {
  let out: fs.WriteStream | undefined;
  let header: readonly string[] | undefined;
  /** Leading columns of the input left out: an earlier rejects file's row, line and reason. */
  let skip = 0;
  let failure: Error | undefined;
  const write = async (text: string) => {
    if (failure) throw failure;
    if (!out!.write(text)) await once(out!, 'drain');
  };
  return {
    setHeader(columns: readonly string[]) {
      skip = isRejectsHeader(columns) ? rejectsColumns.length : 0;
      header = columns.slice(skip);
    },
    async add(reject: ImportReject) {
      if (!out) {
        out = fs.createWriteStream(file);
        out.on('error', (error) => {
          failure = error;
        });
        await write(csvRows([[...rejectsColumns, ...(header ?? []).map(escapeFileCell)]]));
      }
      const cells = reject.cells.slice(skip).map(escapeFileCell);
      await write(csvRows([[String(reject.row), String(reject.line), escapeCell(reject.reason), ...cells]]));
    },
    /**
     * Ends the file. Without a reject, once the import has read the header, a file at the path
     * (an earlier import's rejects) is removed: left there, it would be read as this import's.
     * An import refused before its header (a bad --map, an unreadable file) leaves it alone.
     */
    async close() {
      if (!out) {
        if (header !== undefined && fs.existsSync(file) && isRejectsFile(file)) fs.rmSync(file);
        return;
      }
      await new Promise<void>((resolve, reject) =>
        out!.end((error?: Error | null) => (error ? reject(error) : resolve())),
      );
      if (failure) throw failure;
    },
  };
}

/**
 * `leadline import FILE.csv [--workspace W] [--map "Column=field,…"] [--encoding E] [--dry-run]
 * [--rejects FILE]`: imports a CSV export (HubSpot, Salesforce, or any file with an Email or
 * Phone column), with a progress bar when stderr is a terminal. `--encoding` names the file's
 * encoding (windows-1252, utf-8…); without it, it is guessed from the file's start. Prints a
 * summary on stdout; rejected rows go to the rejects file, which is removed when no row is
 * rejected, so it never holds an earlier import's rejects. Exits 0 when the import ran, even
 * with rejected rows.
 */
export async function runImport(args: string[]): Promise<number> {
  const parsed = commandArgs('import', SYNOPSIS, {
    args,
    allowPositionals: true,
    options: {
      workspace: { type: 'string', default: 'default' },
      map: { type: 'string' },
      encoding: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      rejects: { type: 'string' },
    },
  });
  if (!parsed) return USAGE_EXIT;
  const { values, positionals } = parsed;
  const file = positionals[0];
  if (!file || positionals.length > 1)
    throw validationError([{ path: 'FILE', message: 'give exactly one CSV file to import' }]);
  let size: number;
  try {
    const stat = fs.statSync(file);
    if (!stat.isFile()) throw new Error('not a file');
    size = stat.size;
  } catch {
    throw validationError([{ path: 'FILE', message: `"${file}" is not a readable file` }]);
  }
  const rejectsFile = values.rejects ?? defaultRejectsFile(file);
  checkRejectsFile(rejectsFile, file);
  const dryRun = values['dry-run'] ?? false;

  const importFile = async (services: Services) => {
    const workspace = await services.workspaces.resolveWorkspace(values.workspace!);
    const rejects = rejectsWriter(rejectsFile);
    const bar = process.stderr.isTTY
      ? new cliProgress.SingleBar(
          {
            format:
              'importing [{bar}] {percentage}% | {mib} of {totalMib} MiB | {duration_formatted}, ETA {eta_formatted}',
            hideCursor: true,
            clearOnComplete: true,
            stream: process.stderr,
          },
          cliProgress.Presets.shades_classic,
        )
      : undefined;
    const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
    bar?.start(size, 0, { mib: mib(0), totalMib: mib(size) });
    try {
      return await services.imports.importCsv(fs.createReadStream(file), {
        workspace,
        map: values.map,
        encoding: values.encoding,
        dryRun,
        paths: { file: 'FILE', map: '--map', encoding: '--encoding' },
        onHeader: (header) => rejects.setHeader(header),
        onReject: (reject) => rejects.add(reject),
        onProgress: (bytes) => bar?.update(bytes, { mib: mib(bytes) }),
      });
    } finally {
      bar?.stop();
      await rejects.close();
    }
  };
  const summary = await withServices(importFile, { dryRun });

  const seconds = summary.ms / 1000;
  const lines = [
    `${dryRun ? 'Checked' : 'Imported'} ${path.basename(file)}${dryRun ? ' (dry run: no lead was written)' : ''}`,
    `rows: ${summary.rows}`,
    `created: ${summary.created}`,
    `updated: ${summary.updated}`,
    `rejected: ${summary.rejected}`,
    `seconds: ${seconds.toFixed(1)} (${Math.round(summary.rows / Math.max(seconds, 0.001))} rows/s)`,
    `rejects: ${summary.rejected > 0 ? rejectsFile : 'none'}`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}
