import pg from 'pg';

/** How long a lost LISTEN connection waits before it reconnects. (1 s) */
const RELISTEN_MS = 1_000;

type OnNotify = (payload?: string) => void;

/** The connection, with the channels it LISTENs on. */
type ListeningClient = pg.Client & { listening: Set<string> };

/**
 * One PostgreSQL connection that LISTENs on every channel a process cares about (the job
 * queue, the scoring model, configuration changes): a connection each held three per process,
 * and a deployment of many processes pays for each in `max_connections`. Opened by the first
 * `listen`, closed when the last one stops, reconnected when lost; on every (re)connection each
 * handler is called once without a payload, as what was sent while nobody listened is lost.
 */
export class PostgresListener {
  readonly #connectionString: string;
  readonly #applicationName: string;
  readonly #handlers = new Map<string, Set<OnNotify>>();
  #client: ListeningClient | undefined;
  #connecting: Promise<ListeningClient> | undefined;
  #retry: NodeJS.Timeout | undefined;

  /** `applicationName`: what pg_stat_activity shows for the connection. (Default: leadline) */
  constructor(connectionString: string, applicationName = 'leadline') {
    this.#connectionString = connectionString;
    this.#applicationName = applicationName;
  }

  /** Calls `onNotify` with the payload of each NOTIFY on `channel`. Resolves to the stop. */
  async listen(channel: string, onNotify: OnNotify): Promise<() => Promise<void>> {
    let handlers = this.#handlers.get(channel);
    if (!handlers) {
      handlers = new Set();
      this.#handlers.set(channel, handlers);
    }
    handlers.add(onNotify);
    try {
      const client = await this.#connected();
      // A connection opened for this call listens on the channel already.
      if (!client.listening.has(channel)) {
        await client.query(`listen ${quoted(channel)}`);
        client.listening.add(channel);
      }
    } catch (error) {
      await this.#stop(channel, onNotify);
      throw error;
    }
    onNotify();
    return () => this.#stop(channel, onNotify);
  }

  async #stop(channel: string, onNotify: OnNotify): Promise<void> {
    const handlers = this.#handlers.get(channel);
    if (!handlers?.delete(onNotify) || handlers.size > 0) return;
    this.#handlers.delete(channel);
    if (this.#handlers.size > 0) {
      this.#client?.listening.delete(channel);
      await this.#client?.query(`unlisten ${quoted(channel)}`).catch(() => {});
      return;
    }
    clearTimeout(this.#retry);
    const client = this.#client;
    this.#client = undefined;
    await client?.end().catch(() => {});
  }

  /** The open connection, or one opened now listening on every channel wanted so far. */
  #connected(): Promise<ListeningClient> {
    if (this.#client) return Promise.resolve(this.#client);
    this.#connecting ??= this.#connect().finally(() => {
      this.#connecting = undefined;
    });
    return this.#connecting;
  }

  async #connect(): Promise<ListeningClient> {
    const client: ListeningClient = Object.assign(
      new pg.Client({ connectionString: this.#connectionString, application_name: this.#applicationName }),
      {
        listening: new Set<string>(),
      },
    );
    // A lost connection must not crash the process: polling covers the gap until it is back.
    client.on('error', () => {});
    client.on('end', () => {
      if (this.#client !== client) return;
      this.#client = undefined;
      if (this.#handlers.size > 0) this.#retry = setTimeout(() => this.#reconnect(), RELISTEN_MS).unref();
    });
    client.on('notification', (message) => {
      for (const handler of this.#handlers.get(message.channel) ?? []) handler(message.payload);
    });
    await client.connect();
    // Channels wanted while the connection opened are in the map by now; later ones add their own.
    for (const channel of this.#handlers.keys()) {
      await client.query(`listen ${quoted(channel)}`);
      client.listening.add(channel);
    }
    if (this.#handlers.size === 0) {
      // Every listener stopped while it opened.
      await client.end().catch(() => {});
      throw new Error('no channel to listen on any more');
    }
    this.#client = client;
    return client;
  }

  #reconnect(): void {
    this.#connected().then(
      () => {
        for (const handlers of this.#handlers.values()) for (const handler of handlers) handler();
      },
      () => {
        if (this.#handlers.size > 0) this.#retry = setTimeout(() => this.#reconnect(), RELISTEN_MS).unref();
      },
    );
  }
}

function quoted(channel: string): string {
  return `"${channel.replaceAll('"', '')}"`;
}
