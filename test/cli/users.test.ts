import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { leadline, tempFolder } from '../support/cli.ts';

/** `leadline users …` and `leadline teams …` as an operator runs them, on a fresh data folder (SQLite). */
describe('leadline users and teams', () => {
  const dir = tempFolder('leadline-users-');
  const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
  let ada: string;
  let grace: string;

  it('creates users and prints only their ids', async () => {
    const first = await leadline(dir, [
      'users',
      'create',
      '--name',
      'Ada Lovelace',
      '--email',
      'Ada@Example.org',
      '--timezone',
      'Europe/Berlin',
      '--role',
      'manager',
    ]);
    assert.equal(first.code, 0, first.stderr);
    ada = first.stdout.trim();
    assert.match(ada, uuid);
    const second = await leadline(dir, [
      'users',
      'create',
      '--name',
      'Grace',
      '--email',
      'grace@example.org',
    ]);
    assert.equal(second.code, 0, second.stderr);
    grace = second.stdout.trim();
    assert.match(grace, uuid);
  });

  it('lists users, one a line', async () => {
    const list = await leadline(dir, ['users', 'list']);
    assert.equal(list.code, 0, list.stderr);
    assert.deepEqual(list.stdout.trim().split('\n'), [
      [ada, 'Ada Lovelace', 'ada@example.org', 'manager', 'Europe/Berlin', 'active'].join('\t'),
      [grace, 'Grace', 'grace@example.org', 'rep', 'UTC', 'active'].join('\t'),
    ]);
  });

  it('creates a team with weighted members, by id or email, and lists it', async () => {
    const created = await leadline(dir, [
      'teams',
      'create',
      'Inbound',
      '--members',
      `${ada}:2,grace@example.org`,
    ]);
    assert.equal(created.code, 0, created.stderr);
    const team = created.stdout.trim();
    assert.match(team, uuid);
    const list = await leadline(dir, ['teams', 'list']);
    assert.equal(list.code, 0, list.stderr);
    assert.equal(list.stdout, `${team}\tInbound\t${ada}:2,${grace}:1\n`);
  });

  it('refuses bad input with exit code 1, naming the field', async () => {
    const noEmail = await leadline(dir, ['users', 'create', '--name', 'X']);
    assert.equal(noEmail.code, 1);
    assert.match(noEmail.stderr, /--email: is required/);
    const badEmail = await leadline(dir, [
      'users',
      'create',
      '--name',
      'X',
      '--email',
      'nope',
      '--timezone',
      'Mars/Base',
    ]);
    assert.equal(badEmail.code, 1);
    assert.match(badEmail.stderr, /\/email: is not a valid email address/);
    assert.match(badEmail.stderr, /\/timezone: is not an IANA time zone/);
    const role = await leadline(dir, [
      'users',
      'create',
      '--name',
      'X',
      '--email',
      'x@example.org',
      '--role',
      'boss',
    ]);
    assert.equal(role.code, 1);
    assert.match(role.stderr, /--role/);
    const taken = await leadline(dir, ['users', 'create', '--name', 'X', '--email', 'grace@example.org']);
    assert.equal(taken.code, 1);
    assert.match(taken.stderr, /already exists/);
    const stranger = await leadline(dir, ['teams', 'create', 'Outbound', '--members', 'nobody:1']);
    assert.equal(stranger.code, 1);
    assert.match(stranger.stderr, /\/members\/0\/userId: is not a user of this workspace/);
    const weight = await leadline(dir, ['teams', 'create', 'Outbound', '--members', `${ada}:heavy`]);
    assert.equal(weight.code, 1);
    assert.match(weight.stderr, /weight/);
    const usage = await leadline(dir, ['teams']);
    assert.equal(usage.code, 1);
    assert.match(usage.stderr, /teams create NAME/);
    assert.equal(
      (await leadline(dir, ['users', 'list'])).stdout.trim().split('\n').length,
      2,
      'nothing added',
    );
  });
});
