import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { it } from 'node:test';
import { parse } from 'csv-parse/sync';
import type { ImportReject } from '../../src/imports/service.ts';
import { authHeaders, describeEachEngine, type TestApp, useApp } from '../support/engines.ts';

/** A HubSpot contacts export: its own header names, date format, stages and source labels. */
const hubspotCsv = [
  'First Name,Last Name,Email,Phone Number,Company Name,Job Title,Lead Source,Lifecycle Stage,Lead Status,Country/Region,Create Date,Original Source,Number of Employees,Industry,Favourite Colour',
  'Ada,Lovelace,Ada.Lovelace@Analytical.example.com,+44 20 7946 0958,Analytical Engines,CTO,Webinar,Marketing Qualified Lead,Open,United Kingdom,2025-03-14 09:21,Paid Social,"1,000",Software,green',
  'Grace,Hopper,grace@navy.example.org,,US Navy,Rear Admiral,Trade Show,customer,Connected,USA,2025-01-02 10:00,Organic Search,50-100,Government,',
  'Alan,Turing,,+44 161 496 0000,Bletchley Park,Cryptanalyst,,subscriber,,GB,2025-02-01,Offline Sources,,,blue',
].join('\r\n');

let slugs = 0;

/** A fresh workspace with an admin key: each test reads and writes only its own leads. */
async function workspace(t: TestApp): Promise<{ id: string; key: string }> {
  const created = await t.services.workspaces.createWorkspace(`imports-${++slugs}`);
  const { key } = await t.services.workspaces.createKey(created.id, 'test', 'admin');
  return { id: created.id, key };
}

function multipart(filename: string, content: string) {
  const boundary = `----leadline-test-${slugs}`;
  return {
    headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
    payload:
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${filename}"\r\n` +
      `Content-Type: text/csv\r\n\r\n${content}\r\n--${boundary}--\r\n`,
  };
}

async function importCsv(t: TestApp, key: string, csv: string, query = '') {
  return t.app.inject({
    method: 'POST',
    url: `/api/v1/imports${query}`,
    headers: authHeaders(key, { 'content-type': 'text/csv' }),
    payload: csv,
  });
}

/** Posts raw bytes as the body, with the given Content-Type. */
async function importBytes(t: TestApp, key: string, bytes: Buffer, contentType: string, query = '') {
  return t.app.inject({
    method: 'POST',
    url: `/api/v1/imports${query}`,
    headers: authHeaders(key, { 'content-type': contentType }),
    payload: bytes,
  });
}

type LeadJson = Record<string, unknown> & { email: string | null; phone: string | null };

async function allLeads(t: TestApp, key: string): Promise<LeadJson[]> {
  const response = await t.app.inject({
    method: 'GET',
    url: '/api/v1/leads?limit=500&sort=createdAt&includeArchived=true',
    headers: authHeaders(key),
  });
  assert.equal(response.statusCode, 200, response.body);
  return response.json().data;
}

const byContact = (a: LeadJson, b: LeadJson) =>
  String(a.email ?? a.phone).localeCompare(String(b.email ?? b.phone));

describeEachEngine('CSV import and export', (engine) => {
  const get = useApp(engine);

  it('imports a HubSpot export sent as multipart, mapping its columns and values', async () => {
    const t = get();
    const { key } = await workspace(t);
    const response = await t.app.inject({
      method: 'POST',
      url: '/api/v1/imports',
      ...multipart('contacts.csv', hubspotCsv),
      headers: authHeaders(key, multipart('contacts.csv', hubspotCsv).headers),
    });
    assert.equal(response.statusCode, 200, response.body);
    assert.deepEqual(response.json(), {
      dryRun: false,
      rows: 3,
      created: 3,
      updated: 0,
      rejected: 0,
      rejects: [],
      rejectsTruncated: false,
    });

    const leads = await allLeads(t, key);
    const ada = leads.find((l) => l.email === 'ada.lovelace@analytical.example.com')!;
    assert.equal(ada.phone, '+442079460958');
    assert.equal(ada.stage, 'mql');
    assert.equal(ada.country, 'GB');
    assert.equal(ada.companySize, 1000);
    assert.equal(ada.source, 'Webinar');
    assert.equal(ada.channel, 'paid_social');
    assert.equal(ada.createdAt, '2025-03-14T09:21:00.000Z');
    assert.deepEqual(ada.properties, { leadStatus: 'Open', favouriteColour: 'green' });
    const grace = leads.find((l) => l.email === 'grace@navy.example.org')!;
    assert.deepEqual([grace.stage, grace.channel, grace.companySize], ['customer', 'organic_search', 50]);
    const alan = leads.find((l) => l.phone === '+441614960000')!;
    assert.equal(alan.email, null);
    assert.deepEqual([alan.stage, alan.source, alan.channel], ['subscriber', 'Offline Sources', 'offline']);
  });

  it('imports the same file sent as text/csv again: nothing new, every row an update', async () => {
    const t = get();
    const { key } = await workspace(t);
    const first = await importCsv(t, key, hubspotCsv);
    assert.equal(first.statusCode, 200, first.body);
    assert.equal(first.json().created, 3);
    const again = await importCsv(t, key, hubspotCsv);
    assert.equal(again.statusCode, 200, again.body);
    assert.deepEqual(again.json(), {
      dryRun: false,
      rows: 3,
      created: 0,
      updated: 3,
      rejected: 0,
      rejects: [],
      rejectsTruncated: false,
    });
    assert.equal((await allLeads(t, key)).length, 3);
  });

  it('reports bad rows with their row and line numbers, writes none of them, and goes on', async () => {
    const t = get();
    const { key } = await workspace(t);
    const csv = [
      'Email;First Name;Country', // semicolons: detected from the header
      'good1@acme.example.com;Good;GB',
      'not-an-email;Bad;GB',
      'good2@acme.example.com;Partial;Atlantis',
      'only-two;columns',
      ';NoContact;GB',
      '"multi',
      'line@acme.example.com";Quoted;GB',
      '',
      'good3@acme.example.com;Last;FR',
    ].join('\n');
    const response = await importCsv(t, key, csv);
    assert.equal(response.statusCode, 200, response.body);
    const body = response.json();
    assert.deepEqual([body.rows, body.created, body.updated, body.rejected], [7, 2, 0, 5]);
    assert.deepEqual(body.rejects, [
      { row: 2, line: 3, errors: [{ path: '/email', message: 'is not a valid email address' }] },
      { row: 3, line: 4, errors: [{ path: '/country', message: 'is not a known country' }] },
      { row: 4, line: 5, errors: [{ path: '/', message: 'has 2 columns; the header has 3' }] },
      { row: 5, line: 6, errors: [{ path: '/email', message: 'is required unless phone is given' }] },
      { row: 6, line: 7, errors: [{ path: '/email', message: 'is not a valid email address' }] },
    ]);
    const emails = (await allLeads(t, key)).map((l) => l.email).sort();
    assert.deepEqual(emails, ['good1@acme.example.com', 'good3@acme.example.com']);
  });

  it('refuses create dates before 1970 (placeholders such as 0001-01-01) instead of moving them to 1901', async () => {
    const t = get();
    const { key } = await workspace(t);
    const csv = [
      'Email,Create Date',
      'min@acme.example.com,0001-01-01',
      'late@acme.example.com,0099-12-31T10:00:00Z',
      'epoch@acme.example.com,1970-01-01',
    ].join('\n');
    const body = (await importCsv(t, key, csv)).json();
    const message = 'is before 1970, a placeholder rather than a create date (leave the cell empty)';
    assert.deepEqual(body.rejects, [
      { row: 1, line: 2, errors: [{ path: '/createdAt', message }] },
      { row: 2, line: 3, errors: [{ path: '/createdAt', message }] },
    ]);
    const leads = await allLeads(t, key);
    assert.deepEqual(
      leads.map((l) => [l.email, l.createdAt]),
      [['epoch@acme.example.com', '1970-01-01T00:00:00.000Z']],
    );
  });

  it('counts a line break inside a quoted cell of a CRLF file as one line', async () => {
    const t = get();
    const { key } = await workspace(t);
    const csv = [
      'Email,Notes',
      'crlf1@acme.example.com,"two\r\nlines"',
      'not-an-email,x',
      'crlf2@acme.example.com,"three\r\n\r\nlines"',
      'only-one-column',
    ].join('\r\n');
    const response = await importCsv(t, key, csv, '?dryRun=true');
    assert.equal(response.statusCode, 200, response.body);
    assert.deepEqual(
      response.json().rejects.map((r: { row: number; line: number }) => [r.row, r.line]),
      [
        [2, 4],
        [4, 8],
      ],
    );
  });

  it('a quote never closed rejects its row (the rest of the file is in it), keeping the rows before', async () => {
    const t = get();
    const { key } = await workspace(t);
    const csv =
      'Email,First Name\nq1@acme.example.com,One\n"q2@acme.example.com,Two\nq3@acme.example.com,Three\n';
    const response = await importCsv(t, key, csv);
    assert.equal(response.statusCode, 200, response.body);
    const body = response.json();
    assert.deepEqual([body.rows, body.created, body.rejected], [2, 1, 1]);
    assert.deepEqual(body.rejects[0].row, 2);
    assert.deepEqual(body.rejects[0].line, 3);
    assert.match(body.rejects[0].errors[0].message, /quote that is never closed/);
    assert.deepEqual(
      (await allLeads(t, key)).map((l) => l.email),
      ['q1@acme.example.com'],
    );
  });

  it('a dry run validates and counts against existing leads, and writes nothing', async () => {
    const t = get();
    const { key } = await workspace(t);
    assert.equal((await importCsv(t, key, 'Email\ngrace@navy.example.org\n')).json().created, 1);
    const response = await importCsv(t, key, `${hubspotCsv}\r\nbroken,row`, '?dryRun=true');
    assert.equal(response.statusCode, 200, response.body);
    const body = response.json();
    assert.deepEqual([body.dryRun, body.rows, body.created, body.updated, body.rejected], [true, 4, 2, 1, 1]);
    assert.equal(body.rejects[0].row, 4);
    const leads = await allLeads(t, key);
    assert.equal(leads.length, 1);
    assert.equal(leads[0]!.firstName, null, 'the existing lead was not updated either');
  });

  it('lists at most 1,000 rejects, and says when it left some out', async () => {
    const t = get();
    const { key } = await workspace(t);
    const rows = Array.from({ length: 1005 }, (_, i) => `not-an-email-${i}`);
    const response = await importCsv(t, key, `Email\n${rows.join('\n')}\n`, '?dryRun=true');
    assert.equal(response.statusCode, 200, response.body);
    const body = response.json();
    assert.deepEqual(
      [body.rows, body.rejected, body.rejects.length, body.rejectsTruncated],
      [1005, 1005, 1000, true],
    );
    assert.deepEqual(body.rejects.at(-1), {
      row: 1000,
      line: 1001,
      errors: [{ path: '/email', message: 'is not a valid email address' }],
    });
  });

  it('honours ?map=, and names an unknown target field', async () => {
    const t = get();
    const { key } = await workspace(t);
    const ok = await importCsv(
      t,
      key,
      'Mail,Score,Junk\nmap@acme.example.com,42,x\n',
      `?map=${encodeURIComponent('Mail=email,Score=properties.score,Junk=-')}`,
    );
    assert.equal(ok.statusCode, 200, ok.body);
    const [lead] = await allLeads(t, key);
    assert.deepEqual(lead!.properties, { score: '42' });

    const bad = await importCsv(t, key, 'Mail\nx@acme.example.com\n', '?map=Mail%3Demial');
    assert.equal(bad.statusCode, 422, bad.body);
    assert.match(bad.headers['content-type'] as string, /application\/problem\+json/);
    assert.equal(bad.json().errors[0].path, '/query/map');
    assert.match(bad.json().errors[0].message, /"emial" is not a lead field/);
  });

  it('skips blank lines before the header, counting them in line numbers', async () => {
    const t = get();
    const { key } = await workspace(t);
    const cases = [
      { start: '\n', eol: '\n', blank: 1 },
      { start: '\r\n', eol: '\r\n', blank: 1 },
      { start: '\ufeff\n', eol: '\n', blank: 1 },
      { start: '\n \n\t\n', eol: '\n', blank: 3 },
    ];
    for (const { start, eol, blank } of cases) {
      const csv = `${start}Email,First Name${eol}not-an-email,One${eol}blank@acme.example.com,Two${eol}`;
      const response = await importCsv(t, key, csv, '?dryRun=true');
      assert.equal(response.statusCode, 200, `${JSON.stringify(start)}: ${response.body}`);
      const body = response.json();
      assert.deepEqual([body.rows, body.created, body.rejected], [2, 1, 1], JSON.stringify(start));
      assert.deepEqual([body.rejects[0].row, body.rejects[0].line], [1, blank + 2], JSON.stringify(start));
    }
    const blankOnly = await importCsv(t, key, '\ufeff\r\n\n \n');
    assert.equal(blankOnly.statusCode, 422, blankOnly.body);
    assert.match(blankOnly.json().errors[0].message, /is empty/);
  });

  it('reads a header ending in an empty, unnamed cell as naming no column', async () => {
    const t = get();
    const { key } = await workspace(t);
    const csv = [
      'Email,First Name,',
      'trail1@acme.example.com,One',
      'trail2@acme.example.com,Two,',
      'trail3@acme.example.com,Three,under no header',
    ].join('\r\n');
    const response = await importCsv(t, key, csv);
    assert.equal(response.statusCode, 200, response.body);
    const body = response.json();
    assert.deepEqual([body.rows, body.created, body.rejected], [3, 2, 1]);
    assert.deepEqual(body.rejects[0], {
      row: 3,
      line: 4,
      errors: [{ path: '/', message: 'has 3 columns; the header has 2' }],
    });
    const leads = (await allLeads(t, key)).sort(byContact);
    assert.deepEqual(
      leads.map((l) => [l.email, l.firstName, l.properties]),
      [
        ['trail1@acme.example.com', 'One', {}],
        ['trail2@acme.example.com', 'Two', {}],
      ],
    );
  });

  it('reads a header with an inch mark in it (Screen 27" Owner) whatever the size of the file', async () => {
    const t = get();
    const { key } = await workspace(t);
    // The quote is inside a field, so it is a character: it opens no quoted cell that would run
    // on to the end of the file (which, past 1 MiB, was refused as "a first line longer than 1 MiB").
    const padding = 'x'.repeat(200);
    const rows = Array.from({ length: 5500 }, (_, i) => `s${i}@acme.example.com,yes,S${i},${padding}`);
    const csv = `Email,Screen 27" Owner,First Name,Notes\n${rows.join('\n')}\n`;
    assert.ok(csv.length > 1 << 20);
    const response = await importCsv(t, key, csv);
    assert.equal(response.statusCode, 200, response.body);
    assert.deepEqual([response.json().created, response.json().rejected], [5500, 0]);
    const found = await t.app.inject({
      method: 'GET',
      url: '/api/v1/leads?q=s7%40acme.example.com',
      headers: authHeaders(key),
    });
    const [lead] = found.json().data;
    assert.deepEqual([lead.firstName, lead.properties.screen27Owner], ['S7', 'yes']);
  });

  it('refuses an empty file, a file without a header, and a body that is not CSV', async () => {
    const t = get();
    const { key } = await workspace(t);
    const empty = await importCsv(t, key, '');
    assert.equal(empty.statusCode, 422, empty.body);
    assert.equal(empty.json().errors[0].path, '/body');
    assert.match(empty.json().errors[0].message, /is empty/);
    const headless = await importCsv(t, key, 'ada@acme.example.com,Ada\ngrace@acme.example.com,Grace\n');
    assert.equal(headless.statusCode, 422, headless.body);
    assert.match(headless.json().errors[0].message, /no header line/);
    const json = await t.app.inject({
      method: 'POST',
      url: '/api/v1/imports',
      headers: authHeaders(key),
      payload: { email: 'a@acme.example.com' },
    });
    assert.equal(json.statusCode, 415, json.body);
    assert.equal((await allLeads(t, key)).length, 0);
  });

  it('reads a windows-1252 file (Excel\'s plain "CSV") as such, sent as text/csv or multipart', async () => {
    const t = get();
    const { key } = await workspace(t);
    // "ü" is the byte 0xFC, "€" 0x80: not UTF-8, so the file is read as windows-1252.
    const file = Buffer.from(
      'Email,First Name,Last Name,Budget\nmuller@example.com,J\xfcrgen,M\xfcller,\x80 5\n',
      'latin1',
    );
    const plain = await importBytes(t, key, file, 'text/csv');
    assert.equal(plain.statusCode, 200, plain.body);
    assert.deepEqual([plain.json().created, plain.json().rejected], [1, 0]);
    const [lead] = await allLeads(t, key);
    assert.deepEqual(
      [lead!.firstName, lead!.lastName, lead!.properties],
      ['Jürgen', 'Müller', { budget: '€ 5' }],
    );

    const other = Buffer.from('Email,First Name\nbeatrix@example.com,B\xe9atrix\n', 'latin1');
    const boundary = '----leadline-latin1';
    const upload = await t.app.inject({
      method: 'POST',
      url: '/api/v1/imports',
      headers: authHeaders(key, { 'content-type': `multipart/form-data; boundary=${boundary}` }),
      payload: Buffer.concat([
        Buffer.from(
          `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="c.csv"\r\nContent-Type: text/csv\r\n\r\n`,
        ),
        other,
        Buffer.from(`\r\n--${boundary}--\r\n`),
      ]),
    });
    assert.equal(upload.statusCode, 200, upload.body);
    const names = (await allLeads(t, key)).map((l) => l.firstName).sort();
    assert.deepEqual(names, ['Béatrix', 'Jürgen']);
  });

  it('reads a file in the charset its Content-Type names; unnamed, bytes past a UTF-8 start reject their rows', async () => {
    const t = get();
    const { key } = await workspace(t);
    // 70 KiB of ASCII rows, then one in windows-1252: its start is UTF-8.
    const ascii = Array.from({ length: 3000 }, (_, i) => `a${i}@acme.example.com,Plain${i}`).join('\n');
    const file = Buffer.from(
      `Email,First Name\n${ascii}\nmuller@example.com,J\xfcrgen\nlast@acme.example.com,L\n`,
      'latin1',
    );
    assert.ok(file.length > 64 * 1024);

    const guessed = await importBytes(t, key, file, 'text/csv', '?dryRun=true');
    assert.equal(guessed.statusCode, 200, guessed.body);
    assert.deepEqual([guessed.json().created, guessed.json().rejected], [3001, 1]);
    const [reject] = guessed.json().rejects;
    assert.deepEqual([reject.row, reject.line, reject.errors[0].path], [3001, 3002, '/']);
    assert.match(reject.errors[0].message, /not UTF-8.*"CSV UTF-8"/);

    const saidUtf8 = await importBytes(t, key, file, 'text/csv; charset=utf-8', '?dryRun=true');
    assert.match(saidUtf8.json().rejects[0].errors[0].message, /in a file read as UTF-8 \(as named\)/);
    // UTF-16 with a lone surrogate: its row is refused, not stored with U+FFFD.
    const utf16 = Buffer.concat([
      Buffer.from([0xff, 0xfe]),
      Buffer.from('Email,First Name\nlone@acme.example.com,A', 'utf16le'),
      Buffer.from([0x00, 0xd8]),
      Buffer.from('B\nfine@acme.example.com,C\n', 'utf16le'),
    ]);
    const lone = await importBytes(t, key, utf16, 'text/csv', '?dryRun=true');
    assert.deepEqual([lone.json().created, lone.json().rejected], [1, 1], lone.body);
    assert.match(lone.json().rejects[0].errors[0].message, /bytes that are not valid utf-16le/);

    const named = await importBytes(t, key, file, 'text/csv; charset=windows-1252');
    assert.equal(named.statusCode, 200, named.body);
    assert.deepEqual([named.json().created, named.json().rejected], [3002, 0]);
    const found = await t.app.inject({
      method: 'GET',
      url: '/api/v1/leads?q=muller%40example.com',
      headers: authHeaders(key),
    });
    assert.deepEqual(
      found.json().data.map((l: LeadJson) => l.firstName),
      ['Jürgen'],
    );

    // Named UTF-8, a windows-1252 file is not guessed at: its rows with other bytes are rejected.
    const utf8 = await importBytes(
      t,
      key,
      Buffer.from('Email,City\nz@acme.example.com,K\xf6ln\n', 'latin1'),
      'text/csv; charset=UTF-8',
    );
    assert.deepEqual([utf8.json().created, utf8.json().rejected], [0, 1], utf8.body);

    const unknown = await importBytes(t, key, file, 'text/csv; charset=klingon');
    assert.equal(unknown.statusCode, 422, unknown.body);
    assert.deepEqual(unknown.json().errors, [
      {
        path: '/headers/content-type',
        message:
          '"klingon" is not an encoding Leadline reads (use utf-8, windows-1252, iso-8859-15, utf-16le, …)',
      },
    ]);
  });

  it('reads UTF-16 files with a byte order mark (Excel\'s "Unicode Text")', async () => {
    const t = get();
    const { key } = await workspace(t);
    const text = 'Email\tFirst Name\r\nzoe@example.com\tZoë\r\n';
    const little = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
    const big = Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(text, 'utf16le').swap16()]);
    for (const file of [little, big]) {
      const response = await importBytes(t, key, file, 'text/csv');
      assert.equal(response.statusCode, 200, response.body);
      assert.equal(response.json().rejected, 0, response.body);
    }
    const leads = await allLeads(t, key);
    assert.deepEqual(
      leads.map((l) => [l.email, l.firstName]),
      [['zoe@example.com', 'Zoë']],
    );
  });

  it('refuses a malformed multipart upload with 400, writing nothing', async () => {
    const t = get();
    const { key } = await workspace(t);
    const part =
      '--cut\r\nContent-Disposition: form-data; name="file"; filename="c.csv"\r\n' +
      'Content-Type: text/csv\r\n\r\nEmail\r\ncut@acme.example.com\r\n';
    const uploads = [
      { 'content-type': 'multipart/form-data; boundary=cut', payload: part }, // never closed
      { 'content-type': 'multipart/form-data', payload: `${part}--cut--\r\n` }, // no boundary
    ];
    for (const { payload, ...headers } of uploads) {
      const response = await t.app.inject({
        method: 'POST',
        url: '/api/v1/imports',
        headers: authHeaders(key, headers),
        payload,
      });
      assert.equal(response.statusCode, 400, response.body);
      assert.match(response.headers['content-type'] as string, /^application\/problem\+json/);
      assert.match(response.json().detail, /multipart\/form-data body cannot be read/);
    }
    assert.equal((await allLeads(t, key)).length, 0);
  });

  it('refuses an upload of two files, naming the second, and writes nothing', async () => {
    const t = get();
    const { key } = await workspace(t);
    const part = (name: string, filename: string, content: string) =>
      `--two\r\nContent-Disposition: form-data; name="${name}"; filename="${filename}"\r\n` +
      `Content-Type: text/csv\r\n\r\n${content}\r\n`;
    const response = await t.app.inject({
      method: 'POST',
      url: '/api/v1/imports',
      headers: authHeaders(key, { 'content-type': 'multipart/form-data; boundary=two' }),
      payload: `${part('file', 'a.csv', 'Email\na@acme.example.com')}${part('more', 'b.csv', 'Email\nb@acme.example.com')}--two--\r\n`,
    });
    assert.equal(response.statusCode, 422, response.body);
    assert.match(response.headers['content-type'] as string, /^application\/problem\+json/);
    assert.deepEqual(response.json().errors, [
      { path: '/body/more', message: 'is a second file ("b.csv"): send one CSV file per import' },
    ]);
    assert.equal((await allLeads(t, key)).length, 0);
  });

  it('exports CSV that re-imports into an empty workspace as the same leads', async () => {
    const t = get();
    const a = await workspace(t);
    const b = await workspace(t);
    assert.equal((await importCsv(t, a.key, hubspotCsv)).statusCode, 200);
    const viaApi = await t.app.inject({
      method: 'POST',
      url: '/api/v1/leads',
      headers: authHeaders(a.key),
      payload: {
        email: 'mallory@gmail.com',
        firstName: '=HYPERLINK("http://evil.example","click")',
        lastName: '-Smith',
        website: 'https://www.mallory.example.net/',
        utm: { source: 'google', medium: 'cpc' },
        stage: 'sql',
        properties: { seats: 12, plan: 'pro, annual', note: '@here' },
      },
    });
    assert.equal(viaApi.statusCode, 201, viaApi.body);
    const noTouch = await t.app.inject({
      method: 'POST',
      url: '/api/v1/leads',
      headers: authHeaders(a.key),
      payload: { email: 'plain@acme.example.com', properties: { title: 'not the job title' } },
    });
    assert.equal(noTouch.statusCode, 201, noTouch.body);

    const exported = await t.app.inject({
      method: 'GET',
      url: '/api/v1/exports/leads?format=csv',
      headers: authHeaders(a.key),
    });
    assert.equal(exported.statusCode, 200, exported.body);
    assert.match(exported.headers['content-type'] as string, /^text\/csv/);
    const [header, ...rows] = parse(exported.body) as string[][];
    assert.equal(rows.length, 5);
    assert.ok(header!.includes('properties.title'));

    // B declares `seats` a number, as it was in A: CSV cells are text, and definitions type them.
    const property = await t.app.inject({
      method: 'POST',
      url: '/api/v1/properties',
      headers: authHeaders(b.key),
      payload: { name: 'seats', type: 'number' },
    });
    assert.equal(property.statusCode, 201, property.body);
    const reimport = await importCsv(t, b.key, exported.body);
    assert.equal(reimport.statusCode, 200, reimport.body);
    assert.deepEqual(
      [reimport.json().created, reimport.json().rejected, reimport.json().rejects],
      [5, 0, []],
    );

    const comparable = (lead: LeadJson) => {
      const { id: _id, updatedAt: _u, firstTouch: _f, lastTouch: _l, ...rest } = lead;
      return rest;
    };
    const inA = (await allLeads(t, a.key)).sort(byContact).map(comparable);
    const inB = (await allLeads(t, b.key)).sort(byContact).map(comparable);
    assert.deepEqual(inB, inA);
    const mallory = inB.find((l) => l.email === 'mallory@gmail.com')!;
    assert.equal(mallory.firstName, '=HYPERLINK("http://evil.example","click")');
    assert.deepEqual(
      [mallory.source, mallory.channel, mallory.companyDomain],
      ['google', 'paid_search', 'mallory.example.net'],
    );
    assert.equal(inB.find((l) => l.email === 'plain@acme.example.com')!.source, null);
  });

  it('re-importing an export keeps the last touch; an older touch in a file becomes the first', async () => {
    const t = get();
    const w = await workspace(t);
    const capture = async (payload: Record<string, unknown>) => {
      const response = await t.app.inject({
        method: 'POST',
        url: '/api/v1/leads',
        headers: authHeaders(w.key),
        payload,
      });
      assert.ok(response.statusCode < 300, response.body);
      return response.json();
    };
    await capture({ email: 'touched@acme.example.com', utm: { source: 'google', medium: 'cpc' } });
    t.clock.now += 60_000;
    const before = await capture({
      email: 'touched@acme.example.com',
      referrer: 'https://news.example.org/post',
    });
    assert.equal(before.lastTouch.channel, 'referral');
    // Captured once: its last touch is as old as the lead, the create date the export gives.
    const once = await capture({
      email: 'once@acme.example.com',
      utm: { source: 'newsletter', medium: 'email', campaign: 'may' },
      landingPage: 'https://acme.example.com/offer',
    });
    // An archived lead stays archived: an import is not the person showing up again.
    const archived = await capture({ email: 'archived@acme.example.com' });
    const archiving = await t.app.inject({
      method: 'POST',
      url: `/api/v1/leads/${archived.id}/archive`,
      headers: authHeaders(w.key),
    });
    assert.equal(archiving.statusCode, 200, archiving.body);

    t.clock.now += 60_000;
    const exported = await t.app.inject({
      method: 'GET',
      url: '/api/v1/exports/leads?format=csv',
      headers: authHeaders(w.key),
    });
    assert.equal(exported.statusCode, 200, exported.body);
    const reimport = await importCsv(t, w.key, exported.body);
    assert.deepEqual([reimport.json().updated, reimport.json().rejected], [3, 0], reimport.body);
    const [after, onceAfter, archivedAfter] = await allLeads(t, w.key);
    assert.deepEqual(after!.firstTouch, before.firstTouch);
    assert.deepEqual(after!.lastTouch, before.lastTouch);
    assert.deepEqual([after!.source, after!.channel], ['google', 'paid_search']);
    assert.deepEqual([onceAfter!.firstTouch, onceAfter!.lastTouch], [once.firstTouch, once.lastTouch]);
    assert.equal(archivedAfter!.archivedAt, archiving.json().archivedAt);

    // A CRM's history: the person came from a trade show a year before the first web visit.
    const history = 'Email,Lead Source,Create Date\ntouched@acme.example.com,Trade Show,2025-01-02 10:00\n';
    assert.equal((await importCsv(t, w.key, history)).statusCode, 200);
    const [older] = await allLeads(t, w.key);
    assert.deepEqual([older!.source, older!.channel], ['Trade Show', 'events']);
    assert.equal((older!.firstTouch as { at: string }).at, '2025-01-02T10:00:00.000Z');
    assert.deepEqual(older!.lastTouch, before.lastTouch);
  });

  it('escapes cells a spreadsheet would run as formulas, but not phone numbers', async () => {
    const t = get();
    const { key } = await workspace(t);
    const created = await t.app.inject({
      method: 'POST',
      url: '/api/v1/leads',
      headers: authHeaders(key),
      payload: {
        email: 'eve@acme.example.com',
        phone: '+44 20 7946 0958',
        firstName: '=1+2',
        lastName: '@SUM(A1)',
        company: '+cmd',
        properties: { hint: '\t=evil', balance: '-5' },
      },
    });
    assert.equal(created.statusCode, 201, created.body);
    const exported = await t.app.inject({
      method: 'GET',
      url: '/api/v1/exports/leads',
      headers: authHeaders(key),
    });
    const [header, row] = parse(exported.body) as string[][];
    const cell = (name: string) => row![header!.indexOf(name)];
    assert.equal(cell('firstName'), "'=1+2");
    assert.equal(cell('lastName'), "'@SUM(A1)");
    assert.equal(cell('company'), "'+cmd");
    assert.equal(cell('properties.hint'), "'\t=evil");
    assert.equal(cell('properties.balance'), '-5');
    assert.equal(cell('phone'), '+442079460958');
  });

  it('quotes every cell holding a line break, so a value cannot start a row of its own', async () => {
    const t = get();
    const { key } = await workspace(t);
    const created = await t.app.inject({
      method: 'POST',
      url: '/api/v1/leads',
      headers: authHeaders(key),
      payload: {
        email: 'lf@acme.example.com',
        company: 'Acme\nLtd',
        city: 'Old\rTown',
        properties: { note: '\n=2+2', both: 'one\r\ntwo' },
      },
    });
    assert.equal(created.statusCode, 201, created.body);
    const exported = await t.app.inject({
      method: 'GET',
      url: '/api/v1/exports/leads',
      headers: authHeaders(key),
    });
    assert.equal(exported.statusCode, 200, exported.body);
    const [header, row, ...more] = parse(exported.body) as string[][];
    assert.deepEqual(more, [], 'one header and one row');
    const cell = (name: string) => row![header!.indexOf(name)];
    assert.deepEqual(
      [cell('company'), cell('city'), cell('properties.note'), cell('properties.both')],
      ['Acme\nLtd', 'Old\rTown', '\n=2+2', 'one\r\ntwo'],
    );
    for (const quoted of ['"Acme\nLtd"', '"Old\rTown"', '"\n=2+2"', '"one\r\ntwo"'])
      assert.ok(exported.body.includes(quoted), `${JSON.stringify(quoted)} is quoted`);
  });

  it('exports JSON lines, and a key of another workspace sees only its own leads', async () => {
    const t = get();
    const a = await workspace(t);
    const b = await workspace(t);
    assert.equal((await importCsv(t, a.key, hubspotCsv)).json().created, 3);
    const jsonl = await t.app.inject({
      method: 'GET',
      url: '/api/v1/exports/leads?format=jsonl',
      headers: authHeaders(a.key),
    });
    assert.equal(jsonl.statusCode, 200, jsonl.body);
    assert.match(jsonl.headers['content-type'] as string, /^application\/x-ndjson/);
    const lines = jsonl.body
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line));
    assert.deepEqual(
      lines.map((l) => l.createdAt),
      ['2025-01-02T10:00:00.000Z', '2025-02-01T00:00:00.000Z', '2025-03-14T09:21:00.000Z'],
    );

    for (const format of ['csv', 'jsonl']) {
      const other = await t.app.inject({
        method: 'GET',
        url: `/api/v1/exports/leads?format=${format}`,
        headers: authHeaders(b.key),
      });
      assert.equal(other.statusCode, 200, other.body);
      for (const lead of lines) assert.ok(!other.body.includes(lead.id), `${format} leaks ${lead.id}`);
      assert.ok(!other.body.includes('Lovelace'));
    }
    const csv = await t.app.inject({
      method: 'GET',
      url: '/api/v1/exports/leads',
      headers: authHeaders(b.key),
    });
    assert.equal(parse(csv.body).length, 1, 'only the header');
    const anonymous = await t.app.inject({ method: 'GET', url: '/api/v1/exports/leads' });
    assert.equal(anonymous.statusCode, 401);
  });
  it('keeps the rejects of a large file in file order, with their rows and lines, across batches', async () => {
    const t = get();
    const { key } = await workspace(t);
    // 2,600 rows (three batches): bad emails, a short row, a cell over two lines, a blank line
    // and, last, a quote never closed; the line numbers shift after the last three.
    const lines = ['Email,First Name,Notes'];
    const expected: Array<{ row: number; line: number; message: string }> = [];
    let line = 2;
    for (let i = 1; i <= 2600; i++) {
      if (i === 2001) {
        lines.push('');
        line++;
      }
      if (i % 250 === 0) {
        lines.push(`bad-${i},B${i},x`);
        expected.push({ row: i, line, message: 'is not a valid email address' });
      } else if (i === 1234) {
        lines.push('only,two');
        expected.push({ row: i, line, message: 'has 2 columns; the header has 3' });
      } else if (i === 1700) lines.push(`p${i}@acme.example.com,P${i},"two\nlines"`);
      else if (i === 2600) {
        lines.push(`"p${i}@acme.example.com,P${i},x`);
        expected.push({ row: i, line, message: 'has a quote that is never closed' });
      } else lines.push(`p${i}@acme.example.com,P${i},x`);
      line += i === 1700 ? 2 : 1;
    }
    const csv = `${lines.join('\n')}\n`;
    for (const query of ['?dryRun=true', '']) {
      const response = await importCsv(t, key, csv, query);
      assert.equal(response.statusCode, 200, response.body);
      const body = response.json();
      assert.deepEqual([body.rows, body.created, body.updated, body.rejected], [2600, 2588, 0, 12], query);
      assert.deepEqual(
        body.rejects.map((r: { row: number; line: number; errors: Array<{ message: string }> }) => ({
          row: r.row,
          line: r.line,
          message: r.errors[0]!.message.replace(/:.*/, ''),
        })),
        expected,
      );
    }
    const again = await importCsv(t, key, csv);
    assert.deepEqual([again.json().created, again.json().updated], [0, 2588]);
  });

  it('skips lines of spaces or delimiters only, as no rows at all', async () => {
    const t = get();
    const { key } = await workspace(t);
    const imported = await importCsv(t, key, 'Email,First Name\n   \n , \nok@acme.example.com,A\n\t\n');
    assert.deepEqual(
      [imported.json().rows, imported.json().created, imported.json().rejected],
      [1, 1, 0],
      imported.body,
    );
  });

  it('says a row over 1 MiB stopped the import there, and why', async () => {
    const t = get();
    const { key } = await workspace(t);
    const csv = `Email,Notes\nfirst@acme.example.com,a\nlong@acme.example.com,${'x'.repeat(1_100_000)}\nafter@acme.example.com,b\n`;
    const imported = await importCsv(t, key, csv);
    assert.deepEqual(
      [imported.json().created, imported.json().rejected],
      [1, 1],
      imported.body.slice(0, 500),
    );
    assert.match(
      imported.json().rejects[0].errors[0].message,
      /longer than 1 MiB.*the rest of the file was not read; .*import the rows after it again/,
    );
  });

  it('refuses a binary file with a short, printable message', async () => {
    const t = get();
    const { key } = await workspace(t);
    const binary = Buffer.concat([
      Buffer.from('PK\u0003\u0004'),
      Buffer.alloc(3000, 0),
      Buffer.from([0xff, 0x01]),
    ]);
    const refused = await importBytes(t, key, binary, 'text/csv');
    assert.equal(refused.statusCode, 422, refused.body);
    const [error] = refused.json().errors;
    assert.match(error.message, /no email or phone column/);
    assert.ok(error.message.length < 400, `${error.message.length} characters`);
    assert.doesNotMatch(error.message, /[\p{Cc}\uFFFD]/u);
  });

  it("sets the stage from a Salesforce export's Lead Status; a Lifecycle Stage column wins over it", async () => {
    const t = get();
    const { key } = await workspace(t);
    const salesforce = [
      'Email,Lead Status',
      'won@acme.example.com,Closed - Converted',
      'qualified@acme.example.com,Qualified',
      'no@acme.example.com,Closed - Not Converted',
      'working@acme.example.com,Working - Contacted',
      'hubspot@acme.example.com,Connected',
    ].join('\n');
    const imported = await importCsv(t, key, salesforce);
    assert.deepEqual([imported.json().created, imported.json().rejected], [5, 0], imported.body);
    const both = 'Email,Lifecycle Stage,Lead Status\nboth@acme.example.com,subscriber,Qualified\n';
    assert.equal((await importCsv(t, key, both)).statusCode, 200);
    const leads = await allLeads(t, key);
    assert.deepEqual(
      leads.map((l) => [l.email, l.stage, (l.properties as { leadStatus: string }).leadStatus]),
      [
        ['won@acme.example.com', 'opportunity', 'Closed - Converted'],
        ['qualified@acme.example.com', 'sql', 'Qualified'],
        ['no@acme.example.com', 'disqualified', 'Closed - Not Converted'],
        ['working@acme.example.com', 'lead', 'Working - Contacted'],
        ['hubspot@acme.example.com', 'lead', 'Connected'],
        ['both@acme.example.com', 'subscriber', 'Qualified'],
      ],
    );
  });

  it("imports a wide export row by row, and keeps a row's second phone as a property", async () => {
    const t = get();
    const { key } = await workspace(t);
    // HubSpot's "all properties" export: hundreds of columns, most cells empty.
    const extras = Array.from({ length: 250 }, (_, i) => `Extra ${i}`);
    const csv = [
      ['Email', 'Phone Number', 'Mobile Phone Number', ...extras].join(','),
      [
        'wide@acme.example.com',
        '+44 20 7946 0958',
        '+44 7700 900123',
        'a',
        'b',
        ...extras.slice(2).map(() => ''),
      ].join(','),
      ['full@acme.example.com', '', '', ...extras.map((_, i) => `v${i}`)].join(','),
    ].join('\n');
    const imported = await importCsv(t, key, csv);
    assert.equal(imported.statusCode, 200, imported.body);
    assert.deepEqual([imported.json().created, imported.json().rejected], [1, 1], imported.body);
    assert.deepEqual(imported.json().rejects[0].errors, [
      { path: '/properties', message: 'must not have more than 200 properties' },
    ]);
    const [lead] = await allLeads(t, key);
    assert.deepEqual(
      [lead!.email, lead!.phone, lead!.properties],
      [
        'wide@acme.example.com',
        '+442079460958',
        { extra0: 'a', extra1: 'b', mobilePhoneNumber: '+44 7700 900123' },
      ],
    );
  });

  it('fills a defined property from a column named exactly as it is, checked against its type', async () => {
    const t = get();
    const { key } = await workspace(t);
    for (const definition of [
      { name: 'renewal_date', type: 'date' },
      { name: 'NPS', type: 'number' },
    ]) {
      const defined = await t.app.inject({
        method: 'POST',
        url: '/api/v1/properties',
        headers: authHeaders(key),
        payload: definition,
      });
      assert.equal(defined.statusCode, 201, defined.body);
    }
    const csv =
      'Email,renewal_date,NPS\nbad@acme.example.com,not-a-date,high\ngood@acme.example.com,2027-01-31,9\n' +
      // Thousands grouped as a spreadsheet exports them; a decimal comma stays refused.
      'grouped@acme.example.com,,"1,234"\ncomma@acme.example.com,,"1,5"\n';
    const imported = await importCsv(t, key, csv);
    assert.deepEqual([imported.json().created, imported.json().rejected], [2, 2], imported.body);
    const leads = await allLeads(t, key);
    assert.deepEqual(
      leads.map((l) => [l.email, l.properties]),
      [
        ['good@acme.example.com', { renewal_date: '2027-01-31', NPS: 9 }],
        ['grouped@acme.example.com', { NPS: 1234 }],
      ],
    );
  });

  it('checks imported properties against the definitions of the workspace, rejecting a row with its cells', async () => {
    const t = get();
    const { id, key } = await workspace(t);
    await t.services.properties.create(id, { name: 'score', type: 'number' });
    const csv = [
      'Email,Score,Create Date',
      'one@acme.example.com,42,2025-01-01',
      'both@acme.example.com,many,2099-01-01', // two errors: a date in the future, and the property
      'two@acme.example.com,7,2025-01-02',
      'three@acme.example.com,lots,2025-01-03', // the property only: its cells come from the batch
    ].join('\n');
    for (const dryRun of [true, false]) {
      const rejects: ImportReject[] = [];
      const summary = await t.services.imports.importCsv(Readable.from([Buffer.from(csv)]), {
        workspace: await t.services.workspaces.getWorkspace(id),
        dryRun,
        onReject: (reject) => {
          rejects.push(reject);
        },
      });
      assert.deepEqual([summary.rows, summary.created, summary.rejected], [4, 2, 2]);
      assert.deepEqual(
        rejects.map(({ row, line, errors, cells }) => ({ row, line, errors, cells })),
        [
          {
            row: 2,
            line: 3,
            errors: [
              { path: '/createdAt', message: 'is in the future' },
              { path: '/properties/score', message: 'must be a number' },
            ],
            cells: ['both@acme.example.com', 'many', '2099-01-01'],
          },
          {
            row: 4,
            line: 5,
            errors: [{ path: '/properties/score', message: 'must be a number' }],
            cells: ['three@acme.example.com', 'lots', '2025-01-03'],
          },
        ],
      );
      assert.equal(rejects[1]!.reason, 'properties.score (Score): must be a number');
    }
    const leads = (await allLeads(t, key)).sort(byContact);
    assert.deepEqual(
      leads.map((l) => [l.email, l.properties]),
      [
        ['one@acme.example.com', { score: 42 }],
        ['two@acme.example.com', { score: 7 }],
      ],
    );
  });

  it('rejects a row whose owner is not an active user, naming the column, and imports the rest', async () => {
    const t = get();
    const { key } = await workspace(t);
    const rep = await t.app.inject({
      method: 'POST',
      url: '/api/v1/users',
      headers: authHeaders(key),
      payload: { name: 'Rep', email: 'rep@sales.example.org' },
    });
    assert.equal(rep.statusCode, 201, rep.body);
    const repId = rep.json().id as string;
    const csv = [
      'Email,Owner ID',
      `owned@acme.example.com,${repId}`,
      'stranger@acme.example.com,0055g00000XYZ',
      'unowned@acme.example.com,',
    ].join('\n');
    const map = `?map=${encodeURIComponent('Owner ID=ownerId')}`;
    const expected = {
      row: 2,
      line: 3,
      errors: [{ path: '/ownerId', message: '"0055g00000XYZ" is not an active user of this workspace' }],
    };
    for (const query of [`${map}&dryRun=true`, map]) {
      const response = await importCsv(t, key, csv, query);
      assert.equal(response.statusCode, 200, response.body);
      const body = response.json();
      assert.deepEqual([body.rows, body.created, body.rejected, body.rejects], [3, 2, 1, [expected]], query);
    }
    const leads = await allLeads(t, key);
    assert.deepEqual(leads.map((l) => [l.email, l.ownerId]).sort(), [
      ['owned@acme.example.com', repId],
      ['unowned@acme.example.com', null],
    ]);
  });

  it('fails when its input or its reject handler fails; rounds handed to the database are written', async () => {
    const t = get();
    const { id, key } = await workspace(t);
    const ws = await t.services.workspaces.getWorkspace(id);
    const rows = (count: number) =>
      Array.from({ length: count }, (_, i) => `f${i}@acme.example.com\n`).join('');
    async function* broken() {
      yield Buffer.from(`Email\n${rows(1500)}`);
      throw new Error('connection reset by peer');
    }
    await assert.rejects(t.services.imports.importCsv(broken(), { workspace: ws }), /connection reset/);

    // 25,000 rows are two rounds; the bad row comes last, in the second.
    const failing = t.services.imports.importCsv(Readable.from([`Email\n${rows(25_000)}bad\n`]), {
      workspace: ws,
      onReject: () => {
        throw new Error('the disk is full');
      },
    });
    await assert.rejects(failing, /the disk is full/);
    const check = await importCsv(t, key, `Email\n${rows(25_000)}`, '?dryRun=true');
    assert.deepEqual([check.json().created, check.json().updated], [0, 25_000]);
  });
});
