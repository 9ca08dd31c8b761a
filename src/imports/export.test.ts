import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parse } from 'csv-parse/sync';
import fc from 'fast-check';
import { type Lead, noFlagClears, unscored } from '../leads/model.ts';
import { csvRows, escapeCell, escapeFileCell, exportHeader, leadCells, propertyCell } from './export.ts';
import { unescapeCell } from './model.ts';

/** What spreadsheets may evaluate as a formula when a cell starts with it. */
const dangerous = ['=', '+', '-', '@', '\t', '\r', '＝', '＋', '－', '＠'];
const plainNumber = /^[+-]?\d+(?:\.\d+)?$/;

describe('escapeCell', () => {
  const cases: [string, string][] = [
    ['=HYPERLINK("http://evil.example","click")', `'=HYPERLINK("http://evil.example","click")`],
    ['+1 (415) 555-0100', "'+1 (415) 555-0100"],
    ['-2+3', "'-2+3"],
    ['@SUM(A1:A2)', "'@SUM(A1:A2)"],
    ['\t=1', "'\t=1"],
    ['\r=1', "'\r=1"],
    ['＝1+1', "'＝1+1"],
    ['+442079460958', '+442079460958'],
    ['-5', '-5'],
    ['+3.25', '+3.25'],
    ['Ada', 'Ada'],
    ['a=b', 'a=b'],
    ["'=A1", "''=A1"],
    ["'hello", "'hello"],
    ["'-5", "'-5"],
    ['', ''],
  ];
  for (const [value, expected] of cases) {
    test(`${JSON.stringify(value)} → ${JSON.stringify(expected)}`, () =>
      assert.equal(escapeCell(value), expected));
  }

  test('an escaped cell never starts with a dangerous character, unless it is a plain number', () => {
    const cell = fc.oneof(
      fc.string(),
      fc.tuple(fc.constantFrom(...dangerous), fc.string()).map(([first, rest]) => first + rest),
      fc
        .tuple(fc.constantFrom('+', '-'), fc.stringMatching(/^\d{1,15}$/))
        .map(([sign, digits]) => sign + digits),
    );
    fc.assert(
      fc.property(cell, (value) => {
        const escaped = escapeCell(value);
        if (escaped !== '' && dangerous.includes(escaped[0]!)) assert.match(escaped, plainNumber);
      }),
    );
  });

  test('only adds a quote, and the importer takes it off again', () => {
    const quoted = fc
      .tuple(fc.stringMatching(/^'{0,3}$/), fc.constantFrom('', ...dangerous), fc.string())
      .map(([quotes, first, rest]) => quotes + first + rest);
    fc.assert(
      fc.property(fc.oneof(fc.string(), quoted), (value) => {
        const escaped = escapeCell(value);
        assert.ok(escaped === value || escaped === `'${value}`);
        assert.equal(unescapeCell(escaped), value);
      }),
    );
  });

  test('a file cell is made safe, and the importer reads it as it read the original', () => {
    assert.equal(escapeFileCell("'=Acme"), "'=Acme");
    assert.equal(escapeFileCell('=Acme'), "'=Acme");
    const cell = fc.oneof(
      fc.string(),
      fc
        .tuple(fc.stringMatching(/^'{0,2}$/), fc.constantFrom(...dangerous), fc.string())
        .map(([quotes, first, rest]) => quotes + first + rest),
    );
    fc.assert(
      fc.property(cell, (value) => {
        const escaped = escapeFileCell(value);
        assert.equal(unescapeCell(escaped), unescapeCell(value));
        if (escaped !== '' && dangerous.includes(escaped[0]!)) assert.match(escaped, plainNumber);
      }),
    );
  });

  test('E.164 phones (a plus and digits) are left as they are', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^\+[1-9]\d{6,14}$/), (phone) => assert.equal(escapeCell(phone), phone)),
    );
  });
});

const lead: Lead = {
  id: '0190f0a0-0000-7000-8000-000000000001',
  workspaceId: 'w',
  email: 'ada@acme.io',
  phone: '+442079460958',
  firstName: '=cmd|"/c calc"!A1',
  lastName: 'Lovelace',
  company: 'Acme, Inc.',
  companyDomain: 'acme.io',
  jobTitle: null,
  companySize: 250,
  industry: null,
  country: 'GB',
  city: 'London',
  website: null,
  emailDisposable: false,
  source: 'google',
  channel: 'paid_search',
  firstTouch: null,
  lastTouch: null,
  properties: { plan: 'pro', seats: 12, trial: true, tags: ['a', 'b'], note: '@admin' },
  stage: 'mql',
  stageChangedAt: Date.UTC(2025, 2, 14, 9, 21),
  ownerId: null,
  archivedAt: null,
  mergedIntoId: null,
  createdAt: Date.UTC(2025, 2, 14, 9, 21),
  updatedAt: Date.UTC(2026, 0, 1),
  scoring: unscored,
  flagsClearedAt: noFlagClears,
  opportunity: null,
  qualification: null,
};

describe('CSV rows', () => {
  test('the header lists the lead columns, then properties.<key>', () => {
    const header = exportHeader(['plan', 'title']);
    assert.deepEqual(header.slice(0, 3), ['id', 'email', 'phone']);
    assert.deepEqual(header.slice(-4), ['createdAt', 'updatedAt', 'properties.plan', 'properties.title']);
  });

  test('a lead becomes escaped cells in header order, and survives CSV quoting', () => {
    const keys = ['note', 'plan', 'seats', 'tags', 'trial', 'missing'];
    const text = csvRows([exportHeader(keys), leadCells(lead, keys)]);
    const [header, row] = parse(text) as string[][];
    const record = Object.fromEntries(header!.map((h, i) => [h, row![i]]));
    assert.equal(record.firstName, `'=cmd|"/c calc"!A1`);
    assert.equal(record.phone, '+442079460958');
    assert.equal(record.company, 'Acme, Inc.');
    assert.equal(record.companySize, '250');
    assert.equal(record.jobTitle, '');
    assert.equal(record.createdAt, '2025-03-14T09:21:00.000Z');
    assert.equal(record['properties.note'], "'@admin");
    assert.equal(record['properties.seats'], '12');
    assert.equal(record['properties.trial'], 'true');
    assert.equal(record['properties.tags'], '["a","b"]');
    assert.equal(record['properties.missing'], '');
    assert.ok(text.endsWith('\r\n'));
  });

  test('a cell holding a bare LF or CR is quoted, whatever else it holds', () => {
    assert.equal(
      csvRows([['a\nb', 'c\rd', 'e\r\nf', '\n=2+2', 'plain']]),
      '"a\nb","c\rd","e\r\nf","\n=2+2",plain\r\n',
    );
  });

  test('property cells: lists as JSON, null and missing as empty', () => {
    assert.equal(propertyCell(['x', 'y']), '["x","y"]');
    assert.equal(propertyCell(null), '');
    assert.equal(propertyCell(undefined), '');
    assert.equal(propertyCell(false), 'false');
  });
});
