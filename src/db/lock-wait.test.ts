import assert from 'node:assert/strict';
import { it } from 'node:test';
import { executeWaitingForLock, retryReleasingConnection } from './lock-wait.ts';

const busy = () => Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });

/** A statement that meets the lock `times` times (thrown synchronously, as better-sqlite3 does), then answers. */
function lockedFor(times: number) {
  let calls = 0;
  const execute = (): Promise<string> => {
    calls++;
    if (calls <= times) throw busy();
    return Promise.resolve('done');
  };
  return { execute, calls: () => calls };
}

it('tries a statement again while another process holds the lock, then answers', async () => {
  const statement = lockedFor(3);
  assert.equal(await executeWaitingForLock(statement.execute), 'done');
  assert.equal(statement.calls(), 4);
});

it('passes any other error on at once, and SQLITE_BUSY_SNAPSHOT too (it needs a new transaction)', async () => {
  for (const code of ['SQLITE_CONSTRAINT_UNIQUE', 'SQLITE_BUSY_SNAPSHOT']) {
    let calls = 0;
    const failing = (): Promise<never> => {
      calls++;
      throw Object.assign(new Error(code), { code });
    };
    await assert.rejects(executeWaitingForLock(failing), { code });
    assert.equal(calls, 1, code);
  }
});

it('under retryReleasingConnection a statement fails at once, and the caller tries the whole work again', async () => {
  const statement = lockedFor(2);
  let works = 0;
  const result = await retryReleasingConnection(() => {
    works++;
    return executeWaitingForLock(statement.execute);
  });
  assert.equal(result, 'done');
  assert.deepEqual([works, statement.calls()], [3, 3], 'each try of the work ran the statement once');
});
