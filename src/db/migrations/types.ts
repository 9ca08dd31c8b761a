import type { Kysely } from 'kysely';
import type { Engine } from '../database.ts';

/** Column types that differ between the engines; everything else is written once. */
export interface ColumnTypes {
  /** JSON document: text on SQLite, jsonb on PostgreSQL. */
  json: 'text' | 'jsonb';
  /** Epoch milliseconds and other 64-bit integers. */
  int64: 'integer' | 'bigint';
}

export function columnTypes(engine: Engine): ColumnTypes {
  return engine === 'postgres' ? { json: 'jsonb', int64: 'bigint' } : { json: 'text', int64: 'integer' };
}

/** A forward-only migration. Never edit one after it has landed; add a new one. */
export interface Migration {
  name: string;
  // biome-ignore lint/suspicious/noExplicitAny: migrations run before the schema types hold.
  up(db: Kysely<any>, types: ColumnTypes, engine: Engine): Promise<void>;
}
