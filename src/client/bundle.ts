import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { FastifyReply } from 'fastify';

/** The browser scripts Leadline serves to other sites: `src/client/<name>.ts`. */
export type ClientScriptName = 'embed' | 't';

export interface ClientScript {
  /** Minified IIFE, ES2018. */
  code: string;
  /** Strong ETag (quoted), from the code's SHA-256. */
  etag: string;
  /** Size of the gzipped code, in bytes: what a site's visitors download. */
  gzipBytes: number;
  /** The gzipped code, sent as is to clients that accept gzip. */
  gzip: Buffer;
}

/**
 * The package root: the nearest folder above this file with a package.json. The same whether
 * the server runs from src/ (node strips types) or from dist/ (compiled): the browser sources
 * are always read from `<root>/src/client`, since dist/ holds no .ts to bundle.
 */
function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir)
      throw new Error('No package.json above src/client/bundle: cannot find the client sources.');
    dir = parent;
  }
}

async function build(name: ClientScriptName): Promise<ClientScript> {
  // Imported on first use: a worker process or a CLI command never pays for loading esbuild.
  const esbuild = await import('esbuild');
  const result = await esbuild.build({
    entryPoints: [path.join(packageRoot(), 'src', 'client', `${name}.ts`)],
    bundle: true,
    minify: true,
    format: 'iife',
    // Every browser still in use; older ones get nothing rather than a broken page.
    target: 'es2018',
    platform: 'browser',
    write: false,
    legalComments: 'none',
    logLevel: 'silent',
  });
  const code = result.outputFiles[0]?.text;
  if (code === undefined) throw new Error(`esbuild produced no output for src/client/${name}.ts`);
  const gzip = gzipSync(code, { level: 9 });
  const etag = `"${createHash('sha256').update(code).digest('base64url').slice(0, 27)}"`;
  return { code, etag, gzipBytes: gzip.length, gzip };
}

const cache = new Map<ClientScriptName, Promise<ClientScript>>();

/**
 * The bundled script, built once per process (the sources do not change under a running
 * server). A failed build is not cached, so the next request tries again.
 */
export function clientScript(name: ClientScriptName): Promise<ClientScript> {
  let entry = cache.get(name);
  if (!entry) {
    entry = build(name);
    cache.set(name, entry);
    entry.catch(() => cache.delete(name));
  }
  return entry;
}

/** True when an If-None-Match header names this ETag (or is `*`); weak comparison, as RFC 9110 wants for it. */
function matches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  return ifNoneMatch
    .split(',')
    .map((tag) => tag.trim().replace(/^W\//, ''))
    .some((tag) => tag === '*' || tag === etag);
}

/**
 * Sends the script: `text/javascript`, cached by browsers and CDNs for 5 minutes (a deploy
 * reaches sites within that), revalidated with the ETag (304), gzipped when the client accepts it.
 */
export async function serveClientScript(reply: FastifyReply, name: ClientScriptName): Promise<FastifyReply> {
  const script = await clientScript(name);
  const request = reply.request;
  const acceptsGzip = /\bgzip\b/.test(String(request.headers['accept-encoding'] ?? ''));
  // The gzipped bytes are another representation: a strong ETag of their own (RFC 9110 8.8.3).
  const etag = acceptsGzip ? `${script.etag.slice(0, -1)}-gz"` : script.etag;
  reply
    .header('content-type', 'text/javascript; charset=utf-8')
    .header('cache-control', 'public, max-age=300')
    .header('etag', etag)
    .header('vary', 'accept-encoding')
    // Loaded by <script> tags on other sites' pages.
    .header('cross-origin-resource-policy', 'cross-origin');
  if (matches(request.headers['if-none-match'], etag)) return reply.code(304).send();
  if (acceptsGzip) return reply.header('content-encoding', 'gzip').send(script.gzip);
  return reply.send(script.code);
}
