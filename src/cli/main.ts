import { isDomainError } from '../errors.ts';
import { runExport } from './export.ts';
import { runImport } from './import.ts';
import { runInit } from './init.ts';
import { runJobs } from './jobs.ts';
import { runKeys } from './keys.ts';
import { runMigrate } from './migrate.ts';
import { runScoring } from './scoring.ts';
import { runServe } from './serve.ts';
import { describeFailure } from './start-errors.ts';
import { runTeams, runUsers } from './users.ts';
import { runWorker } from './worker.ts';
import { runWorkspaces } from './workspaces.ts';

const usage = `Usage: leadline <command> [options]

Commands:
  serve [--no-worker] [--concurrency N]
                                run the HTTP server (migrates first) and, unless
                                --no-worker, a job worker in the same process
  worker [--concurrency N]      run jobs only (alerts, webhooks, timers); start several
                                on PostgreSQL to share the work
  jobs list [--workspace W] [--state queued|running|done|dead] [--kind K] [--limit N]
  jobs retry ID [--workspace W] queue a dead job again
  migrate                       apply pending database migrations
  keys create --workspace W --name NAME [--scope read|write|admin]
                                create an API key; prints only the key
  workspaces create SLUG [--name NAME]
  users create --name N --email E [--timezone TZ] [--role rep|manager] [--workspace W]
                                add a sales rep or manager; prints the user's id
  users list [--workspace W]    one user a line: id, name, email, role, timezone, active
  teams create NAME --members ID[:WEIGHT],... [--workspace W]
                                a routing team (members by id or email, in turn order);
                                prints the team's id
  teams list [--workspace W]    one team a line: id, name, members as id:weight
  import FILE.csv [--workspace W] [--map "Column=field,..."] [--dry-run] [--rejects FILE]
                [--encoding E]  E: utf-8, windows-1252 (latin1)...; default: a byte order
                                mark, else UTF-8 if the start of the file is valid UTF-8
  export [--workspace W] [--format csv|jsonl] [--out FILE]
  init --preset b2b-saas|real-estate|ecommerce|services [--workspace W]
                                set the scoring model, stage rules, temperature and
                                qualification from a preset, then rescore
  scoring export [--workspace W] [--format yaml|json]
                                print the active scoring model
  scoring apply FILE [--workspace W] [--dry-run]
                                save FILE (YAML or JSON) as the next model version and
                                rescore; --dry-run counts band and stage changes only
  scoring rescore [--workspace W]
                                rescore every lead with the active model

Environment: PORT, HOST, LEADLINE_DATA_DIR, DATABASE_URL, LEADLINE_BOOTSTRAP_KEY, LOG_LEVEL`;

const commands: Record<string, (args: string[]) => Promise<number>> = {
  serve: runServe,
  worker: runWorker,
  jobs: runJobs,
  migrate: runMigrate,
  keys: runKeys,
  workspaces: runWorkspaces,
  users: runUsers,
  teams: runTeams,
  import: runImport,
  export: runExport,
  init: runInit,
  scoring: runScoring,
};

/**
 * The usage lines of one command (its subcommands, with their descriptions), or undefined for
 * a command the usage does not list.
 */
function usageOf(command: string): string | undefined {
  const lines = usage.split('\n');
  const out: string[] = [];
  let taking = false;
  for (const line of lines) {
    // A command's line starts two spaces in; its continued description much further.
    if (/^ {2}\S/.test(line)) taking = line.slice(2).split(' ')[0] === command;
    else if (!/^ {3,}\S/.test(line)) taking = false;
    if (taking) out.push(line);
  }
  return out.length > 0 ? `Usage: leadline\n${out.join('\n')}` : undefined;
}

const HELP = ['--help', '-h', 'help'];

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || HELP.includes(command)) {
    process.stdout.write(`${usage}\n`);
    return command ? 0 : 1;
  }
  // `leadline serve --help`: that command's usage, not "Unknown option '--help'".
  if ((rest.includes('--help') || rest.includes('-h')) && commands[command]) {
    process.stdout.write(`${usageOf(command) ?? usage}\n`);
    return 0;
  }
  const run = commands[command];
  if (!run) {
    process.stderr.write(`Unknown command "${command}".\n\n${usage}\n`);
    return 2;
  }
  return run(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== 0 || process.argv[2] !== 'serve') process.exitCode = code;
  },
  (error: unknown) => {
    if (isDomainError(error)) {
      process.stderr.write(`leadline: ${error.message}\n`);
      for (const e of error.errors) process.stderr.write(`  ${e.path}: ${e.message}\n`);
    } else {
      process.stderr.write(`leadline: ${describeFailure(error)}\n`);
    }
    process.exitCode = 1;
  },
);
