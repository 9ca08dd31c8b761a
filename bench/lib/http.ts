import http from 'node:http';

export interface Reply {
  status: number;
  /** Milliseconds from the request being handed to the socket to the last byte of the response. */
  ms: number;
  body: string;
}

/**
 * A minimal JSON client on node:http with keep-alive sockets: cheaper per request than fetch, so
 * the client's own cost stays small next to the server's. Targets 127.0.0.1 only.
 */
export class Client {
  readonly #agent: http.Agent;
  readonly #port: number;
  readonly #auth: string;

  /** @param sockets most sockets open at once (requests beyond wait for one). */
  constructor(port: number, key: string, sockets: number) {
    this.#agent = new http.Agent({ keepAlive: true, maxSockets: sockets, maxFreeSockets: sockets });
    this.#port = port;
    this.#auth = `Bearer ${key}`;
  }

  /** POSTs a JSON text already serialised. Never rejects on HTTP errors; rejects on socket errors. */
  post(path: string, json: string): Promise<Reply> {
    return this.#request('POST', path, json, 'application/json');
  }

  /** POSTs a body of any type (a browser's form-encoded submission), with extra headers. */
  postAs(
    path: string,
    body: string,
    contentType: string,
    headers: Record<string, string> = {},
  ): Promise<Reply> {
    return this.#request('POST', path, body, contentType, headers);
  }

  /** GETs `path`. Never rejects on HTTP errors; rejects on socket errors. */
  get(path: string): Promise<Reply> {
    return this.#request('GET', path, undefined, undefined);
  }

  #request(
    method: 'GET' | 'POST',
    path: string,
    body: string | undefined,
    contentType: string | undefined,
    extra: Record<string, string> = {},
  ): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const started = performance.now();
      const headers: Record<string, string | number> = { authorization: this.#auth, ...extra };
      if (body !== undefined) {
        headers['content-type'] = contentType ?? 'application/json';
        headers['content-length'] = Buffer.byteLength(body);
      }
      const req = http.request(
        { host: '127.0.0.1', port: this.#port, method, path, agent: this.#agent, headers },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              ms: performance.now() - started,
              body: Buffer.concat(chunks).toString('utf8'),
            }),
          );
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  close(): void {
    this.#agent.destroy();
  }
}

/** Keeps the first few distinct error replies, for the report. */
export class ErrorSamples {
  count = 0;
  readonly samples: string[] = [];

  add(what: string): void {
    this.count++;
    if (this.samples.length < 5 && !this.samples.includes(what)) this.samples.push(what);
  }
}
