import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { type Browser, type BrowserContext, chromium, type Page, type Request } from 'playwright-core';
import { startApp, type TestApp } from './engines.ts';

/** Chromium the browser tests drive. (Default: Debian's package, /usr/bin/chromium) */
export const chromiumPath = process.env.LEADLINE_TEST_CHROMIUM ?? '/usr/bin/chromium';

/** Why Chromium cannot run here, or undefined when it can. */
export const chromiumProblem: string | undefined = fs.existsSync(chromiumPath)
  ? undefined
  : `no Chromium at ${chromiumPath}`;

if (chromiumProblem && process.env.CI !== 'true') {
  process.stderr.write(`# ${chromiumProblem}: the browser tests of this file are skipped.\n`);
}

/**
 * Runs `body` as a describe block when Chromium is installed. Elsewhere the block is skipped
 * with the notice printed above, except under CI=true, where a missing Chromium is a failing
 * test, never a silent skip.
 */
export function describeInBrowser(title: string, body: () => void): void {
  if (!chromiumProblem) {
    describe(title, body);
  } else if (process.env.CI === 'true') {
    describe(title, () => {
      it('finds Chromium', () => {
        throw new Error(`${chromiumProblem} under CI=true (set LEADLINE_TEST_CHROMIUM)`);
      });
    });
  }
}

/** Headless Chromium through playwright-core; the caller closes it. */
export async function launchChromium(): Promise<Browser> {
  if (chromiumProblem) throw new Error(chromiumProblem);
  return chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    // Containers often lack a usable user namespace sandbox and a large /dev/shm.
    args: ['--no-sandbox', '--disable-dev-shm-usage'],
  });
}

export interface ListeningApp {
  t: TestApp;
  /** `http://127.0.0.1:<port>`, also the app's LEADLINE_PUBLIC_URL (links in emails point here). */
  baseUrl: string;
  /** Stops taking connections, closes the app and its database. */
  close: () => Promise<void>;
}

/**
 * The app of `startApp` (SQLite, controllable clock) on a real port of 127.0.0.1, for tests
 * that need a browser or a second process to reach it. `close()` stops it.
 *
 * The app's public URL must name the port before the app is built, and a port freed to be
 * listened on again later can be taken in between by another test process. So the port is
 * held from the start: a plain TCP server listens on port 0 and hands each connection to the
 * app's HTTP server (Node's documented way to feed an http.Server sockets it did not accept).
 */
export async function startListeningApp(env: Record<string, string> = {}): Promise<ListeningApp> {
  const listener = net.createServer();
  await new Promise<void>((resolve, reject) => {
    listener.once('error', reject);
    listener.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = listener.address() as AddressInfo;
  const baseUrl = `http://127.0.0.1:${port}`;
  let t: TestApp;
  try {
    t = await startApp('sqlite', { LEADLINE_PUBLIC_URL: baseUrl, ...env });
    await t.app.ready();
  } catch (error) {
    listener.close();
    throw error;
  }
  const server = t.app.server;
  listener.on('connection', (socket) => server.emit('connection', socket));
  return {
    t,
    baseUrl,
    close: async () => {
      const stopped = new Promise<void>((resolve) => listener.close(() => resolve()));
      await t.close();
      // Keep-alive connections of a browser still open: the listener waits for every socket.
      server.closeAllConnections();
      await stopped;
    },
  };
}

/**
 * Waits until `probe` gives a value (not undefined) and returns it; fails naming `what` (read
 * at the time, so it can tell the last state seen) when `timeoutMs` passes first. For what a
 * browser does in the background (a beacon sent as a page hides, a submission stored),
 * checked every `intervalMs`. (Defaults: 10 s, every 100 ms)
 */
export async function eventually<T>(
  what: string | (() => string),
  probe: () => Promise<T | undefined>,
  { timeoutMs = 10_000, intervalMs = 100 } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) {
      throw new Error(`${typeof what === 'string' ? what : what()}: not within ${timeoutMs} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

let markers = 0;

/**
 * The requests a browser context makes to `pathname` (on any origin), collected as they are
 * made. `settle(page)` has the page fetch a marker address and waits until the browser reports
 * it: a page's requests are reported in the order it makes them, so whatever it sent before is
 * in `seen` by then. What lets a test say "nothing was sent" without sleeping.
 */
export function watchRequests(context: BrowserContext, pathname: string) {
  const seen: Request[] = [];
  context.on('request', (request) => {
    if (new URL(request.url()).pathname === pathname) seen.push(request);
  });
  return {
    seen,
    async settle(page: Page): Promise<void> {
      const marker = `/__settled-${++markers}`;
      await Promise.all([
        context.waitForEvent('request', (request) => new URL(request.url()).pathname === marker),
        page.evaluate(`fetch(${JSON.stringify(marker)}).catch(function () {})`),
      ]);
    },
  };
}

/** Starts a listening app in `before` and closes it in `after`; call the getter inside tests. */
export function useListeningApp(env?: Record<string, string>): () => ListeningApp {
  let current: ListeningApp | undefined;
  before(async () => {
    current = await startListeningApp(env);
  });
  after(async () => current?.close());
  return () => {
    if (!current) throw new Error('the app did not start');
    return current;
  };
}

/** Launches Chromium in `before` and closes it in `after`; call the getter inside tests. */
export function useChromium(): () => Browser {
  let current: Browser | undefined;
  before(async () => {
    current = await launchChromium();
  });
  after(async () => current?.close());
  return () => {
    if (!current) throw new Error('Chromium did not start');
    return current;
  };
}

export interface Site {
  /** `http://localhost:<port>`: another origin than the app's 127.0.0.1 one. */
  origin: string;
  /** The absolute URL of one of the site's paths, e.g. `url('/?utm_source=x')`. */
  url: (pathAndQuery: string) => string;
  /** Replaces or adds a page while the site runs. */
  set: (path: string, html: string) => void;
  close: () => Promise<void>;
}

/**
 * A second origin, like a customer's website: node:http on localhost:<port> serving the given
 * HTML pages by path (query strings ignored); any other path is a 404.
 */
export async function serveSite(pages: Record<string, string>): Promise<Site> {
  const content = new Map(Object.entries(pages));
  const server = http.createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    const html = content.get(path);
    if (html === undefined) {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    response
      .writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' })
      .end(html);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const origin = `http://localhost:${port}`;
  return {
    origin,
    url: (pathAndQuery) => `${origin}${pathAndQuery}`,
    set: (path, html) => void content.set(path, html),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
