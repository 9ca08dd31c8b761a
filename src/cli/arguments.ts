import { type ParseArgsConfig, parseArgs } from 'node:util';

/** The exit status of a command given arguments it does not take (as main's unknown command). */
export const USAGE_EXIT = 2;

/** What `parseArgs` returns for `config`. */
type Parsed<T extends ParseArgsConfig> = ReturnType<typeof parseArgs<T>>;

/** Whether `parseArgs` refused the arguments (an unknown option, a missing value…). */
function isArgumentError(error: unknown): error is Error {
  const code = (error as { code?: unknown } | null)?.code;
  return error instanceof Error && typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_');
}

/**
 * A command's arguments by `parseArgs`, or, when it refuses them, undefined after one line on
 * stderr: the first sentence of its reason, then the command's usage (`synopsis`, as in main's
 * usage text). Without it the user sees a TypeError's stack.
 */
export function commandArgs<T extends ParseArgsConfig>(
  command: string,
  synopsis: string,
  config: T,
): Parsed<T> | undefined {
  try {
    return parseArgs(config);
  } catch (error) {
    if (!isArgumentError(error)) throw error;
    // parseArgs' reasons go on with advice about '--' ("To specify a positional argument…").
    const reason = error.message.split(/(?<=\.) /)[0]!.replace(/\.?$/, '.');
    const usage = synopsis === '' ? command : `${command} ${synopsis}`;
    process.stderr.write(`leadline ${command}: ${reason} Usage: leadline ${usage}\n`);
    return undefined;
  }
}

/**
 * `commandArgs` for a command with subcommands (`users create`, `users list`), `synopses` being
 * each one's usage after its name. A refusal shows the usage of the subcommand the arguments
 * start with, else of them all, as alternatives.
 */
export function subcommandArgs<T extends ParseArgsConfig>(
  command: string,
  synopses: Readonly<Record<string, string>>,
  config: T,
): Parsed<T> | undefined {
  const sub = config.args?.[0];
  if (sub !== undefined && Object.hasOwn(synopses, sub))
    return commandArgs(`${command} ${sub}`, synopses[sub]!, config);
  const all = Object.entries(synopses).map(([name, synopsis]) => `${name} ${synopsis}`.trimEnd());
  return commandArgs(command, all.join(' | '), config);
}
