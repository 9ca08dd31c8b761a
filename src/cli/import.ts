import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import cliProgress from 'cli-progress';
import { validationError } from '../errors.ts';
import { csvRows, escapeCell } from '../imports/export.ts';
import type { ImportReject } from '../imports/service.ts';
import { withServices } from './context.ts';

/** The default rejects file: next to the input, `contacts.csv` → `contacts.rejects.csv`. */
export function defaultRejectsFile(file: string): string {
  return `${file.replace(/\.csv$/i, '')}.rejects.csv`;
}

/**
 * A CSV file of rejected rows, created on the first reject: row, line, reason, then the row's
 * own columns under the input's header (escaped against formulas; a re-import strips that
 * again), so the file can be fixed and imported as it is. Waits for the disk when it lags.
 */
function rejectsWriter(file: string) {
  let out: fs.WriteStream | undefined;
  let header: readonly string[] = [];
  let failure: Error | undefined;
  const write = async (text: string) => {
    if (failure) throw failure;
    if (!out!.write(text)) await once(out!, 'drain');
  };
  return {
    setHeader(columns: readonly string[]) {
      header = columns;
    },
    async add(reject: ImportReject) {
      if (!out) {
        out = fs.createWriteStream(file);
        out.on('error', (error) => {
          failure = error;
        });
        await write(csvRows([['row', 'line', 'reason', ...header]]));
      }
      await write(
        csvRows([[String(reject.row), String(reject.line), reject.reason, ...reject.cells.map(escapeCell)]]),
      );
    },
    get used() {
      return out !== undefined;
    },
    async close() {
      if (!out) return;
      await new Promise<void>((resolve, reject) =>
        out!.end((error?: Error | null) => (error ? reject(error) : resolve())),
      );
      if (failure) throw failure;
    },
  };
}

/**
 * `leadline import FILE.csv [--workspace W] [--map "Column=field,…"] [--dry-run] [--rejects FILE]`:
 * imports a CSV export (HubSpot, Salesforce, or any file with an Email or Phone column), with
 * a progress bar when stderr is a terminal. Prints a summary on stdout; rejected rows go to the
 * rejects file. Exits 0 when the import ran, even with rejected rows.
 */
export async function runImport(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      workspace: { type: 'string', default: 'default' },
      map: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      rejects: { type: 'string' },
    },
  });
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
  const dryRun = values['dry-run'] ?? false;

  const summary = await withServices(async (services) => {
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
        dryRun,
        paths: { file: 'FILE', map: '--map' },
        onHeader: (header) => rejects.setHeader(header),
        onReject: (reject) => rejects.add(reject),
        onProgress: (bytes) => bar?.update(bytes, { mib: mib(bytes) }),
      });
    } finally {
      bar?.stop();
      await rejects.close();
    }
  });

  const seconds = summary.ms / 1000;
  const lines = [
    `${dryRun ? 'Checked' : 'Imported'} ${path.basename(file)}${dryRun ? ' (dry run: nothing was written)' : ''}`,
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
