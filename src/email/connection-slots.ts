/**
 * Counted connections of a pool: `acquire` takes a free one, or waits for one in arrival order
 * — at most `waitMs`, or until `signal` aborts — and resolves to its release (calling it again
 * does nothing). Lets a caller bound the wait it can see, where a pool's own queue waits
 * without limit.
 */
export class ConnectionSlots {
  #free: number;
  readonly #waiting: Array<(release: () => void) => void> = [];

  constructor(count: number) {
    this.#free = count;
  }

  /** A release that hands the slot to the next waiter, or frees it. */
  #release(): () => void {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const next = this.#waiting.shift();
      if (next) next(this.#release());
      else this.#free++;
    };
  }

  acquire(waitMs: number, signal: AbortSignal): Promise<() => void> {
    if (signal.aborted) return Promise.reject(reason(signal));
    if (this.#free > 0) {
      this.#free--;
      return Promise.resolve(this.#release());
    }
    return new Promise((resolve, reject) => {
      const give = (release: () => void) => {
        clearTimeout(timer);
        signal.removeEventListener('abort', abort);
        resolve(release);
      };
      const leave = (error: Error) => {
        clearTimeout(timer);
        signal.removeEventListener('abort', abort);
        const at = this.#waiting.indexOf(give);
        if (at >= 0) this.#waiting.splice(at, 1);
        reject(error);
      };
      const abort = () => leave(reason(signal));
      const timer = setTimeout(
        () => leave(new Error(`every connection stayed busy for ${waitMs} ms`)),
        waitMs,
      );
      signal.addEventListener('abort', abort, { once: true });
      this.#waiting.push(give);
    });
  }
}

function reason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error('aborted');
}
