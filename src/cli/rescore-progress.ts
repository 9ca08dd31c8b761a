import cliProgress from 'cli-progress';
import type { Services } from '../app.ts';
import type { WorkspaceContext } from '../leads/service.ts';
import type { ScoringContext } from '../scoring/qualify.ts';
import type { RescoreProgress } from '../scoring/rescore.ts';

/** How often a plain progress line is written when stderr is not a terminal (a log, CI), in ms. (2000) */
const PLAIN_LINE_MS = 2_000;

/**
 * Runs a bulk rescore in this process and waits for it: with `dryRun`, what `context`'s rules
 * would change (nothing written); else every live lead rescored with the active model. Shows
 * progress on stderr (stdout stays the command's summary): a bar on a terminal, otherwise a
 * plain line every couple of seconds. A failed run is returned with `status: 'failed'`.
 */
export async function rescoreInForeground(
  services: Services,
  workspace: WorkspaceContext,
  options: { context?: ScoringContext; dryRun?: boolean } = {},
): Promise<RescoreProgress> {
  const verb = options.dryRun ? 'checking' : 'rescoring';
  const bar = process.stderr.isTTY
    ? new cliProgress.SingleBar(
        {
          format: `${verb} [{bar}] {percentage}% | {value} of {total} leads | {duration_formatted}, ETA {eta_formatted}`,
          hideCursor: true,
          clearOnComplete: true,
          stream: process.stderr,
        },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  let barStarted = false;
  let lastLine = performance.now();
  const onProgress = (p: RescoreProgress) => {
    if (p.status !== 'running' || p.total === 0) return;
    if (bar) {
      // The total is known only once the run has counted the leads: start the bar then.
      if (!barStarted) bar.start(p.total, p.done);
      else bar.update(p.done);
      barStarted = true;
    } else if (performance.now() - lastLine >= PLAIN_LINE_MS) {
      lastLine = performance.now();
      process.stderr.write(
        `${verb}: ${p.done} of ${p.total} leads (${Math.floor((100 * p.done) / p.total)}%)\n`,
      );
    }
  };
  try {
    return await services.rescore.run(workspace, { ...options, onProgress });
  } finally {
    if (barStarted) bar!.stop();
  }
}

/** Summary lines `key: value`, one per entry, the form every batch command prints on stdout. */
export function summaryLines(
  title: string,
  entries: ReadonlyArray<readonly [string, string | number]>,
): string {
  return `${[title, ...entries.map(([key, value]) => `${key}: ${value}`)].join('\n')}\n`;
}

/** The counts of a finished rescore and the command's wall-clock time since `started` (`performance.now()`). */
export function rescoreEntries(
  progress: RescoreProgress,
  leadsLabel: string,
  started: number,
): Array<readonly [string, string | number]> {
  return [
    [leadsLabel, progress.done],
    ['band changes', progress.bandChanged],
    ['stage changes', progress.stageChanged],
    ['seconds', ((performance.now() - started) / 1000).toFixed(1)],
  ];
}
