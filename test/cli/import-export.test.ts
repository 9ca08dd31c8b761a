import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'csv-parse/sync';

import { leadline, tempFolder } from '../support/cli.ts';

/**
 * `leadline import` and `leadline export` as an operator runs them: real processes on a
 * temporary data folder (SQLite), files on disk.
 */

const folder = () => tempFolder('leadline-import-cli-');

/** The `key: value` lines of an import summary. */
function summary(stdout: string): Record<string, string> {
  return Object.fromEntries(
    stdout
      .split('\n')
      .map((line) => /^(\w+): (.*)$/.exec(line))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => [m[1]!, m[2]!]),
  );
}

const header =
  'First Name,Last Name,Email,Phone Number,Company Name,Lifecycle Stage,Lead Status,Country/Region,Create Date,Original Source,Number of Employees';
const contacts = [
  header,
  'Ada,Lovelace,ada@analytical.example.com,+44 20 7946 0958,Analytical Engines,Sales Qualified Lead,Open,United Kingdom,2025-03-14 09:21,Paid Search,"1,000"',
  'Bad,Email,ada@,,Nowhere,lead,,GB,2025-03-14,Direct Traffic,',
  'Grace,Hopper,grace@navy.example.org,,US Navy,customer,Connected,USA,2025-01-02 10:00,Referrals,50-100',
  'Nobody,AtAll,,,Ghost Inc,lead,,GB,2025-01-02,Direct Traffic,lots',
  'Short,Row,short@acme.example.com',
].join('\n');

describe('leadline import / export', () => {
  it('imports a file: summary on stdout, rejected rows in the rejects file with their columns', async () => {
    const dir = folder();
    const file = path.join(dir, 'contacts.csv');
    fs.writeFileSync(file, contacts);
    const result = await leadline(dir, ['import', file]);
    assert.equal(result.code, 0, result.stderr);
    const rejectsFile = path.join(dir, 'contacts.rejects.csv');
    assert.deepEqual(
      { ...summary(result.stdout), seconds: undefined },
      {
        rows: '5',
        created: '2',
        updated: '0',
        rejected: '3',
        seconds: undefined,
        rejects: rejectsFile,
      },
    );

    const rejects = parse(fs.readFileSync(rejectsFile, 'utf8'), { relax_column_count: true }) as string[][];
    assert.deepEqual(rejects[0], ['row', 'line', 'reason', ...header.split(',')]);
    assert.deepEqual(rejects[1], [
      '2',
      '3',
      'email (Email): is not a valid email address',
      ...'Bad,Email,ada@,,Nowhere,lead,,GB,2025-03-14,Direct Traffic,'.split(','),
    ]);
    assert.equal(rejects[2]![0], '4');
    assert.equal(rejects[2]![1], '5');
    assert.equal(
      rejects[2]![2],
      'companySize (Number of Employees): is not a number of employees; email (Email): is required unless phone is given',
    );
    assert.deepEqual(rejects[3], [
      '5',
      '6',
      'row: has 3 columns; the header has 11',
      'Short',
      'Row',
      'short@acme.example.com',
    ]);
    assert.equal(rejects.length, 4);

    // The same file again: every good row is an update, and nothing is duplicated.
    const again = await leadline(dir, ['import', file, '--rejects', path.join(dir, 'again.csv')]);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual([summary(again.stdout).created, summary(again.stdout).updated], ['0', '2']);
    assert.ok(fs.existsSync(path.join(dir, 'again.csv')));

    const jsonl = await leadline(dir, ['export', '--format', 'jsonl']);
    assert.equal(jsonl.code, 0, jsonl.stderr);
    const leads = jsonl.stdout
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line));
    assert.deepEqual(
      leads.map((l) => [l.email, l.stage, l.channel, l.companySize, l.createdAt, l.properties]),
      [
        [
          'grace@navy.example.org',
          'customer',
          'referral',
          50,
          '2025-01-02T10:00:00.000Z',
          { leadStatus: 'Connected' },
        ],
        [
          'ada@analytical.example.com',
          'sql',
          'paid_search',
          1000,
          '2025-03-14T09:21:00.000Z',
          { leadStatus: 'Open' },
        ],
      ],
    );
  });

  it("never replaces or removes a file that is not a rejects file; a rejects file's rejects keep one row, line and reason", async () => {
    const dir = folder();
    const file = path.join(dir, 'contacts.csv');
    fs.writeFileSync(file, contacts);
    assert.equal((await leadline(dir, ['keys', 'create', '--name', 'setup'])).code, 0);
    const notes = path.join(dir, 'notes.txt');
    fs.writeFileSync(notes, 'precious');
    fs.linkSync(file, path.join(dir, 'link.csv'));
    for (const dryRun of [[], ['--dry-run']]) {
      const refused = await leadline(dir, ['import', file, '--rejects', notes, ...dryRun]);
      assert.equal(refused.code, 1, refused.stdout);
      assert.match(refused.stderr, /--rejects: ".*notes\.txt" already exists and is not a rejects file/);
      const linked = await leadline(dir, [
        'import',
        file,
        '--rejects',
        path.join(dir, 'link.csv'),
        ...dryRun,
      ]);
      assert.match(linked.stderr, /--rejects: ".*link\.csv" is the file being imported/);
    }
    assert.equal(fs.readFileSync(notes, 'utf8'), 'precious');
    assert.equal(fs.readFileSync(path.join(dir, 'link.csv'), 'utf8'), contacts);
    assert.equal((await leadline(dir, ['export', '--format', 'jsonl'])).stdout, '', 'nothing imported');

    const first = await leadline(dir, ['import', file]);
    assert.equal(summary(first.stdout).rejected, '3', first.stderr);
    // The rejects file imported as it is, unfixed: its own rejects file has the same columns.
    const rejectsFile = path.join(dir, 'contacts.rejects.csv');
    const second = await leadline(dir, ['import', rejectsFile]);
    assert.equal(summary(second.stdout).rejected, '3', second.stderr);
    const read = (name: string) =>
      parse(fs.readFileSync(path.join(dir, name), 'utf8'), { relax_column_count: true }) as string[][];
    assert.deepEqual(read('contacts.rejects.rejects.csv')[0], read('contacts.rejects.csv')[0]);
    assert.deepEqual(
      read('contacts.rejects.rejects.csv').map((row) => row.slice(3)),
      read('contacts.rejects.csv').map((row) => row.slice(3)),
    );
  });

  it('reads BOM-prefixed, tab-separated files, and a dry run writes nothing', async () => {
    const dir = folder();
    const file = path.join(dir, 'leads.tsv');
    fs.writeFileSync(file, '\ufeffEmail\tFirst Name\tNotes\nlin@acme.example.com\tLin\t=1+1\n');
    // The first command creates the database and workspace "default": a dry run would not.
    assert.equal((await leadline(dir, ['keys', 'create', '--name', 'setup'])).code, 0);
    const dry = await leadline(dir, ['import', file, '--dry-run']);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /dry run: no lead was written/);
    assert.deepEqual([summary(dry.stdout).created, summary(dry.stdout).rejects], ['1', 'none']);
    const empty = await leadline(dir, ['export', '--format', 'jsonl']);
    assert.equal(empty.stdout, '');

    const real = await leadline(dir, ['import', file]);
    assert.equal(summary(real.stdout).created, '1', real.stderr);
    const out = path.join(dir, 'export.csv');
    const csv = await leadline(dir, ['export', '--out', out]);
    assert.equal(csv.code, 0, csv.stderr);
    const [columns, row] = parse(fs.readFileSync(out, 'utf8')) as string[][];
    const cell = (name: string) => row![columns!.indexOf(name)];
    assert.equal(cell('email'), 'lin@acme.example.com');
    assert.equal(cell('firstName'), 'Lin');
    assert.equal(cell('properties.notes'), "'=1+1");
    assert.equal(cell('source'), 'import');
    assert.equal(cell('channel'), 'offline');
  });

  it('a dry run on a new data folder creates no database and no key, and says what to do', async () => {
    const dir = folder();
    const file = path.join(dir, 'contacts.csv');
    fs.writeFileSync(file, contacts);
    const database = path.join(dir, 'data', 'leadline.db');
    const refused = (result: { code: number | null; stdout: string; stderr: string }) => {
      assert.equal(result.code, 1, result.stdout);
      assert.equal(result.stdout, '');
      assert.equal(result.stderr.includes('ll_'), false, `no admin key: ${result.stderr}`);
      assert.match(
        result.stderr,
        /^leadline: There is no workspace to check against yet, and a dry run creates none\. Start Leadline once \(`leadline serve`\)/,
      );
    };

    refused(await leadline(dir, ['import', file, '--dry-run']));
    assert.equal(fs.existsSync(database), false, 'no database file');
    assert.equal(fs.existsSync(path.join(dir, 'data')), false, 'no data folder');
    assert.equal(fs.existsSync(path.join(dir, 'contacts.rejects.csv')), false, 'no rejects file');

    // A database without a workspace yet (migrated only): refused too, and still without one.
    assert.equal((await leadline(dir, ['migrate'])).code, 0);
    refused(await leadline(dir, ['import', file, '--dry-run']));
    refused(await leadline(dir, ['import', file, '--dry-run']));
  });

  it('reads a windows-1252 file as such, guessed or named with --encoding; an unknown encoding is refused', async () => {
    const dir = folder();
    const file = path.join(dir, 'excel.csv');
    // Excel's plain "CSV" in Western Europe: "ü" is the byte 0xFC. The first line is ASCII, so
    // the guess needs the second; --encoding needs none.
    fs.writeFileSync(
      file,
      Buffer.from('Email,First Name,Last Name\nmuller@example.com,J\xfcrgen,M\xfcller\n', 'latin1'),
    );
    const guessed = await leadline(dir, ['import', file]);
    assert.equal(summary(guessed.stdout).created, '1', guessed.stderr);
    const named = await leadline(dir, ['import', file, '--encoding', 'latin1']);
    assert.deepEqual(
      [summary(named.stdout).updated, summary(named.stdout).rejected],
      ['1', '0'],
      named.stderr,
    );
    const exported = await leadline(dir, ['export', '--format', 'jsonl']);
    const lead = JSON.parse(exported.stdout);
    assert.deepEqual([lead.firstName, lead.lastName], ['Jürgen', 'Müller']);

    const unknown = await leadline(dir, ['import', file, '--encoding', 'ebcdic-klingon']);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /--encoding: "ebcdic-klingon" is not an encoding Leadline reads/);
  });

  it('quotes a rejected cell holding a line break in the rejects file', async () => {
    const dir = folder();
    const file = path.join(dir, 'notes.csv');
    fs.writeFileSync(file, 'Email,Notes\nbad-email,"first\n=2+2"\nok@acme.example.com,fine\n');
    const result = await leadline(dir, ['import', file]);
    assert.equal(result.code, 0, result.stderr);
    const text = fs.readFileSync(path.join(dir, 'notes.rejects.csv'), 'utf8');
    assert.ok(text.includes('"first\n=2+2"'), text);
    const rejects = parse(text, { record_delimiter: ['\r\n', '\n', '\r'] }) as string[][];
    assert.deepEqual(rejects, [
      ['row', 'line', 'reason', 'Email', 'Notes'],
      ['1', '2', 'email (Email): is not a valid email address', 'bad-email', 'first\n=2+2'],
    ]);
  });

  it('keeps a Salesforce OwnerId as a property; mapped to ownerId, a row with an unknown owner is rejected alone', async () => {
    const dir = folder();
    const user = await leadline(dir, [
      'users',
      'create',
      '--name',
      'Rep',
      '--email',
      'rep@sales.example.org',
    ]);
    assert.equal(user.code, 0, user.stderr);
    const repId = user.stdout.trim();
    const file = path.join(dir, 'salesforce.csv');
    fs.writeFileSync(
      file,
      `Email,OwnerId\nsf1@acme.example.com,0055g00000XYZ\nsf2@acme.example.com,${repId}\nsf3@acme.example.com,\n`,
    );
    const plain = await leadline(dir, ['import', file, '--dry-run']);
    assert.equal(plain.code, 0, plain.stderr);
    assert.deepEqual([summary(plain.stdout).created, summary(plain.stdout).rejected], ['3', '0']);

    const mapped = await leadline(dir, ['import', file, '--map', 'OwnerId=ownerId']);
    assert.equal(mapped.code, 0, mapped.stderr);
    assert.deepEqual([summary(mapped.stdout).created, summary(mapped.stdout).rejected], ['2', '1']);
    const rejects = parse(fs.readFileSync(path.join(dir, 'salesforce.rejects.csv'), 'utf8')) as string[][];
    assert.deepEqual(rejects[1], [
      '1',
      '2',
      'ownerId (OwnerId): "0055g00000XYZ" is not an active user of this workspace',
      'sf1@acme.example.com',
      '0055g00000XYZ',
    ]);
    const jsonl = await leadline(dir, ['export', '--format', 'jsonl']);
    const leads = jsonl.stdout
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line));
    assert.deepEqual(leads.map((l) => [l.email, l.ownerId]).sort(), [
      ['sf2@acme.example.com', repId],
      ['sf3@acme.example.com', null],
    ]);
  });

  it("removes an earlier import's rejects file when this import rejects no row", async () => {
    const dir = folder();
    const rejectsFile = path.join(dir, 'rejects.csv');
    const withReject = path.join(dir, 'first.csv');
    fs.writeFileSync(withReject, 'Email\nok@acme.example.com\nnot-an-email\n');
    const first = await leadline(dir, ['import', withReject, '--rejects', rejectsFile]);
    assert.equal(summary(first.stdout).rejects, rejectsFile, first.stderr);
    assert.ok(fs.existsSync(rejectsFile));
    const earlier = fs.readFileSync(rejectsFile);

    const clean = path.join(dir, 'second.csv');
    fs.writeFileSync(clean, 'Email\nother@acme.example.com\n');
    // Refused before reading the file (a bad --map): nothing ran, the earlier rejects stay.
    const refused = await leadline(dir, ['import', clean, '--rejects', rejectsFile, '--map', 'Email=emial']);
    assert.equal(refused.code, 1, refused.stdout);
    assert.ok(fs.existsSync(rejectsFile));

    for (const args of [['--dry-run'], []]) {
      fs.writeFileSync(rejectsFile, earlier); // what an earlier run left there
      const second = await leadline(dir, ['import', clean, '--rejects', rejectsFile, ...args]);
      assert.equal(second.code, 0, second.stderr);
      assert.deepEqual([summary(second.stdout).rejected, summary(second.stdout).rejects], ['0', 'none']);
      assert.equal(fs.existsSync(rejectsFile), false, `${args.join(' ')}: no stale rejects file`);
    }
  });

  it('refuses a rejects file it cannot write before importing anything', async () => {
    const dir = folder();
    const file = path.join(dir, 'c.csv');
    fs.writeFileSync(file, 'Email\nok@acme.example.com\nnot-an-email\n');
    const nowhere = path.join(dir, 'no-such-folder', 'r.csv');
    const result = await leadline(dir, ['import', file, '--rejects', nowhere]);
    assert.equal(result.code, 1, result.stdout);
    assert.equal(result.stderr.includes('ENOENT'), false, result.stderr);
    assert.match(
      result.stderr,
      /--rejects: ".*r\.csv" cannot be written: there is no folder .*no-such-folder\n/,
    );
    const itself = await leadline(dir, ['import', file, '--rejects', file]);
    assert.equal(itself.code, 1, itself.stdout);
    assert.match(itself.stderr, /--rejects: ".*c\.csv" is the file being imported/);
    assert.equal(fs.readFileSync(file, 'utf8'), 'Email\nok@acme.example.com\nnot-an-email\n');
    const jsonl = await leadline(dir, ['export', '--format', 'jsonl']);
    assert.equal(jsonl.stdout, '', 'nothing was imported');
  });

  it('an export of a new data folder refuses, and creates no database', async () => {
    const dir = folder();
    for (const args of [['export'], ['scoring', 'export'], ['jobs', 'list'], ['users', 'list']]) {
      const result = await leadline(dir, args);
      assert.equal(result.code, 1, `${args.join(' ')}: ${result.stdout}`);
      assert.match(result.stderr, /There is no Leadline database at .*leadline\.db to read from/);
      assert.equal(result.stderr.includes('ll_'), false, 'no admin key');
    }
    assert.equal(fs.existsSync(path.join(dir, 'data')), false, 'no data folder');
  });

  it('refuses an export file it cannot write, naming it', async () => {
    const dir = folder();
    assert.equal((await leadline(dir, ['keys', 'create', '--name', 'setup'])).code, 0);
    for (const [out, why] of [
      [path.join(dir, 'no-such-folder', 'x.csv'), 'its folder does not exist'],
      [dir, 'is a folder'],
    ]) {
      const result = await leadline(dir, ['export', '--out', out!]);
      assert.equal(result.code, 1, result.stdout);
      assert.match(result.stderr, new RegExp(`--out: ".*" cannot be written \\(${why}\\)`));
      assert.doesNotMatch(result.stderr, /at .*\.ts:\d+/, 'no stack trace');
    }
  });

  it('answers an unknown option with a one-line usage error, exit 2', async () => {
    const dir = folder();
    for (const command of ['import', 'export']) {
      const result = await leadline(dir, [command, '--frobnicate']);
      assert.equal(result.code, 2, result.stderr);
      assert.match(
        result.stderr,
        new RegExp(
          `^leadline ${command}: Unknown option '--frobnicate'\\. Usage: leadline ${command} .*\\n$`,
        ),
      );
      assert.equal(result.stderr.split('\n').length, 2, result.stderr);
    }
  });

  it('writes a rejects file that, fixed, imports as the original rows would have', async () => {
    const dir = folder();
    const file = path.join(dir, 'formulas.csv');
    fs.writeFileSync(file, "Email,=Notes,Company\nbad-one,x,'=Acme\nbad-two,y,=Acme\n");
    const first = await leadline(dir, ['import', file]);
    assert.equal(first.code, 0, first.stderr);
    const rejectsFile = path.join(dir, 'formulas.rejects.csv');
    const rejects = parse(fs.readFileSync(rejectsFile, 'utf8')) as string[][];
    assert.deepEqual(rejects, [
      ['row', 'line', 'reason', 'Email', "'=Notes", 'Company'],
      ['1', '2', 'email (Email): is not a valid email address', 'bad-one', 'x', "'=Acme"],
      ['2', '3', 'email (Email): is not a valid email address', 'bad-two', 'y', "'=Acme"],
    ]);

    const fixed = fs.readFileSync(rejectsFile, 'utf8').replace(/bad-(\w+)/g, '$1@acme.example.com');
    fs.writeFileSync(rejectsFile, fixed);
    const again = await leadline(dir, ['import', rejectsFile, '--rejects', path.join(dir, 'r2.csv')]);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual([summary(again.stdout).created, summary(again.stdout).rejected], ['2', '0']);
    const jsonl = await leadline(dir, ['export', '--format', 'jsonl']);
    const leads = jsonl.stdout
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line));
    assert.deepEqual(leads.map((l) => [l.email, l.company, l.properties]).sort(), [
      ['one@acme.example.com', '=Acme', { notes: 'x' }],
      ['two@acme.example.com', '=Acme', { notes: 'y' }],
    ]);
  });

  it('fails clearly on a bad map, a missing file, a file without a header and an unknown workspace', async () => {
    const dir = folder();
    const file = path.join(dir, 'c.csv');
    fs.writeFileSync(file, 'Mail,Name\nx@acme.example.com,X\n');
    const badMap = await leadline(dir, ['import', file, '--map', 'Mail=emial,Name=firstName']);
    assert.equal(badMap.code, 1);
    assert.match(badMap.stderr, /--map: "emial" is not a lead field; use one of: email/);

    const missing = await leadline(dir, ['import', path.join(dir, 'nope.csv')]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /FILE: ".*nope\.csv" is not a readable file/);

    const headless = path.join(dir, 'headless.csv');
    fs.writeFileSync(headless, 'x@acme.example.com,X\ny@acme.example.com,Y\n');
    const noHeader = await leadline(dir, ['import', headless]);
    assert.equal(noHeader.code, 1);
    assert.match(noHeader.stderr, /FILE: has no header line/);

    const elsewhere = await leadline(dir, ['import', file, '--map', 'Mail=email', '--workspace', 'nowhere']);
    assert.equal(elsewhere.code, 1);
    assert.match(elsewhere.stderr, /No workspace "nowhere"/);

    const mapped = await leadline(dir, ['import', file, '--map', 'Mail=email,Name=firstName']);
    assert.equal(mapped.code, 0, mapped.stderr);
    assert.equal(summary(mapped.stdout).created, '1');
  });
});
