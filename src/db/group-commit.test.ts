import assert from 'node:assert/strict';
import { after, before, describe, it, type TestContext } from 'node:test';
import SQLite from 'better-sqlite3';
import { type Kysely, sql } from 'kysely';
import { describeEachEngine, freshDatabase } from '../../test/support/engines.ts';
import { type Database, openDatabase } from './database.ts';
import { GroupCommit, type Joinable } from './group-commit.ts';
import { migrateToLatest } from './migrate.ts';
import type { DB } from './schema.ts';

/**
 * Group commit on real databases: a second connection (`observer`) sees only what has been
 * committed, which is how these tests tell one transaction from several.
 */

function deferred() {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

/** Lets queued microtasks and I/O run, so concurrent `run` calls reach the queue. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

async function insert(db: Kysely<DB>, id: string): Promise<void> {
  await sql`insert into gc_items (id) values (${id})`.execute(db);
}

async function count(db: Kysely<DB>, pattern: string): Promise<number> {
  const { rows } = await sql<{
    n: number | string;
  }>`select count(*) as n from gc_items where id like ${pattern}`.execute(db);
  return Number(rows[0]!.n);
}

describeEachEngine('GroupCommit', (engine) => {
  let database: Database;
  let observer: Database;
  let drop: () => Promise<void>;
  let sqliteFile = '';

  before(async () => {
    const fresh = await freshDatabase(engine);
    drop = fresh.drop;
    sqliteFile = fresh.options.sqliteFile ?? '';
    database = openDatabase(fresh.options);
    const migration = await migrateToLatest(database);
    assert.ifError(migration.error);
    observer = openDatabase(fresh.options);
    await sql`create table gc_items (id text primary key)`.execute(database.db);
    await sql`create table gc_parent (id text primary key)`.execute(database.db);
    // Checked only at commit: the way to make a commit itself fail.
    await sql`create table gc_child (id text primary key, parent_id text not null references gc_parent (id) deferrable initially deferred)`.execute(
      database.db,
    );
    // SQLite enforces foreign keys only when asked, per connection (the app's has one).
    if (engine === 'sqlite') await sql`pragma foreign_keys = on`.execute(database.db);
  });

  after(async () => {
    await observer?.close();
    await database?.close();
    await drop?.();
  });

  /** Queues the units `queue` starts behind one that holds the writer, so they form one group; their outcomes. */
  async function asOneGroup(queue: () => Promise<unknown>[]): Promise<PromiseSettledResult<unknown>[]> {
    const gate = deferred();
    const blocker = database.writes.run(async () => gate.promise);
    await settle();
    const outcomes = Promise.allSettled(queue());
    await settle();
    gate.open();
    await blocker;
    return outcomes;
  }

  it('runs concurrent units in one transaction and answers each only after it committed', async () => {
    const gate = deferred();
    // The first unit holds its group open, so the next five queue up and form one group.
    const blocker = database.writes.run(async (trx) => {
      await insert(trx, 'together-blocker');
      await gate.promise;
    });
    await settle();
    const seenInside: number[] = [];
    let seenOutside = -1;
    const units = Array.from({ length: 5 }, (_, i) =>
      database.writes.run(async (trx) => {
        await insert(trx, `together-${i}`);
        seenInside.push(await count(trx, 'together-_'));
        if (i === 4) seenOutside = await count(observer.db, 'together-_');
        return i;
      }),
    );
    await settle();
    assert.equal(await count(observer.db, 'together-%'), 0, 'nothing is visible before the commit');
    gate.open();
    await blocker;
    const first = await units[0]!;
    assert.equal(first, 0);
    // Answered: so committed, and visible to another connection, with the rest of its group.
    assert.equal(await count(observer.db, 'together-_'), 5);
    assert.deepEqual(await Promise.all(units), [0, 1, 2, 3, 4]);
    // Each unit saw the writes of those before it, which no other connection could see yet.
    assert.deepEqual(seenInside, [1, 2, 3, 4, 5]);
    assert.equal(seenOutside, 0);
  });

  it('rolls back a failing unit alone; the others of its group commit', async () => {
    const results = await asOneGroup(() => [
      database.writes.run(async (trx) => insert(trx, 'alone-ok-1')),
      // A database error: on PostgreSQL it aborts the transaction until the savepoint rollback.
      database.writes.run(async (trx) => {
        await insert(trx, 'alone-bad-sql');
        await insert(trx, 'alone-ok-1');
      }),
      database.writes.run(async (trx) => insert(trx, 'alone-ok-2')),
      database.writes.run(async (trx) => {
        await insert(trx, 'alone-bad-js');
        throw new Error('the domain says no');
      }),
      database.writes.run(async (trx) => {
        await insert(trx, 'alone-ok-3');
        return 'done';
      }),
    ]);
    assert.deepEqual(
      results.map((r) => r.status),
      ['fulfilled', 'rejected', 'fulfilled', 'rejected', 'fulfilled'],
    );
    assert.equal((results[3] as PromiseRejectedResult).reason.message, 'the domain says no');
    assert.equal((results[4] as PromiseFulfilledResult<string>).value, 'done');
    assert.equal(await count(observer.db, 'alone-ok-%'), 3);
    assert.equal(await count(observer.db, 'alone-bad-%'), 0);
  });

  it('rolls back a lone failing unit, and keeps working afterwards', async () => {
    await assert.rejects(
      database.writes.run(async (trx) => {
        await insert(trx, 'lone-bad');
        throw new Error('no');
      }),
      /no/,
    );
    assert.equal(await count(observer.db, 'lone-%'), 0);
    await database.writes.run((trx) => insert(trx, 'lone-after'));
    assert.equal(await count(observer.db, 'lone-%'), 1);
  });

  /** A joinable insert that records each call of `run` (its items) and fails on request. */
  function joinableInsert(calls: string[][]): Joinable<{ key: string; id: string }, string> {
    return {
      keyOf: (item) => item.key,
      async run(trx, items) {
        calls.push(items.map((item) => item.id));
        for (const item of items) {
          // A database error (not a conflict, which would be retried first): it aborts a
          // PostgreSQL transaction until a rollback.
          if (item.id.endsWith('-bad-sql')) await sql`select * from gc_missing`.execute(trx);
        }
        return Promise.all(
          items.map(async (item) => {
            if (item.id.endsWith('-refused'))
              return { ok: false as const, error: new Error(`refused ${item.id}`) };
            await insert(trx, item.id);
            return { ok: true as const, value: `stored ${item.id}` };
          }),
        );
      },
    };
  }

  it('runs queued joinable units of one key with one call, and answers each its own result', async () => {
    const calls: string[][] = [];
    const spec = joinableInsert(calls);
    const results = await asOneGroup(() => [
      database.writes.runJoined(spec, { key: 'a', id: 'joint-1' }),
      database.writes.runJoined(spec, { key: 'a', id: 'joint-2-refused' }),
      database.writes.runJoined(spec, { key: 'a', id: 'joint-3' }),
      // Another key, then a plain unit: each breaks the run.
      database.writes.runJoined(spec, { key: 'b', id: 'joint-4' }),
      database.writes.run(async (trx) => insert(trx, 'joint-5')),
      database.writes.runJoined(spec, { key: 'a', id: 'joint-6' }),
    ]);
    assert.deepEqual(calls, [['joint-1', 'joint-2-refused', 'joint-3'], ['joint-4'], ['joint-6']]);
    assert.deepEqual(
      results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message)),
      [
        'stored joint-1',
        'refused joint-2-refused',
        'stored joint-3',
        'stored joint-4',
        undefined,
        'stored joint-6',
      ],
    );
    assert.equal(await count(observer.db, 'joint-%'), 5);
  });

  it('runs joined units again one by one when their joint run fails, so only the failing one is rejected', async () => {
    for (const alone of [false, true]) {
      const prefix = alone ? 'apart-alone' : 'apart-mixed';
      const calls: string[][] = [];
      const spec = joinableInsert(calls);
      const results = await asOneGroup(() => {
        const units: Promise<unknown>[] = [
          database.writes.runJoined(spec, { key: 'a', id: `${prefix}-1` }),
          database.writes.runJoined(spec, { key: 'a', id: `${prefix}-2-bad-sql` }),
          database.writes.runJoined(spec, { key: 'a', id: `${prefix}-3` }),
        ];
        // Without a plain unit beside it, the joint run is the whole group (no savepoint).
        if (!alone) units.push(database.writes.run(async (trx) => insert(trx, `${prefix}-plain`)));
        return units;
      });
      assert.deepEqual(
        results.map((r) => r.status),
        alone ? ['fulfilled', 'rejected', 'fulfilled'] : ['fulfilled', 'rejected', 'fulfilled', 'fulfilled'],
      );
      assert.deepEqual(calls, [
        [`${prefix}-1`, `${prefix}-2-bad-sql`, `${prefix}-3`],
        [`${prefix}-1`],
        [`${prefix}-2-bad-sql`],
        [`${prefix}-3`],
      ]);
      assert.equal(await count(observer.db, `${prefix}-%`), alone ? 2 : 3);
      assert.equal(await count(observer.db, `${prefix}-2-%`), 0);
    }
  });

  it('rejects every unit of a group whose commit fails, and commits none of them', async () => {
    const gate = deferred();
    const blocker = database.writes.run(async () => gate.promise);
    await settle();
    const outcomes = Promise.allSettled([
      database.writes.run(async (trx) => insert(trx, 'commit-a')),
      database.writes.run(async (trx) => {
        await sql`insert into gc_child (id, parent_id) values ('orphan', 'missing')`.execute(trx);
      }),
      database.writes.run(async (trx) => insert(trx, 'commit-c')),
    ]);
    await settle();
    gate.open();
    await blocker;
    const results = await outcomes;
    assert.deepEqual(
      results.map((r) => r.status),
      ['rejected', 'rejected', 'rejected'],
    );
    const reasons = results.map((r) => (r as PromiseRejectedResult).reason);
    assert.ok(
      reasons.every((reason) => reason === reasons[0]),
      'all share the commit error',
    );
    assert.match(String(reasons[0]?.message), /foreign key/i);
    assert.equal(await count(observer.db, 'commit-%'), 0);
    const { rows } = await sql<{ n: number | string }>`select count(*) as n from gc_child`.execute(
      observer.db,
    );
    assert.equal(Number(rows[0]!.n), 0);
    // The connection was given back: the next group commits.
    await database.writes.run((trx) => insert(trx, 'commit-after'));
    assert.equal(await count(observer.db, 'commit-after'), 1);
  });

  it('holds the write lock from the start of a group, so another process cannot slip a write in between', {
    skip: engine !== 'sqlite' && 'SQLite only: PostgreSQL locks rows, not the database',
  }, async () => {
    // Another process (a CLI import beside the server) writing between a group's first read and
    // its first write made that write fail with SQLITE_BUSY, failing the whole group: a deferred
    // transaction cannot upgrade its read snapshot once another writer has committed.
    const other = new SQLite(sqliteFile);
    other.pragma('busy_timeout = 0'); // another process would wait; here it must not block the test
    try {
      const gate = deferred();
      const unit = database.writes.run(async (trx) => {
        await count(trx, 'lock-%');
        await gate.promise;
        await insert(trx, 'lock-unit');
      });
      await settle();
      let refused: unknown;
      try {
        other.prepare("insert into gc_items (id) values ('lock-other')").run();
      } catch (error) {
        refused = error;
      }
      gate.open();
      await unit;
      assert.match(String(refused), /SQLITE_BUSY|locked/i, 'the other writer had to wait');
      assert.equal(await count(observer.db, 'lock-unit'), 1);
    } finally {
      other.close();
    }
  });

  it('a group that deadlocks with another process is rolled back whole and its units run again alone: none fails', {
    skip: engine !== 'postgres' && 'PostgreSQL only: SQLite serialises its writers',
  }, async () => {
    // Two processes (`database`, `observer`: each its own pool and group commit), each with a
    // group of two units that lock two rows in opposite orders. A savepoint retry of the unit that
    // lost kept its group's first lock, deadlocked again, and failed after the last try (a 503).
    await sql`create table gc_locks (id text primary key, n integer not null)`.execute(database.db);
    await sql`insert into gc_locks (id, n) values ('one', 0), ('two', 0)`.execute(database.db);
    const bump = (trx: Kysely<DB>, id: string) =>
      sql`update gc_locks set n = n + 1 where id = ${id}`.execute(trx);
    const aHoldsOne = deferred();
    const bHoldsTwo = deferred();
    const group = async (
      writes: GroupCommit,
      first: string,
      second: string,
      mine: ReturnType<typeof deferred>,
      theirs: ReturnType<typeof deferred>,
    ) => {
      const gate = deferred();
      const blocker = writes.run(async () => gate.promise);
      await settle();
      const units = [
        writes.run(async (trx) => {
          await bump(trx, first);
          mine.open();
          await theirs.promise;
        }),
        writes.run(async (trx) => bump(trx, second)),
      ];
      await settle();
      gate.open();
      await blocker;
      return Promise.allSettled(units);
    };
    const outcomes = await Promise.all([
      group(database.writes, 'one', 'two', aHoldsOne, bHoldsTwo),
      group(observer.writes, 'two', 'one', bHoldsTwo, aHoldsOne),
    ]);
    assert.deepEqual(
      outcomes.flat().map((o) => (o.status === 'rejected' ? String(o.reason) : o.status)),
      ['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled'],
    );
    const { rows } = await sql<{ id: string; n: number }>`select id, n from gc_locks order by id`.execute(
      observer.db,
    );
    assert.deepEqual(rows, [
      { id: 'one', n: 2 },
      { id: 'two', n: 2 },
    ]);
  });

  it('drain waits for every queued write', async () => {
    const pending = Array.from({ length: 20 }, (_, i) =>
      database.writes.run((trx) => insert(trx, `drain-${i}`)),
    );
    await database.writes.drain();
    assert.equal(await count(observer.db, 'drain-%'), 20);
    await Promise.all(pending);
  });
});

describe('GroupCommit with a durable flush (how SQLite acknowledges)', () => {
  let database: Database;
  let drop: () => Promise<void>;
  let sqliteFile = '';

  before(async () => {
    const fresh = await freshDatabase('sqlite');
    drop = fresh.drop;
    sqliteFile = fresh.options.sqliteFile!;
    database = openDatabase(fresh.options);
    await sql`create table gc_items (id text primary key)`.execute(database.db);
  });

  after(async () => {
    await database?.close();
    await drop?.();
  });

  /**
   * A `durable` flush the test ends by hand: `flushes[i].open()` ends the i-th flush. After the
   * test every flush ends, so a failed assertion cannot leave writes hanging.
   */
  function manualFlushes(t: TestContext, maxFlushWaitMs = 60_000) {
    const flushes: Array<ReturnType<typeof deferred>> = [];
    let ended = false;
    const writes = new GroupCommit(database.db, {
      maxFlushWaitMs,
      durable: () => {
        if (ended) return Promise.resolve();
        const flush = deferred();
        flushes.push(flush);
        return flush.promise;
      },
    });
    const openAll = async () => {
      ended = true;
      for (const flush of flushes) flush.open();
      await writes.drain();
    };
    t.after(openAll);
    return { writes, flushes };
  }

  /** Rows committed so far, as another connection sees them (the app's is busy in a transaction). */
  function committed(pattern: string): number {
    const reader = new SQLite(sqliteFile, { readonly: true });
    try {
      return (
        reader.prepare('select count(*) as n from gc_items where id like ?').get(pattern) as { n: number }
      ).n;
    } finally {
      reader.close();
    }
  }

  it('answers a unit only after the flush that follows its commit, and in commit order', async (t) => {
    const { writes, flushes } = manualFlushes(t);
    const answered: string[] = [];
    const first = writes.run((trx) => insert(trx, 'flush-1')).then(() => answered.push('first'));
    await settle();
    // Committed (another connection can read it) but not flushed: not answered yet; and the
    // next group runs meanwhile instead of waiting for the disk, but commits only after it.
    assert.equal(committed('flush-%'), 1);
    const second = writes.run((trx) => insert(trx, 'flush-2')).then(() => answered.push('second'));
    await settle();
    assert.equal(flushes.length, 1, 'the second group waits for the first flush before its commit');
    assert.deepEqual(answered, []);
    flushes[0]!.open();
    await first;
    assert.deepEqual(answered, ['first']);
    await settle();
    assert.equal(flushes.length, 2);
    assert.equal(committed('flush-%'), 2);
    flushes[1]!.open();
    await second;
    let drained = false;
    await writes.drain().then(() => {
      drained = true;
    });
    assert.deepEqual(answered, ['first', 'second']);
    assert.ok(drained);
  });

  it('takes writes that arrive during the previous flush into the open transaction: one commit for them all', async (t) => {
    const { writes, flushes } = manualFlushes(t);
    const first = writes.run((trx) => insert(trx, 'joined-0'));
    await settle();
    const later = [1, 2, 3].map((i) => writes.run((trx) => insert(trx, `joined-${i}`)));
    await settle();
    // The second group (joined-1 to -3) has run and waits for the first flush; joined-4 arrives.
    const more = writes.run((trx) => insert(trx, 'joined-4'));
    await settle();
    assert.equal(committed('joined-%'), 1);
    flushes[0]!.open();
    await first;
    await settle();
    assert.equal(flushes.length, 2, 'one commit (and one flush) for the four writes that waited');
    assert.equal(committed('joined-%'), 5);
    flushes[1]!.open();
    await Promise.all([...later, more]);
    await writes.drain();
    assert.equal(flushes.length, 2);
  });

  it('rejects only the joined write that throws; the others of its transaction commit', async (t) => {
    const { writes, flushes } = manualFlushes(t);
    const first = writes.run((trx) => insert(trx, 'alone-0'));
    await settle();
    const open = writes.run((trx) => insert(trx, 'alone-1'));
    await settle();
    const failing = writes.run(async (trx) => {
      await insert(trx, 'alone-2');
      throw new Error('this unit refuses');
    });
    const fine = writes.run((trx) => insert(trx, 'alone-3'));
    await settle();
    flushes[0]!.open();
    await first;
    await settle();
    assert.equal(flushes.length, 2, 'the three writes after the first share one commit');
    flushes[1]!.open();
    await assert.rejects(failing, /this unit refuses/);
    await Promise.all([open, fine]);
    assert.equal(committed('alone-%'), 3);
    assert.equal(committed('alone-2'), 0, 'the failed unit wrote nothing');
  });

  it('waits for a slow flush only so long, then commits without it', async (t) => {
    const { writes, flushes } = manualFlushes(t, 5);
    const first = writes.run((trx) => insert(trx, 'slow-0'));
    await settle();
    const second = writes.run((trx) => insert(trx, 'slow-1'));
    await settle();
    // The first flush is still on the disk, but the second group committed after 5 ms.
    assert.equal(flushes.length, 2);
    assert.equal(committed('slow-%'), 2);
    flushes[0]!.open();
    flushes[1]!.open();
    await Promise.all([first, second]);
  });

  it('rejects every unit of a group whose flush fails', async () => {
    const writes = new GroupCommit(database.db, {
      durable: () => Promise.reject(new Error('EIO: the disk refused the flush')),
    });
    await assert.rejects(
      writes.run((trx) => insert(trx, 'flush-failed')),
      /EIO/,
    );
  });
});
