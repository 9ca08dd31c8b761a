import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { leadline, tempFolder } from '../support/cli.ts';

/**
 * Arguments a command does not take, as an operator mistypes them: every command answers with
 * one line naming the option and its usage (exit 2), not a stack trace, before it opens a
 * database. (`import` and `export` are in import-export.test.ts.)
 */
describe('leadline usage errors', () => {
  const cases: ReadonlyArray<{ args: string[]; command: string; option: string }> = [
    { args: ['keys', 'create', '--bogus'], command: 'keys create', option: '--bogus' },
    { args: ['users', 'add', '--name'], command: 'users', option: '--name' },
    { args: ['users', 'create', '--name'], command: 'users create', option: '--name' },
    { args: ['teams', 'list', '--x'], command: 'teams list', option: '--x' },
    { args: ['init', '--preset'], command: 'init', option: '--preset' },
    { args: ['jobs', 'list', '--x'], command: 'jobs list', option: '--x' },
    { args: ['jobs', 'retry', 'ID', '--x'], command: 'jobs retry', option: '--x' },
    { args: ['scoring', 'apply', 'model.yaml', '--nope'], command: 'scoring apply', option: '--nope' },
    { args: ['scoring', 'export', '--format'], command: 'scoring export', option: '--format' },
    { args: ['scoring', 'rescore', '--x'], command: 'scoring rescore', option: '--x' },
    { args: ['serve', '--foo'], command: 'serve', option: '--foo' },
    { args: ['worker', '--x'], command: 'worker', option: '--x' },
    { args: ['workspaces', 'create', 'acme', '--x'], command: 'workspaces create', option: '--x' },
    { args: ['migrate', '--dry-run'], command: 'migrate', option: '--dry-run' },
  ];

  it('answers an unknown option or a missing value with one usage line and exit 2', async () => {
    const dir = tempFolder('leadline-usage-');
    const results = await Promise.all(cases.map(({ args }) => leadline(dir, args)));
    for (const [i, { args, command, option }] of cases.entries()) {
      const result = results[i]!;
      const shown = `leadline ${args.join(' ')}: ${result.stderr}`;
      assert.equal(result.code, 2, shown);
      assert.equal(result.stdout, '', shown);
      assert.doesNotMatch(result.stderr, /^\s+at /m, shown);
      assert.equal(result.stderr.split('\n').length, 2, shown);
      assert.ok(result.stderr.startsWith(`leadline ${command}: `), shown);
      assert.ok(result.stderr.includes(`'${option}`), shown);
      assert.match(result.stderr, new RegExp(`Usage: leadline ${command.split(' ')[0]}(?: .+)?\\n$`), shown);
    }
    // Refused before anything was opened: no database, no admin key.
    assert.equal(fs.existsSync(path.join(dir, 'data')), false);
  });

  it('says in one line what to change when the data folder cannot hold a database', async () => {
    const asFile = tempFolder('leadline-data-file-');
    fs.writeFileSync(path.join(asFile, 'data'), 'a file, not a folder');
    const notADatabase = tempFolder('leadline-data-junk-');
    fs.mkdirSync(path.join(notADatabase, 'data'));
    fs.writeFileSync(path.join(notADatabase, 'data', 'leadline.db'), 'garbage, not SQLite');
    for (const [dir, said] of [
      [asFile, /LEADLINE_DATA_DIR must be a folder/],
      [notADatabase, /leadline\.db in LEADLINE_DATA_DIR is not a SQLite database/],
    ] as const) {
      const result = await leadline(dir, ['migrate']);
      assert.equal(result.code, 1, result.stderr);
      assert.match(result.stderr, said);
      assert.doesNotMatch(result.stderr, /^\s+at /m, 'no stack trace');
      assert.equal(result.stderr.trimEnd().split('\n').length, 1, result.stderr);
    }
  });

  it('refuses a workspace whose slug is taken, in one line', async () => {
    const dir = tempFolder('leadline-workspace-taken-');
    assert.equal((await leadline(dir, ['workspaces', 'create', 'acme'])).code, 0);
    const again = await leadline(dir, ['workspaces', 'create', 'acme']);
    assert.equal(again.code, 1, again.stderr);
    assert.match(again.stderr, /^leadline: A workspace "acme" already exists\.\n {2}\/slug: is taken/);
    assert.doesNotMatch(again.stderr, /^\s+at /m, 'no stack trace');
  });

  it("answers --help and -h with the command's usage, exit 0, opening nothing", async () => {
    const dir = tempFolder('leadline-help-');
    for (const [args, shows] of [
      [['serve', '--help'], /^ {2}serve \[--no-worker\]/m],
      [['import', '-h'], /^ {2}import FILE\.csv/m],
      [['users', 'list', '--help'], /^ {2}users list/m],
      [['-h'], /^Commands:/m],
    ] as const) {
      const result = await leadline(dir, [...args]);
      assert.equal(result.code, 0, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stdout, shows, args.join(' '));
    }
    assert.equal(fs.existsSync(path.join(dir, 'data')), false);
  });
});
