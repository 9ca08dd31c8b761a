import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { root } from './context.ts';

/**
 * Generated inputs that take long to build are kept between runs in
 * `$TMPDIR/leadline-bench-cache/`, named by a hash of what produced them: the generator's
 * source files and its parameters. Editing the generator (or a migration, for databases)
 * changes the name, so a stale file is never reused; old ones can be deleted at any time.
 */
export const cacheDir = path.join(os.tmpdir(), 'leadline-bench-cache');

/**
 * 12 hex digits of SHA-256 over the files (relative to the repository root; a folder stands
 * for every `.ts` file in it, sorted) and `params`.
 */
export function cacheTag(sources: readonly string[], params: string): string {
  const hash = createHash('sha256');
  for (const source of sources) {
    const full = path.join(root, source);
    const files = fs.statSync(full).isDirectory()
      ? fs
          .readdirSync(full)
          .filter((f) => f.endsWith('.ts'))
          .sort()
          .map((f) => path.join(full, f))
      : [full];
    for (const file of files) hash.update(path.relative(root, file)).update(fs.readFileSync(file));
  }
  return hash.update(params).digest('hex').slice(0, 12);
}

/**
 * The folder `cacheDir/<name>`, built by `build` into a partial folder (renamed when complete,
 * so an interrupted build is never reused) unless it holds `done` already. Other folders whose
 * name starts with `stalePrefix` (earlier versions: several GB each, never read again) and
 * partial folders of processes that died are removed first.
 */
export async function cachedFolder(
  name: string,
  stalePrefix: string,
  done: string,
  build: (partial: string) => Promise<void>,
): Promise<{ dir: string; reused: boolean }> {
  const dir = path.join(cacheDir, name);
  if (fs.existsSync(path.join(dir, done))) return { dir, reused: true };
  fs.mkdirSync(cacheDir, { recursive: true });
  for (const entry of fs.readdirSync(cacheDir)) {
    const partial = /\.partial-(\d+)$/.exec(entry);
    const stale = entry.startsWith(stalePrefix) && !partial && entry !== name;
    if (stale || (partial && entry.startsWith(stalePrefix) && !alive(Number(partial[1]))))
      fs.rmSync(path.join(cacheDir, entry), { recursive: true, force: true });
  }
  const partial = `${dir}.partial-${process.pid}`;
  fs.rmSync(partial, { recursive: true, force: true });
  fs.mkdirSync(partial, { recursive: true });
  await build(partial);
  if (!fs.existsSync(path.join(partial, done))) throw new Error(`the build did not write ${done}`);
  fs.renameSync(partial, dir);
  return { dir, reused: false };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
