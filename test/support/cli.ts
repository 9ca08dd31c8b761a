import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after } from 'node:test';
import { fileURLToPath } from 'node:url';

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
