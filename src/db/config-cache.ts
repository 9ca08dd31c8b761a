import type { Kysely } from 'kysely';
import type { Database } from './database.ts';
import { notify } from './notify.ts';
import type { DB } from './schema.ts';

/**
 * What a process caches because every capture or event reads it, keyed by workspace id (forms
 * by public slug). Each has its cache in its own service; a change is announced under its kind.
 */
export type ConfigKind =
  | 'workspace'
  | 'apiKeys'
  | 'properties'
  | 'routing'
  | 'webhooks'
  | 'alerts'
  | 'sla'
  | 'tracking'
  | 'forms';

/**
 * NOTIFY channel on which a process that changed cached configuration tells the others, with
 * `kind:key` as payload (the scoring model has its own channel, `scoring_model`).
 */
const CONFIG_CHANNEL = 'config_changed';

/**
 * Tells every process (this one too) that `kind` of `key` changed, as `trx` commits
 * (PostgreSQL): each forgets what it cached of it, and its next read sees the change. On SQLite
 * nothing: caches there expire by time (processes beside the server are CLI commands).
 */
export async function announceChange(
  trx: Kysely<DB>,
  database: Pick<Database, 'engine' | 'channel'>,
  kind: ConfigKind,
  key: string,
): Promise<void> {
  if (database.engine === 'postgres') await notify(trx, database.channel(CONFIG_CHANNEL), `${kind}:${key}`);
}

/**
 * Calls `forget[kind](key)` for each change a process announces (announceChange), and
 * every `forget[kind]()` when the listening connection (re)connects, as changes sent while it
 * was down are lost. PostgreSQL; a no-op on SQLite. Resolves to the stop.
 */
export function listenForConfigChanges(
  database: Pick<Database, 'listen' | 'channel'>,
  forget: Record<ConfigKind, (key?: string) => void>,
): Promise<() => Promise<void>> {
  return database.listen(database.channel(CONFIG_CHANNEL), (payload) => {
    if (!payload) {
      for (const each of Object.values(forget)) each();
      return;
    }
    const colon = payload.indexOf(':');
    const kind = payload.slice(0, colon);
    // A kind this version does not cache (a newer process beside it) is nothing to forget.
    if (Object.hasOwn(forget, kind)) forget[kind as ConfigKind](payload.slice(colon + 1));
  });
}

/**
 * A per-process cache of configuration of one kind, by key. Entries are forgotten when this
 * process changes what they hold (`changedIn`, in the writing unit) or another announces a
 * change (see `listenForConfigChanges`), and expire after `ttlMs` anyway: the bound on staleness
 * while the listening connection is down. At most `limit` entries (then it starts afresh).
 */
export class ConfigCache<T> {
  readonly #entries = new Map<string, { value: T; until: number }>();
  /**
   * Counts `forget` calls. A value read before a forget may predate the change (its query ran
   * before the commit, its answer came after the word of it): it is returned but not kept.
   */
  #forgets = 0;
  readonly #kind: ConfigKind;
  readonly #database: Pick<Database, 'engine' | 'channel'>;
  readonly #ttlMs: number;
  readonly #clock: () => number;
  readonly #limit: number;

  constructor(options: {
    kind: ConfigKind;
    database: Pick<Database, 'engine' | 'channel'>;
    ttlMs: number;
    clock: () => number;
    limit?: number;
  }) {
    this.#kind = options.kind;
    this.#database = options.database;
    this.#ttlMs = options.ttlMs;
    this.#clock = options.clock;
    this.#limit = options.limit ?? 10_000;
  }

  /**
   * What `trx` changed of `key`: forgotten here at once (the later units of its group commit
   * read the change) and, on PostgreSQL, in every process as `trx` commits, this one too: a
   * read outside the transaction in between, which still saw the old value, is not kept.
   */
  async changedIn(trx: Kysely<DB>, key: string): Promise<void> {
    this.forget(key);
    await announceChange(trx, this.#database, this.#kind, key);
  }

  /** The value cached for `key`, else what `load` reads (kept for the next reads). */
  async read(key: string, load: () => Promise<T>): Promise<T> {
    const cached = this.peek(key);
    if (cached) return cached.value;
    const mark = this.mark();
    const value = await load();
    this.set(key, value, mark);
    return value;
  }

  /** The entry for `key` while it holds; undefined when there is none or it expired. */
  peek(key: string): { value: T } | undefined {
    const entry = this.#entries.get(key);
    return entry && entry.until > this.#clock() ? entry : undefined;
  }

  /** Taken before reading a value to `set`. */
  mark(): number {
    return this.#forgets;
  }

  /** Keeps `value` for `key`, unless something was forgotten since `mark` (see `#forgets`). */
  set(key: string, value: T, mark = this.#forgets): void {
    if (mark !== this.#forgets) return;
    if (this.#entries.size >= this.#limit) this.#entries.clear();
    this.#entries.set(key, { value, until: this.#clock() + this.#ttlMs });
  }

  /** Forgets `key`, or every entry without one. */
  forget(key?: string): void {
    this.#forgets++;
    if (key === undefined) this.#entries.clear();
    else this.#entries.delete(key);
  }
}
