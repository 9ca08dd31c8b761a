/**
 * Durable jobs: the one way a side effect leaves the process (email, webhook, alert) and the
 * one kind of timer (SLA deadlines, task reminders). Pure types and decisions; the SQL is in
 * store.ts, the claim loop in worker.ts.
 */

/** queued: waits for `runAt`; running: claimed, `runAt` is its lease expiry; done; dead: out of attempts. */
export const jobStates = ['queued', 'running', 'done', 'dead'] as const;
export type JobState = (typeof jobStates)[number];

export interface Job<P = unknown> {
  workspaceId: string;
  id: string;
  kind: string;
  payload: P;
  /** Idempotency key: a second enqueue with the same key in the workspace adds nothing. */
  key: string | null;
  state: JobState;
  /** When a queued job is due; for a running job, when its lease runs out. (epoch ms) */
  runAt: number;
  /** Runs started so far, this one included while running. */
  attempts: number;
  maxAttempts: number;
  lastError: string | null;
  lockedBy: string | null;
  createdAt: number;
  updatedAt: number;
  finishedAt: number | null;
}

/** What a caller asks for; everything but `kind` and `payload` has a default. */
export interface JobRequest<P = unknown> {
  kind: string;
  payload: P;
  key?: string | undefined;
  /** Not before this time. (Default: now) */
  runAt?: number | undefined;
  /** (Default: the kind's, else 10) */
  maxAttempts?: number | undefined;
}

/** The job a handler receives. */
export interface RunningJob<P> {
  workspaceId: string;
  id: string;
  kind: string;
  payload: P;
  key: string | null;
  /** 1 for the first run. */
  attempt: number;
  maxAttempts: number;
  /** Aborted when the run times out or the worker shuts down past its grace period. */
  signal: AbortSignal;
}

/** How a kind of job runs. Handlers must be safe to run twice: a crash between the side effect and the completion repeats it. */
export interface JobKind<P> {
  kind: string;
  /** Checks a payload read back from the table (rows outlive code versions); returns a message when it is not valid. */
  check?: (payload: unknown) => string | undefined;
  run(job: RunningJob<P>): Promise<void>;
  /** (Default: 10) */
  maxAttempts?: number;
  /** Delay before run `attempt + 1` after run `attempt` failed. (Default: `exponentialBackoff`) */
  retryDelayMs?: (attempt: number) => number;
  /** A run longer than this is aborted and counts as failed. (Default: 60,000 ms) */
  timeoutMs?: number;
}

/** Thrown by a handler to retry at a time of its choosing (a 429's Retry-After). */
export class RetryJobLater extends Error {
  readonly delayMs: number;
  constructor(message: string, delayMs: number) {
    super(message);
    this.name = 'RetryJobLater';
    this.delayMs = delayMs;
  }
}

/** Thrown by a handler when retrying cannot help (the lead was erased): the job goes dead at once. */
export class PermanentJobFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PermanentJobFailure';
  }
}

export const DEFAULT_MAX_ATTEMPTS = 10;
export const DEFAULT_TIMEOUT_MS = 60_000;

/**
 * 2 s, 4 s, 8 s … doubling up to one hour, with ±20 % jitter so jobs that failed together
 * (a target down) do not all come back in the same instant. `random` is injectable for tests.
 */
export function exponentialBackoff(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(2_000 * 2 ** Math.max(0, attempt - 1), 3_600_000);
  return Math.round(base * (0.8 + 0.4 * random()));
}

export type FailureDecision = { state: 'queued'; runAt: number } | { state: 'dead' };

/** What becomes of a job whose run `attempt` failed with `error` at `now`. */
export function afterFailure(
  error: unknown,
  attempt: number,
  maxAttempts: number,
  now: number,
  retryDelayMs: (attempt: number) => number,
): FailureDecision {
  if (error instanceof PermanentJobFailure || attempt >= maxAttempts) return { state: 'dead' };
  const delay = error instanceof RetryJobLater ? Math.max(0, error.delayMs) : retryDelayMs(attempt);
  return { state: 'queued', runAt: now + delay };
}

/** A failure as stored on the job: short and single-line enough to list. (Max 2,000 chars) */
export function errorText(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return text.length > 2000 ? `${text.slice(0, 1997)}...` : text;
}
