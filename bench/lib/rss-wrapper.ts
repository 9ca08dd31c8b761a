/**
 * `node bench/lib/rss-wrapper.ts OUT ARGS…`: runs the Leadline CLI with ARGS in this process and
 * writes its peak RSS to OUT at exit. Used for the import benchmark when /usr/bin/time is absent.
 */
import fs from 'node:fs';

const [out, ...args] = process.argv.slice(2);
if (!out) throw new Error('usage: rss-wrapper.ts OUT ARGS…');
process.argv = [process.argv[0]!, 'leadline', ...args];
process.on('exit', () => fs.writeFileSync(out, `maxrss_kb ${process.resourceUsage().maxRSS}\n`));
const cli = new URL('../../bin/leadline.js', import.meta.url).href;
await import(cli);
