import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { DatabaseOptions } from '../../src/db/database.ts';

/** The repository root, the project's Node 24 and the CLI entry the CLI tests spawn. */
export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const node = path.join(root, 'node_modules/.bin/node');
export const main = path.join(root, 'src/cli/main.ts');

const folders: string[] = [];
after(() => {
  for (const folder of folders) fs.rmSync(folder, { recursive: true, force: true });
});

/** A new temporary folder, removed when the test file ends. */
export function tempFolder(prefix: string): string {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  folders.push(folder);
  return folder;
}

export interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `leadline …args` on the data folder `dir` to its end. */
export function leadline(dir: string, args: string[]): Promise<Finished> {
  // Never the caller's PostgreSQL or key: these tests own their data folder.
  const { DATABASE_URL: _db, LEADLINE_BOOTSTRAP_KEY: _key, ...inherited } = process.env;
  const child = spawn(node, [main, ...args], {
    cwd: root,
    env: { ...inherited, LEADLINE_DATA_DIR: path.join(dir, 'data'), LOG_LEVEL: 'warn' },
  });
  const out = { stdout: '', stderr: '' };
  child.stdout.on('data', (c: Buffer) => {
    out.stdout += c.toString('utf8');
  });
  child.stderr.on('data', (c: Buffer) => {
    out.stderr += c.toString('utf8');
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, ...out }));
  });
}

/** The environment that points a `leadline` process at a test's database (see freshDatabase). */
export function databaseEnv(options: DatabaseOptions): Record<string, string> {
  if (options.databaseUrl) {
    const schema = encodeURIComponent(`-c search_path=${options.pgSchema}`);
    return { DATABASE_URL: `${options.databaseUrl}?options=${schema}` };
  }
  return { LEADLINE_DATA_DIR: path.dirname(options.sqliteFile!) };
}
