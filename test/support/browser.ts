import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { type Browser, chromium } from 'playwright-core';
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

/** A port of 127.0.0.1 free right now, so the app's public URL can be known before it starts. */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

export interface ListeningApp {
  t: TestApp;
  /** `http://127.0.0.1:<port>`, also the app's LEADLINE_PUBLIC_URL (links in emails point here). */
  baseUrl: string;
}

/**
 * The app of `startApp` (SQLite, controllable clock) listening on a real port of 127.0.0.1,
 * for tests that need a browser or a second process to reach it. `t.close()` stops it.
 */
export async function startListeningApp(env: Record<string, string> = {}): Promise<ListeningApp> {
  // The port is picked first so that LEADLINE_PUBLIC_URL can name it; another process taking
  // it in between is unlikely, and would fail the listen loudly rather than silently.
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const t = await startApp('sqlite', { LEADLINE_PUBLIC_URL: baseUrl, ...env });
  await t.app.listen({ port, host: '127.0.0.1' });
  return { t, baseUrl };
}

/** Starts a listening app in `before` and closes it in `after`; call the getter inside tests. */
export function useListeningApp(env?: Record<string, string>): () => ListeningApp {
  let current: ListeningApp | undefined;
  before(async () => {
    current = await startListeningApp(env);
  });
  after(async () => current?.t.close());
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
