/**
 * Text both engines store alike. PostgreSQL's text and jsonb refuse NUL characters, and jsonb
 * refuses the escapes of lone UTF-16 surrogates; SQLite stores both. Without one rule the same
 * input is kept on one engine and a 500 on the other.
 */

/** True when PostgreSQL could not store this text: it holds a NUL or a lone surrogate. */
export function isUnstorable(text: string): boolean {
  return text.includes('\u0000') || !text.isWellFormed();
}

/** The text made storable: NULs dropped, a lone surrogate replaced by U+FFFD. */
export function storableText(text: string): string {
  return isUnstorable(text) ? text.replaceAll('\u0000', '').toWellFormed() : text;
}
