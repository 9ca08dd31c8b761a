import type { ErrorSamples, Reply } from './http.ts';

export interface LoopSample {
  /** From the request leaving the client to its response. */
  ms: number;
  /** From when the schedule said to send it (counts time the client itself fell behind). */
  fromScheduleMs: number;
}

/**
 * Sends `count` requests at `rate`/s on a timer whatever the server does (open loop: a slow
 * response does not delay the next send, so queueing shows up in the latencies). `send(i)`
 * makes the i-th request; a reply whose status is not in `ok` counts as an error.
 */
export async function openLoop(
  count: number,
  rate: number,
  send: (i: number) => Promise<Reply>,
  errors: ErrorSamples,
  ok: readonly number[] = [200],
): Promise<LoopSample[]> {
  const samples: LoopSample[] = [];
  const pending: Promise<void>[] = [];
  const interval = 1000 / rate;
  const t0 = performance.now() + 5;
  let next = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      while (next < count && t0 + next * interval <= now) {
        const scheduled = t0 + next * interval;
        pending.push(
          send(next++).then(
            (reply) => {
              if (!ok.includes(reply.status)) errors.add(`${reply.status} ${reply.body.slice(0, 200)}`);
              else samples.push({ ms: reply.ms, fromScheduleMs: performance.now() - scheduled });
            },
            (error: unknown) => errors.add(String(error)),
          ),
        );
      }
      if (next >= count) resolve();
      else setTimeout(tick, Math.max(0, t0 + next * interval - performance.now()));
    };
    tick();
  });
  await Promise.all(pending);
  return samples;
}
