import { once } from 'node:events';
import fs from 'node:fs';
import type { Writable } from 'node:stream';
import { validationError } from '../errors.ts';
import { type ExportFormat, exportFormats } from '../imports/export.ts';
import { commandArgs, USAGE_EXIT } from './arguments.ts';
import { withServices } from './context.ts';

/** Writes `text`, waiting while `out` is full (a slow disk or a reader such as `less`). */
async function write(out: Writable, text: string): Promise<void> {
  if (!out.write(text)) await once(out, 'drain');
}

/** The --out file opened for writing, or a clear refusal naming it (no folder, no permission). */
function openOut(file: string): number {
  try {
    return fs.openSync(file, 'w');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    const why = code === 'ENOENT' ? 'its folder does not exist' : code === 'EISDIR' ? 'is a folder' : code;
    throw validationError([{ path: '--out', message: `"${file}" cannot be written (${why})` }]);
  }
}

/**
 * `leadline export [--workspace W] [--format csv|jsonl] [--out FILE]`: every non-merged lead
 * of the workspace, streamed (one page of leads in memory at a time) to FILE or stdout.
 */
export async function runExport(args: string[]): Promise<number> {
  const parsed = commandArgs('export', '[--workspace W] [--format csv|jsonl] [--out FILE]', {
    args,
    options: {
      workspace: { type: 'string', default: 'default' },
      format: { type: 'string', default: 'csv' },
      out: { type: 'string' },
    },
  });
  if (!parsed) return USAGE_EXIT;
  const { values } = parsed;
  const format = values.format as ExportFormat;
  if (!exportFormats.includes(format))
    throw validationError([{ path: '--format', message: `must be one of: ${exportFormats.join(', ')}` }]);

  await withServices(
    async (services) => {
      const workspace = await services.workspaces.resolveWorkspace(values.workspace!);
      const out: Writable = values.out
        ? fs.createWriteStream('', { fd: openOut(values.out) })
        : process.stdout;
      let failure: Error | undefined;
      const onError = (error: Error) => {
        failure = error;
      };
      out.on('error', onError);
      try {
        for await (const chunk of services.imports.exportLeads(workspace.id, format)) {
          if (failure) break;
          await write(out, chunk).catch(onError);
        }
      } finally {
        if (values.out) await new Promise<void>((resolve) => out.end(resolve));
        out.off('error', onError);
      }
      // A closed pipe (`leadline export | head`) ends the export quietly.
      if (failure && (failure as NodeJS.ErrnoException).code !== 'EPIPE') throw failure;
    },
    { readOnly: true },
  );
  return 0;
}
