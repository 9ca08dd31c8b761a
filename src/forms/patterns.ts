import { RE2JS } from 're2js';

/**
 * The `validation.pattern` a form owner writes, matched on the server with RE2 (re2js, a pure
 * JavaScript port): its time grows with the input's length, never exponentially, so an
 * anonymous visitor's answer cannot stall the process every tenant shares. (A backtracking
 * RegExp took 22 s for `\w*\w*\w*\w*\w*\w*!` on 100 characters.) What RE2 cannot do in linear
 * time — backreferences, lookahead, lookbehind — is refused when the form is saved.
 *
 * Patterns are written as for HTML's `pattern` attribute: the whole value must match, and the
 * pattern must be valid JavaScript too (browsers check it in the visitor's tab). What the two
 * syntaxes spell differently (`\u00e9`) is refused rather than translated: RE2JS's translator
 * turns what it does not know into literal text (`\k<name>` becomes `k<name>`), which would
 * quietly check something else than the browser does.
 */

/**
 * Largest compiled program a pattern may have, in RE2 instructions. Matching costs up to
 * (input length × program size): a 300-character pattern of large counted repeats
 * (`(?:\w{0,999}){3}`) compiles to thousands of instructions and takes seconds on a 20,000
 * character answer. Ordinary patterns stay under 100. (1,000)
 */
export const MAX_PATTERN_PROGRAM = 1_000;
/** Compiled patterns kept for reuse; the least recently used go first. (1,000) */
const CACHE_SIZE = 1_000;

const cache = new Map<string, RE2JS>();

function compile(pattern: string): RE2JS {
  let compiled = cache.get(pattern);
  if (compiled) {
    cache.delete(pattern);
  } else {
    compiled = RE2JS.compile(pattern);
    if (cache.size >= CACHE_SIZE) {
      const oldest = cache.keys().next().value;
      if (oldest !== undefined) cache.delete(oldest);
    }
  }
  cache.set(pattern, compiled);
  return compiled;
}

/**
 * Why a pattern cannot be saved, for the person who wrote it; undefined when it can. It must be
 * a valid JavaScript pattern (browsers check it in the visitor's tab) and compile with RE2 to a
 * program of at most MAX_PATTERN_PROGRAM instructions.
 */
export function patternProblem(pattern: string): string | undefined {
  try {
    new RegExp(pattern, 'u');
  } catch {
    return 'is not a valid regular expression';
  }
  let compiled: RE2JS;
  try {
    compiled = compile(pattern);
  } catch (error) {
    const reason = (error as Error).message.replace(/^error parsing regexp: /, '');
    return `cannot be matched safely (${reason}): no backreferences, lookahead or lookbehind, and characters written as themselves rather than \\u escapes`;
  }
  if (compiled.programSize() > MAX_PATTERN_PROGRAM)
    return 'is too large to match quickly (large repeat counts): simplify it';
  return undefined;
}

/**
 * Does the whole of `text` match `pattern`? A pattern RE2 cannot compile (saved before these
 * checks) checks nothing: the visitor cannot fix the form's pattern.
 */
export function matchesPattern(pattern: string, text: string): boolean {
  let compiled: RE2JS;
  try {
    compiled = compile(pattern);
  } catch {
    return true;
  }
  // `matches` is anchored at both ends: the whole value, as HTML's `pattern` means it.
  return compiled.matches(text);
}
