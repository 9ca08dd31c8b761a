import SQLite from 'better-sqlite3';

/**
 * Loading generated rows into a SQLite file as fast as SQLite allows, for benchmark setup only
 * (never the product's way, and never measured): no journal, no syncs, a 1 GiB page cache, and
 * the secondary indexes of the loaded tables dropped before and rebuilt after (one sort per
 * index instead of millions of random B-tree inserts). A crash midway leaves a corrupt file:
 * callers load into a partial file and rename it when done.
 *
 * The rebuilt indexes are byte-for-byte the product's definitions (their SQL is read back from
 * sqlite_master), only more densely packed than indexes grown one insert at a time.
 */
export function unsafeBulkLoad<T>(
  file: string,
  tables: readonly string[],
  load: (db: SQLite.Database) => T,
): T {
  const db = new SQLite(file);
  try {
    // Leaving WAL needs no other connection; the product's own mode is restored at the end.
    db.pragma('journal_mode = DELETE');
    db.pragma('journal_mode = OFF');
    db.pragma('synchronous = OFF');
    db.pragma('cache_size = -1048576');
    db.pragma('temp_store = MEMORY');
    // Worker threads for the sorts of CREATE INDEX.
    db.pragma('threads = 2');
    const indexes = db
      .prepare(
        `select name, sql from sqlite_master where type = 'index' and sql is not null and tbl_name in (${tables.map(() => '?').join(', ')})`,
      )
      .all(...tables) as Array<{ name: string; sql: string }>;
    for (const index of indexes) db.exec(`drop index "${index.name}"`);
    const result = load(db);
    for (const index of indexes) db.exec(index.sql);
    db.pragma('journal_mode = WAL');
    return result;
  } finally {
    db.close();
  }
}
