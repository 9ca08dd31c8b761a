#!/usr/bin/env node
// Runs the compiled JavaScript in dist/ (built by `npm ci`, `npm run build` and `npm start`):
// it starts faster and uses ~20 MB less memory than stripping types at run time. Without a
// build, it falls back to the TypeScript sources (Node >= 22.18 strips types natively).
import { existsSync } from 'node:fs';

const compiled = new URL('../dist/cli/main.js', import.meta.url);
await import(existsSync(compiled) ? compiled.href : new URL('../src/cli/main.ts', import.meta.url).href);
