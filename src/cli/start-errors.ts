/**
 * What an operator is told about an error that ended a command, when it is not a validation
 * error: a system or SQLite error (a port in use, a folder that cannot be written, a file that
 * is not a database) is one line with what to change; anything else, a bug, keeps its stack.
 */
export function describeFailure(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const { code, path: file } = error as NodeJS.ErrnoException;
  if (typeof code !== 'string') return error.stack ?? error.message;
  const hint = HINTS[code];
  const subject = file ? `${error.message.split(',')[0]} (${file})` : error.message;
  return hint ? `${subject}: ${hint}` : subject;
}

const HINTS: Record<string, string> = {
  EADDRINUSE: 'another process listens on that port; set PORT to another one',
  EADDRNOTAVAIL: 'HOST is not an address of this machine; set HOST (0.0.0.0 listens on all)',
  ENOTFOUND: 'a host name could not be resolved; check HOST and DATABASE_URL',
  EACCES:
    'permission denied; check LEADLINE_DATA_DIR (a folder this user can write) and PORT (below 1024 needs privileges)',
  EEXIST: 'a file is in the way; LEADLINE_DATA_DIR must be a folder',
  ENOTDIR: 'a file is in the way; LEADLINE_DATA_DIR must be a folder',
  EROFS: 'the file system is read-only; set LEADLINE_DATA_DIR to a writable folder',
  SQLITE_CANTOPEN:
    'the SQLite database cannot be opened; LEADLINE_DATA_DIR must be a folder this user can write',
  SQLITE_NOTADB: 'leadline.db in LEADLINE_DATA_DIR is not a SQLite database',
  SQLITE_CORRUPT: 'leadline.db in LEADLINE_DATA_DIR is damaged; restore it from a backup',
  SQLITE_READONLY: 'the SQLite database is read-only; LEADLINE_DATA_DIR must be writable',
};
