import assert from 'node:assert/strict';
import { it } from 'node:test';
import { isDatabaseUnavailable } from './unavailable.ts';

const coded = (code: string, message = 'failed') => Object.assign(new Error(message), { code });

it('recognises a database that cannot serve now, on either engine', () => {
  for (const error of [
    coded('57P01', 'terminating connection due to administrator command'),
    coded('57P03', 'the database system is starting up'),
    coded('53300', 'sorry, too many clients already'),
    coded('08006', 'connection failure'),
    coded('55000', 'database "leadline" is not currently accepting connections'),
    new Error('Connection terminated due to connection timeout'),
    coded('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432'),
    coded('ECONNRESET'),
    new Error('Connection terminated unexpectedly'),
    new Error('timeout exceeded when trying to connect'),
    coded('SQLITE_BUSY', 'database is locked'),
    coded('SQLITE_BUSY_SNAPSHOT'),
    coded('SQLITE_FULL', 'database or disk is full'),
    coded('SQLITE_IOERR_WRITE'),
    // Conflicts between processes that outlasted the group commit's retries.
    coded('40P01', 'deadlock detected'),
    coded('40001', 'could not serialize access due to concurrent update'),
  ])
    assert.ok(isDatabaseUnavailable(error), `${(error as { code?: string }).code} ${error.message}`);
});

it('leaves every other error alone: a bug or a refused write stays what it is', () => {
  for (const error of [
    coded('23505', 'duplicate key value violates unique constraint'),
    coded('SQLITE_CONSTRAINT_UNIQUE'),
    coded('42P01', 'relation "leads" does not exist'),
    coded('55000', 'cannot refresh materialized view concurrently'),
    coded('SQLITE_ERROR', 'no such table: leads'),
    new TypeError("Cannot read properties of undefined (reading 'id')"),
    new Error('the connection string is terminated by a comment'),
    'Connection terminated',
    null,
  ])
    assert.equal(isDatabaseUnavailable(error), false, String(error));
});
