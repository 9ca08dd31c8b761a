import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parse } from 'csv-parse/sync';
import fc from 'fast-check';
import { parseLeadInput } from '../leads/input.ts';
import type { LeadCapture } from '../leads/model.ts';
import {
  completeCapture,
  detectDelimiter,
  firstLine,
  headerKey,
  headerLineOf,
  type ImportPlan,
  mapStage,
  parseColumnMap,
  parseDateTime,
  parseEmployees,
  planImport,
  propertyNameFor,
  propertyNamePattern,
  rejectReason,
  rowInput,
  targetName,
  unescapeCell,
} from './model.ts';

const paths = { file: 'FILE', map: '--map' };
const NOW = Date.UTC(2026, 0, 1);

function plan(header: string[], map = ''): ImportPlan {
  const parsedMap = parseColumnMap(map, paths.map);
  assert.ok(parsedMap.ok, JSON.stringify(parsedMap));
  const planned = planImport(header, parsedMap.value, paths);
  assert.ok(planned.ok, JSON.stringify(planned));
  return planned.value;
}

/** Column name → target name, for the columns of a plan. */
function targetsOf(p: ImportPlan): Record<string, string> {
  return Object.fromEntries(p.header.map((h, i) => [h, targetName(p.targets[i]!)]));
}

describe('header aliases', () => {
  test('maps every HubSpot and Salesforce header of the brief to its lead field', () => {
    const header = [
      'First Name',
      'Last Name',
      'Email',
      'Email Address',
      'Phone Number',
      'Phone',
      'Mobile Phone Number',
      'Company Name',
      'Company',
      'Job Title',
      'Title',
      'Lead Source',
      'Lifecycle Stage',
      'Lead Status',
      'Country/Region',
      'Country',
      'City',
      'Website URL',
      'Website',
      'Create Date',
      'Created Date',
      'Original Source',
      'Number of Employees',
      'Employees',
      'Industry',
    ];
    assert.deepEqual(targetsOf(plan(header)), {
      'First Name': 'firstName',
      'Last Name': 'lastName',
      Email: 'email',
      'Email Address': 'email',
      'Phone Number': 'phone',
      Phone: 'phone',
      'Mobile Phone Number': 'phone',
      'Company Name': 'company',
      Company: 'company',
      'Job Title': 'jobTitle',
      Title: 'jobTitle',
      'Lead Source': 'source',
      'Lifecycle Stage': 'stage',
      'Lead Status': 'properties.leadStatus',
      'Country/Region': 'country',
      Country: 'country',
      City: 'city',
      'Website URL': 'website',
      Website: 'website',
      'Create Date': 'createdAt',
      'Created Date': 'createdAt',
      'Original Source': 'originalSource',
      'Number of Employees': 'companySize',
      Employees: 'companySize',
      Industry: 'industry',
    });
  });

  test('ignores case, spaces and punctuation, and knows our own field names', () => {
    assert.deepEqual(
      targetsOf(
        plan([
          'EMAIL',
          'first_name',
          'phone-number',
          'jobTitle',
          'utm_source',
          'UTM Medium',
          'country region',
        ]),
      ),
      {
        EMAIL: 'email',
        first_name: 'firstName',
        'phone-number': 'phone',
        jobTitle: 'jobTitle',
        utm_source: 'utm.source',
        'UTM Medium': 'utm.medium',
        'country region': 'country',
      },
    );
    assert.equal(headerKey(' Country/Région '), 'countryregion');
  });

  test('turns unknown columns into camelCased custom properties, numbered when they collide', () => {
    assert.deepEqual(
      targetsOf(plan(['Email', 'Record ID', 'HubSpot Score', 'NPS', '2nd Phone', 'nps', '€€'])),
      {
        Email: 'email',
        'Record ID': 'properties.recordId',
        'HubSpot Score': 'properties.hubSpotScore',
        NPS: 'properties.nps',
        '2nd Phone': 'properties.column2ndPhone',
        nps: 'properties.nps2',
        '€€': 'properties.column7',
      },
    );
  });

  test('reads properties.<name> headers (our export) as exactly that property', () => {
    assert.deepEqual(
      targetsOf(plan(['email', 'properties.title', 'properties.Lead_Score', 'id', 'updatedAt'])),
      {
        email: 'email',
        'properties.title': 'properties.title',
        'properties.Lead_Score': 'properties.Lead_Score',
        id: '-',
        updatedAt: '-',
      },
    );
  });

  test("keeps a CRM's owner id column as a property; --map makes it the lead's owner", () => {
    for (const column of ['OwnerId', 'Owner ID', 'ownerId'])
      assert.equal(targetsOf(plan(['Email', column]))[column], 'properties.crmOwnerId', column);
    assert.equal(targetsOf(plan(['Email', 'OwnerId'], 'OwnerId=ownerId')).OwnerId, 'ownerId');
  });

  test('empty cells at the end of the header name no column', () => {
    assert.deepEqual(plan(['Email', 'First Name', '', ' ']).header, ['Email', 'First Name']);
    assert.deepEqual(targetsOf(plan(['Email', '', 'Notes'])), {
      Email: 'email',
      '': 'properties.column2',
      Notes: 'properties.notes',
    });
  });

  test('skips the row, line and reason columns of a rejects file, and only there', () => {
    assert.deepEqual(targetsOf(plan(['row', 'line', 'reason', 'Email'])), {
      row: '-',
      line: '-',
      reason: '-',
      Email: 'email',
    });
    assert.deepEqual(targetsOf(plan(['Email', 'reason'])), { Email: 'email', reason: 'properties.reason' });
  });

  test('propertyNameFor always gives a valid property name', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), fc.integer({ min: 1, max: 500 }), (header, position) => {
        assert.match(propertyNameFor(header, position), propertyNamePattern);
      }),
    );
  });

  test('several columns for one field: the first non-empty one in alias order wins', () => {
    const p = plan(['Mobile Phone Number', 'Email', 'Phone Number']);
    const row = rowInput(p, ['+44 7700 900123', 'a@acme.io', '+44 20 7946 0958'], NOW);
    assert.equal(row.input.phone, '+44 20 7946 0958');
    const fallback = rowInput(p, ['+44 7700 900123', 'a@acme.io', ''], NOW);
    assert.equal(fallback.input.phone, '+44 7700 900123');
  });

  test('plans a file wider than a lead can hold: its rows are checked one by one', () => {
    const header = ['Email', ...Array.from({ length: 300 }, (_, i) => `Extra ${i}`)];
    assert.ok(planImport(header, new Map(), paths).ok);
  });

  test("keeps a field's other columns as properties when a row fills them differently", () => {
    const p = plan(['Email', 'Phone Number', 'Mobile Phone Number']);
    assert.deepEqual(
      [
        rowInput(p, ['a@b.co', '+44 20 7946 0958', '+44 7700 900123'], NOW).input,
        rowInput(p, ['a@b.co', '', '+44 7700 900123'], NOW).input,
        rowInput(p, ['a@b.co', '+44 7700 900123', ' +44 7700 900123 '], NOW).input,
      ],
      [
        { email: 'a@b.co', phone: '+44 20 7946 0958', properties: { mobilePhoneNumber: '+44 7700 900123' } },
        { email: 'a@b.co', phone: '+44 7700 900123' },
        { email: 'a@b.co', phone: '+44 7700 900123' },
      ],
    );
  });

  test('a header without an email or phone column is refused, saying why', () => {
    const noContact = planImport(['First Name', 'Company'], new Map(), paths);
    assert.ok(!noContact.ok);
    assert.equal(noContact.errors[0]!.path, 'FILE');
    assert.match(noContact.errors[0]!.message, /no email or phone column/);
    const data = planImport(['ada@example.com', 'Ada', 'Lovelace'], new Map(), paths);
    assert.ok(!data.ok);
    assert.match(data.errors[0]!.message, /no header line: the first line holds data/);
  });
});

describe('--map', () => {
  test('overrides aliases: fields, properties and "-" to skip a column', () => {
    const p = plan(
      ['Email', 'Score', 'Notes', 'Junk'],
      'Score=properties.leadScore, notes = jobTitle ,Junk=-',
    );
    assert.deepEqual(targetsOf(p), {
      Email: 'email',
      Score: 'properties.leadScore',
      Notes: 'jobTitle',
      Junk: '-',
    });
  });

  test('splits each entry at its last "=", so column names may contain one', () => {
    const parsed = parseColumnMap('a=b=email', '--map');
    assert.ok(parsed.ok);
    assert.equal(parsed.value.get(headerKey('a=b'))!.column, 'a=b');
  });

  test('names an unknown target field, and lists the valid ones', () => {
    const parsed = parseColumnMap('Email=emial,Foo=favouriteColour,Bar=properties.9lives,Baz', '--map');
    assert.ok(!parsed.ok);
    assert.equal(parsed.errors.length, 4);
    assert.ok(parsed.errors.every((e) => e.path === '--map'));
    assert.match(parsed.errors[0]!.message, /"emial" is not a lead field; use one of: email, phone/);
    assert.match(parsed.errors[1]!.message, /"favouriteColour" is not a lead field/);
    assert.match(parsed.errors[2]!.message, /"properties.9lives" is not a valid property name/);
    assert.match(parsed.errors[3]!.message, /"Baz" is not of the form Column=field/);
  });

  test('a mapped column missing from the header is an error naming it', () => {
    const parsed = parseColumnMap('Cell=phone', '--map');
    assert.ok(parsed.ok);
    const planned = planImport(['Email'], parsed.value, paths);
    assert.ok(!planned.ok);
    assert.deepEqual(planned.errors, [
      { path: '--map', message: 'column "Cell" is not in the file\'s header' },
    ]);
  });

  test('the same column mapped twice is an error', () => {
    const parsed = parseColumnMap('Email=email,EMAIL=phone', '--map');
    assert.ok(!parsed.ok);
    assert.match(parsed.errors[0]!.message, /mapped twice/);
  });
});

describe('mapStage', () => {
  const cases: [string, string | undefined][] = [
    ['subscriber', 'subscriber'],
    ['Lead', 'lead'],
    ['marketingqualifiedlead', 'mql'],
    ['Marketing Qualified Lead', 'mql'],
    ['salesqualifiedlead', 'sql'],
    ['Sales Qualified Lead', 'sql'],
    ['opportunity', 'opportunity'],
    ['customer', 'customer'],
    ['evangelist', 'customer'],
    ['other', undefined],
    ['Open - Not Contacted', 'lead'],
    ['Working - Contacted', 'lead'],
    ['Qualified', 'sql'],
    ['Closed - Converted', 'opportunity'],
    ['Closed - Not Converted', 'disqualified'],
    ['Unqualified', 'disqualified'],
    ['mql', 'mql'],
    ['1234567', undefined],
  ];
  for (const [label, stage] of cases) {
    test(`${JSON.stringify(label)} → ${stage ?? 'no stage'}`, () => assert.equal(mapStage(label), stage));
  }

  test('an unknown stage sets none and is kept as the lifecycleStage property', () => {
    const row = rowInput(plan(['Email', 'Lifecycle Stage']), ['a@acme.io', 'Champion'], NOW);
    assert.equal(row.input.stage, undefined);
    assert.deepEqual(row.input.properties, { lifecycleStage: 'Champion' });
    assert.deepEqual(row.errors, []);
  });
});

describe('parseEmployees', () => {
  const cases: [string, number | null | undefined][] = [
    ['250', 250],
    ['1,000', 1000],
    ['1.000', 1000],
    ['1 000', 1000],
    ["10'000", 10000],
    ['5000+', 5000],
    ['10,001+', 10001],
    ['50-100', 50],
    ['51 – 200', 51],
    ['1,001-5,000', 1001],
    ['1k to 5k', 1000],
    ['1.5k', 1500],
    ['2M', 2000000],
    ['12 employees', 12],
    ['0', 0],
    ['', undefined],
    ['   ', undefined],
    ['lots', null],
    ['<10', null],
    ['n/a', null],
    ['-5', null],
    ['1,00', null],
  ];
  for (const [text, expected] of cases) {
    test(`${JSON.stringify(text)} → ${expected}`, () => assert.equal(parseEmployees(text), expected));
  }

  test('any integer written with thousands separators reads back as itself', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10_000_000 }), (n) => {
        assert.equal(parseEmployees(n.toLocaleString('en-US')), n);
        assert.equal(parseEmployees(`${n}+`), n);
      }),
    );
  });

  test('a range gives its lower bound', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 100_000 }), fc.integer({ min: 0, max: 100_000 }), (a, b) => {
        assert.equal(parseEmployees(`${a}-${a + b}`), a);
      }),
    );
  });

  test('a bad value is a row error on /companySize', () => {
    const row = rowInput(plan(['Email', 'Number of Employees']), ['a@acme.io', 'lots'], NOW);
    assert.deepEqual(row.errors, [{ path: '/companySize', message: 'is not a number of employees' }]);
  });
});

describe('parseDateTime', () => {
  const cases: [string, number | null][] = [
    ['2025-03-14', Date.UTC(2025, 2, 14)],
    ['2025-03-14 09:21', Date.UTC(2025, 2, 14, 9, 21)],
    ['2025-03-14T09:21:05Z', Date.UTC(2025, 2, 14, 9, 21, 5)],
    ['2025-03-14T09:21:05.123Z', Date.UTC(2025, 2, 14, 9, 21, 5, 123)],
    ['2025-03-14T09:21:05+02:00', Date.UTC(2025, 2, 14, 7, 21, 5)],
    ['2025-03-14T09:21-0530', Date.UTC(2025, 2, 14, 14, 51)],
    ['1741944060000', 1741944060000],
    ['2025-02-29', null],
    ['2024-02-29', Date.UTC(2024, 1, 29)],
    ['2025-13-01', null],
    ['03/14/2025', null],
    ['yesterday', null],
    // Years before 100 as written, not 1900-1999 (Date.UTC's reading).
    ['0001-01-01', Date.parse('0001-01-01T00:00:00Z')],
    ['0099-12-31 10:00', Date.parse('0099-12-31T10:00:00Z')],
  ];
  for (const [text, expected] of cases) {
    test(`${JSON.stringify(text)} → ${expected}`, () => assert.equal(parseDateTime(text), expected));
  }

  test('reads back any ISO time it could have written', () => {
    fc.assert(
      fc.property(
        fc.date({ min: new Date(0), max: new Date(Date.UTC(9999, 0)), noInvalidDate: true }),
        (d) => {
          assert.equal(parseDateTime(d.toISOString()), d.getTime());
        },
      ),
    );
  });

  test('a create date becomes the capture time of the lead and of its touch', () => {
    const p = plan(['Email', 'Create Date']);
    const row = rowInput(p, ['a@acme.io', '2025-03-14 09:21'], NOW);
    const parsed = parseLeadInput(row.input, { now: NOW });
    assert.ok(parsed.ok);
    const capture = completeCapture(parsed.value, row, p, NOW);
    assert.equal(capture.at, Date.UTC(2025, 2, 14, 9, 21));
    assert.equal(capture.touch?.at, Date.UTC(2025, 2, 14, 9, 21));
  });

  test('a bad or future create date is a row error on /createdAt', () => {
    const p = plan(['Email', 'Create Date']);
    assert.equal(rowInput(p, ['a@acme.io', '14/03/2025'], NOW).errors[0]!.path, '/createdAt');
    assert.match(rowInput(p, ['a@acme.io', '2030-01-01'], NOW).errors[0]!.message, /future/);
  });
});

describe('source and channel', () => {
  function capture(header: string[], cells: string[]): LeadCapture {
    const p = plan(header);
    const row = rowInput(p, cells, NOW);
    assert.deepEqual(row.errors, []);
    const parsed = parseLeadInput(row.input, { now: NOW });
    assert.ok(parsed.ok, JSON.stringify(parsed));
    return completeCapture(parsed.value, row, p, NOW);
  }

  test("HubSpot's Original Source is the channel; Lead Source is the source text", () => {
    const c = capture(['Email', 'Lead Source', 'Original Source'], ['a@acme.io', 'Webinar', 'Paid Social']);
    assert.equal(c.touch?.source, 'Webinar');
    assert.equal(c.touch?.channel, 'paid_social');
  });

  test('Original Source alone is also the source text', () => {
    const c = capture(['Email', 'Original Source'], ['a@acme.io', 'ORGANIC_SEARCH']);
    assert.deepEqual([c.touch?.source, c.touch?.channel], ['ORGANIC_SEARCH', 'organic_search']);
  });

  test('a known source label gives its channel, an unknown one is offline', () => {
    assert.equal(capture(['Email', 'Lead Source'], ['a@acme.io', 'Trade Show']).touch?.channel, 'events');
    assert.equal(
      capture(['Email', 'Lead Source'], ['a@acme.io', 'Employee Referral']).touch?.channel,
      'referral',
    );
    assert.equal(capture(['Email', 'Lead Source'], ['a@acme.io', 'Cold Outreach']).touch?.channel, 'offline');
    assert.equal(capture(['Email', 'Lead Source'], ['a@acme.io', 'Purple Llama']).touch?.channel, 'offline');
  });

  test('UTM columns decide the channel when present', () => {
    const c = capture(
      ['Email', 'Lead Source', 'utm_source', 'utm_medium'],
      ['a@acme.io', 'Web', 'linkedin', 'cpc'],
    );
    assert.equal(c.touch?.channel, 'paid_social');
  });

  test('a row without any source is an "import" touch, offline', () => {
    const c = capture(['Email'], ['a@acme.io']);
    assert.deepEqual([c.touch?.source, c.touch?.channel], ['import', 'offline']);
  });

  test('a channel column (our export) is taken as given, and empty means no touch', () => {
    const given = capture(['email', 'source', 'channel'], ['a@acme.io', 'google', 'paid_search']);
    assert.deepEqual([given.touch?.source, given.touch?.channel], ['google', 'paid_search']);
    const channelOnly = capture(['email', 'source', 'channel'], ['a@acme.io', '', 'referral']);
    assert.deepEqual([channelOnly.touch?.source, channelOnly.touch?.channel], [null, 'referral']);
    assert.equal(capture(['email', 'source', 'channel'], ['a@acme.io', '', '']).touch, undefined);
    const bad = rowInput(plan(['email', 'channel']), ['a@acme.io', 'carrier pigeon'], NOW);
    assert.equal(bad.errors[0]!.path, '/channel');
  });
});

describe('rows', () => {
  test('empty cells are absent, cells are trimmed, and quote-escaped formulas are restored', () => {
    const p = plan(['Email', 'First Name', 'Last Name', 'Notes']);
    const row = rowInput(p, ['  a@acme.io ', '', "'=Lovelace", "'-5 days"], NOW);
    assert.deepEqual(row.input, {
      email: 'a@acme.io',
      lastName: '=Lovelace',
      properties: { notes: '-5 days' },
    });
  });

  test('unescapeCell strips only the quote an export put before a dangerous character', () => {
    assert.equal(unescapeCell("'=SUM(A1)"), '=SUM(A1)');
    assert.equal(unescapeCell("'hello"), "'hello");
    assert.equal(unescapeCell("'"), "'");
    assert.equal(unescapeCell("''=x"), "'=x");
    assert.equal(unescapeCell("'-5"), "'-5");
  });

  test('a cell with a NUL character is refused (PostgreSQL cannot store it)', () => {
    const row = rowInput(plan(['Email', 'City']), ['a@acme.io', 'Ber\u0000lin'], NOW);
    assert.deepEqual(row.errors, [{ path: '/city', message: 'must not contain NUL characters' }]);
  });

  test('a reject reason names each bad field with the column it came from', () => {
    const p = plan(['Email Address', 'Country/Region', 'Lifecycle Stage']);
    assert.equal(
      rejectReason(p, [
        { path: '/email', message: 'is not a valid email address' },
        { path: '/country', message: 'is not a known country' },
        { path: '/', message: 'has 2 columns; the header has 3' },
      ]),
      'email (Email Address): is not a valid email address; country (Country/Region): is not a known country; row: has 2 columns; the header has 3',
    );
  });
});

describe('file shape', () => {
  test('detects comma, semicolon and tab from the header line, ignoring quoted ones', () => {
    assert.equal(detectDelimiter('Email,First Name,Last Name'), ',');
    assert.equal(detectDelimiter('Email;First Name;"Last, Name"'), ';');
    assert.equal(detectDelimiter('Email\tFirst Name\t"a;b;c;d"'), '\t');
    assert.equal(detectDelimiter('"a;b;c",Email'), ',');
    assert.equal(detectDelimiter('Email'), ',');
  });

  test('finds the first line outside quotes, without a BOM, once it is complete', () => {
    assert.equal(firstLine('\ufeffEmail,Name\r\na@b.co,x', false), 'Email,Name');
    assert.equal(firstLine('"Multi\nline",Email\nx,y', false), '"Multi\nline",Email');
    assert.equal(firstLine('Email,Na', false), undefined);
    assert.equal(firstLine('Email,Name', true), 'Email,Name');
    assert.equal(firstLine('', true), '');
  });

  test('reads a quote inside a field as a character, as the parser does: an inch mark opens nothing', () => {
    assert.equal(
      firstLine('Email,Screen 27" Owner,First Name\na@b.co,x,y', false),
      'Email,Screen 27" Owner,First Name',
    );
    assert.equal(firstLine('Email;Size 5"x7";"Last;\nName"\nx', false), 'Email;Size 5"x7";"Last;\nName"');
    assert.equal(firstLine('"Say ""hi\n""",Email\nx', false), '"Say ""hi\n""",Email');
    assert.equal(detectDelimiter('Email;Screen 27" Owner;First, Name;"a,b,c,d"'), ';');
    assert.equal(detectDelimiter('Email,12" Screen,Notes;x'), ',');
  });

  test('ends the first line where csv-parse (relax_quotes) ends the first record', () => {
    const field = fc.stringMatching(/^[a" ,\n]{0,6}$/);
    const text = fc
      .array(field, { minLength: 1, maxLength: 6 })
      .map((fields) => `${fields.join(',')}\nx,y\n`);
    fc.assert(
      fc.property(text, (csv) => {
        let records: Array<{ raw: string }>;
        try {
          records = parse(csv, {
            relax_quotes: true,
            relax_column_count: true,
            raw: true,
          }) as unknown as Array<{
            raw: string;
          }>;
        } catch {
          return; // A quote never closed: the parser refuses the file.
        }
        assert.equal(firstLine(csv, true), records[0]!.raw.replace(/\n$/, ''));
      }),
      { numRuns: 2000 },
    );
  });

  test('the header line is the first line that is not blank', () => {
    assert.equal(headerLineOf('\ufeff\r\n \n\t\rEmail,Name\na@b.co,x', false), 'Email,Name');
    assert.equal(headerLineOf('\n\n', false), undefined);
    assert.equal(headerLineOf('\ufeff\n \r\n', true), '');
  });
});
