import fs from 'node:fs';
import path from 'node:path';
import type { Services } from '../app.ts';
import { validationError } from '../errors.ts';
import {
  type ModelError,
  type ModelFormat,
  modelTextOf,
  modelToJson,
  modelToYaml,
  notUtf8,
  parseModelText,
} from '../scoring/model-format.ts';
import { commandArgs, USAGE_EXIT } from './arguments.ts';
import { withServices } from './context.ts';
import { rescoreEntries, rescoreInForeground, summaryLines } from './rescore-progress.ts';

/**
 * `leadline scoring export|apply|rescore`: the workspace's scoring model as a file an operator
 * keeps in version control, and the rescore that follows a change, run in the foreground.
 */
export async function runScoring(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === 'export') return exportModel(rest);
  if (sub === 'apply') return applyModel(rest);
  if (sub === 'rescore') return rescore(rest);
  throw validationError([
    { path: 'command', message: 'use "scoring export", "scoring apply FILE" or "scoring rescore"' },
  ]);
}

const formats: readonly ModelFormat[] = ['yaml', 'json'];

/** `leadline scoring export [--workspace W] [--format yaml|json]`: the active model on stdout. */
async function exportModel(args: string[]): Promise<number> {
  const parsed = commandArgs('scoring export', '[--workspace W] [--format yaml|json]', {
    args,
    options: {
      workspace: { type: 'string', default: 'default' },
      format: { type: 'string', default: 'yaml' },
    },
  });
  if (!parsed) return USAGE_EXIT;
  const { values } = parsed;
  const format = values.format as ModelFormat;
  if (!formats.includes(format))
    throw validationError([{ path: '--format', message: `must be one of: ${formats.join(', ')}` }]);
  const { model } = await withServices(
    async (services) => {
      const workspace = await services.workspaces.resolveWorkspace(values.workspace!);
      return services.scoring.activeModel(workspace.id);
    },
    { readOnly: true },
  );
  process.stdout.write(format === 'yaml' ? modelToYaml(model) : modelToJson(model));
  return 0;
}

/** The format a model file is in: by its extension, else by its content (JSON starts with `{`). */
function formatOf(file: string): ModelFormat | undefined {
  const extension = path.extname(file).toLowerCase();
  if (extension === '.json') return 'json';
  if (extension === '.yaml' || extension === '.yml') return 'yaml';
  return undefined;
}

/** `model.yaml:12:7: /behaviour/1/points: must be > 0`: the form editors and terminals link to a line. */
function errorLine(file: string, error: ModelError): string {
  const where =
    error.line === undefined ? '' : `:${error.line}${error.column === undefined ? '' : `:${error.column}`}`;
  return `  ${file}${where}: ${error.path}: ${error.message}`;
}

/**
 * `leadline scoring apply FILE [--workspace W] [--dry-run]`: checks the model in FILE (YAML or
 * JSON) and saves it as a new version, then rescores every lead in the foreground. With
 * `--dry-run` it saves nothing and counts the leads whose score band and stage would change.
 * An invalid file is reported field by field, with lines, before the database is opened.
 */
async function applyModel(args: string[]): Promise<number> {
  const parsedArgs = commandArgs('scoring apply', 'FILE [--workspace W] [--dry-run]', {
    args,
    allowPositionals: true,
    options: {
      workspace: { type: 'string', default: 'default' },
      'dry-run': { type: 'boolean', default: false },
    },
  });
  if (!parsedArgs) return USAGE_EXIT;
  const { values, positionals } = parsedArgs;
  const file = positionals[0];
  if (!file || positionals.length > 1)
    throw validationError([{ path: 'FILE', message: 'give exactly one model file (YAML or JSON)' }]);
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch {
    throw validationError([{ path: 'FILE', message: `"${file}" is not a readable file` }]);
  }
  const text = modelTextOf(bytes);
  if (text === undefined) throw validationError([{ ...notUtf8, path: 'FILE' }]);
  const parsed = parseModelText(text, formatOf(file));
  if (!parsed.ok) {
    const count = parsed.errors.length === 1 ? '1 error' : `${parsed.errors.length} errors`;
    process.stderr.write(
      `leadline: ${file} is not a valid scoring model (${count}); nothing was saved.\n` +
        `${parsed.errors.map((e) => errorLine(file, e)).join('\n')}\n`,
    );
    return 1;
  }
  const dryRun = values['dry-run'] ?? false;
  const name = path.basename(file);

  const apply = async (services: Services) => {
    const workspace = await services.workspaces.resolveWorkspace(values.workspace!);
    if (dryRun) {
      const context = { ...(await services.scoring.context(workspace)), model: parsed.model };
      const started = performance.now();
      const progress = await rescoreInForeground(services, workspace, { context, dryRun: true });
      if (progress.status === 'failed') {
        process.stderr.write(`leadline: the dry run failed: ${progress.error}\n`);
        return 1;
      }
      process.stdout.write(
        summaryLines(`Checked ${name} against workspace "${workspace.slug}" (dry run: nothing was saved)`, [
          ['active version', context.version],
          ...rescoreEntries(progress, 'leads', started),
        ]),
      );
      return 0;
    }
    const started = performance.now();
    const saved = await services.scoring.saveModel(workspace.id, parsed.model, 'cli');
    const progress = await rescoreInForeground(services, workspace);
    if (progress.status === 'failed') {
      process.stderr.write(
        `leadline: ${name} was saved as version ${saved.version}, but rescoring failed after ` +
          `${progress.done} of ${progress.total} leads: ${progress.error}\n` +
          'Run `leadline scoring rescore` to finish it.\n',
      );
      return 1;
    }
    process.stdout.write(
      summaryLines(`Applied ${name} to workspace "${workspace.slug}"`, [
        ['version', saved.version],
        ...rescoreEntries(progress, 'leads rescored', started),
      ]),
    );
    return 0;
  };
  return withServices(apply, { dryRun });
}

/**
 * `leadline scoring rescore [--workspace W]`: rescores every lead with the active model in the
 * foreground (after an interrupted `apply`, or a model saved by another process).
 */
async function rescore(args: string[]): Promise<number> {
  const parsed = commandArgs('scoring rescore', '[--workspace W]', {
    args,
    options: { workspace: { type: 'string', default: 'default' } },
  });
  if (!parsed) return USAGE_EXIT;
  const { values } = parsed;
  return withServices(async (services) => {
    const workspace = await services.workspaces.resolveWorkspace(values.workspace!);
    const { version } = await services.scoring.activeModel(workspace.id);
    const started = performance.now();
    const progress = await rescoreInForeground(services, workspace);
    if (progress.status === 'failed') {
      process.stderr.write(
        `leadline: rescoring failed after ${progress.done} of ${progress.total} leads: ${progress.error}\n`,
      );
      return 1;
    }
    process.stdout.write(
      summaryLines(`Rescored workspace "${workspace.slug}"`, [
        ['version', version],
        ...rescoreEntries(progress, 'leads rescored', started),
      ]),
    );
    return 0;
  });
}
