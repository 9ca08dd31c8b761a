import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { it } from 'node:test';
import { MAX_MAGNET_FILE_BYTES } from '../../src/forms/magnet-files.ts';
import { MAGNET_LINK_TTL_MS } from '../../src/forms/magnet-links.ts';
import { type Json, type Tenant, tenant } from '../support/api.ts';
import { describeEachEngine, type TestApp, useApp } from '../support/engines.ts';

const PUBLIC_URL = 'https://leads.acme.example';
const GUIDE_NAME = 'Lead scoring guide – 2026 (final).pdf';

let slugs = 0;

/** A form without spam checks in the way (no render token needed), and no notifications. */
async function makeForm(w: Tenant, extra: Json = {}): Promise<Json> {
  return w.ok('POST', '/api/v1/forms', {
    name: 'Guide download',
    slug: `magnet-file-${process.pid}-${++slugs}`,
    fields: [
      { name: 'email', type: 'email', label: 'Work email', required: true, maps: 'email' },
      { name: 'firstName', type: 'text', maps: 'firstName' },
    ],
    spam: { minFillSeconds: 0, duplicateWindowSeconds: 0 },
    ...extra,
  });
}

/** Uploads `content` as the form's lead-magnet file, as `curl --data-binary` would. */
function upload(
  w: Tenant,
  formId: string,
  content: Buffer | string,
  query: Record<string, string> = { filename: GUIDE_NAME },
  /** null: no Content-Type header at all. */
  contentType: string | null = 'application/pdf',
) {
  return w.call(
    'PUT',
    `/api/v1/forms/${formId}/lead-magnet/file?${new URLSearchParams(query)}`,
    content,
    contentType === null ? {} : { 'content-type': contentType },
  );
}

async function uploaded(w: Tenant, formId: string, content: Buffer, query?: Record<string, string>) {
  const response = await upload(w, formId, content, query);
  assert.equal(response.statusCode, 200, response.body);
  return response.json() as Json;
}

/** A person fills in the form as a script (JSON) and gets the thank-you answer. */
async function submit(t: TestApp, slug: string, values: Json): Promise<Json> {
  const response = await t.app.inject({
    method: 'POST',
    url: `/f/${slug}`,
    headers: { 'content-type': 'application/json' },
    payload: values,
  });
  assert.equal(response.statusCode, 200, response.body);
  return response.json();
}

/** Follows a link Leadline made (absolute, under LEADLINE_PUBLIC_URL) through the app. */
function follow(t: TestApp, link: string, headers: Record<string, string> = {}) {
  assert.ok(link.startsWith(`${PUBLIC_URL}/`), link);
  return t.app.inject({ method: 'GET', url: link.slice(PUBLIC_URL.length), headers });
}

async function download(t: TestApp, link: string): Promise<Buffer> {
  const response = await follow(t, link);
  assert.equal(response.statusCode, 200, response.body);
  return response.rawPayload;
}

/** Runs the queued jobs; the dev mailbox's messages to `to`, oldest first, in full. */
async function mailTo(t: TestApp, w: Tenant, to: string): Promise<Json[]> {
  await t.services.jobs.runDue();
  const list = ((await w.ok('GET', '/api/v1/mailbox?limit=100')).data as Json[]).reverse();
  const full = await Promise.all(list.map((m) => w.ok('GET', `/api/v1/mailbox/${m.id}`)));
  return full.filter((m) => m.to[0] === to);
}

const linkIn = (text: string) => /https:\/\/leads\.acme\.example\/f\/\S+\/magnet\/\S+/.exec(text)?.[0];

function assertNotFoundPage(response: Awaited<ReturnType<typeof follow>>, as: 'html' | 'json') {
  assert.equal(response.statusCode, 404, response.body);
  if (as === 'json') {
    assert.match(String(response.headers['content-type']), /^application\/problem\+json/);
    assert.equal(response.json().code, 'LEAD_MAGNET_NOT_FOUND');
  } else {
    assert.match(String(response.headers['content-type']), /^text\/html/);
    assert.match(response.body, /invalid or has expired/);
  }
}

describeEachEngine('lead-magnet files', (engine) => {
  const get = useApp(engine, { LEADLINE_PUBLIC_URL: PUBLIC_URL });

  it('uploads a file; each submission downloads it by its own link, from the JSON answer and the email', async () => {
    const t = get();
    const w = await tenant(t, 'magnet');
    const form = await makeForm(w);
    const pdf = Buffer.concat([Buffer.from('%PDF-1.7\n'), randomBytes(300_000)]);
    const sha256 = createHash('sha256').update(pdf).digest('hex');

    const changed = await uploaded(w, form.id, pdf, { filename: GUIDE_NAME, title: 'The 2026 Guide' });
    const described = {
      title: 'The 2026 Guide',
      file: { name: GUIDE_NAME, contentType: 'application/pdf', size: pdf.length, sha256 },
    };
    assert.deepEqual(changed.leadMagnet, described);
    assert.deepEqual((await w.ok('GET', `/api/v1/forms/${form.id}`)).leadMagnet, described);
    // The owner downloads what visitors get.
    const own = await w.call('GET', `/api/v1/forms/${form.id}/lead-magnet/file`);
    assert.equal(own.statusCode, 200, own.body);
    assert.ok(own.rawPayload.equals(pdf));

    const answer = await submit(t, form.slug, { email: 'ada@example.com', firstName: 'Ada' });
    assert.equal(answer.leadMagnet.title, 'The 2026 Guide');
    const link: string = answer.leadMagnet.url;
    assert.match(link, new RegExp(`^${PUBLIC_URL}/f/${form.slug}/magnet/[A-Za-z0-9_.-]{60,100}$`));

    const response = await follow(t, link);
    assert.equal(response.statusCode, 200, response.body);
    assert.ok(response.rawPayload.equals(pdf), 'the bytes uploaded, unchanged');
    assert.equal(response.headers['content-type'], 'application/pdf');
    assert.equal(
      response.headers['content-disposition'],
      `attachment; filename="Lead scoring guide _ 2026 (final).pdf"; filename*=UTF-8''Lead%20scoring%20guide%20%E2%80%93%202026%20%28final%29.pdf`,
    );
    assert.equal(response.headers['x-content-type-options'], 'nosniff');
    assert.equal(response.headers['cache-control'], 'private');
    assert.equal(Number(response.headers['content-length']), pdf.length);

    // The email carries a link of the same submission, which downloads the same bytes.
    const [mail] = await mailTo(t, w, 'ada@example.com');
    assert.ok(mail, 'the lead magnet was emailed');
    assert.equal(mail.subject, 'Your download: The 2026 Guide');
    const emailed = linkIn(mail.text);
    assert.ok(emailed, mail.text);
    assert.match(mail.text, /The link works for 30 days\./);
    assert.ok(mail.html.includes(`href="${emailed}"`));
    assert.ok((await download(t, emailed)).equals(pdf));

    // Another person's submission gets a link of its own.
    const other = await submit(t, form.slug, { email: 'grace@example.com' });
    assert.notEqual(other.leadMagnet.url, link);
    assert.ok((await download(t, other.leadMagnet.url)).equals(pdf));

    // The activity names the file, never the link (a credential).
    const lead = (await w.ok('GET', '/api/v1/leads?q=ada@example.com')).data[0];
    const timeline = (await w.ok('GET', `/api/v1/leads/${lead.id}/timeline?limit=100`)).data as Json[];
    const downloaded = timeline.find((a) => a.type === 'content_downloaded');
    assert.ok(downloaded, 'content_downloaded is on the timeline');
    assert.equal(downloaded.properties.title, 'The 2026 Guide');
    assert.deepEqual(downloaded.properties.file, described.file);
    assert.equal(downloaded.properties.url, undefined);
    const submissionId = (await w.ok('GET', `/api/v1/forms/${form.id}/submissions`)).data.find(
      (s: Json) => s.leadId === lead.id,
    ).id;
    assert.equal(downloaded.properties.submissionId, submissionId);
  });

  it('serves parts of the file (206) by its link and to its owner: a resumed download, the last bytes, 416 past the end, the whole new file after a change (If-Range)', async () => {
    const t = get();
    const w = await tenant(t, 'magnet-ranges');
    const form = await makeForm(w);
    const pdf = Buffer.concat([Buffer.from('%PDF-1.7\n'), randomBytes(100_000)]);
    const etag = `"${createHash('sha256').update(pdf).digest('hex')}"`;
    await uploaded(w, form.id, pdf);
    const link: string = (await submit(t, form.slug, { email: 'ranges@example.com' })).leadMagnet.url;

    const whole = await follow(t, link);
    assert.equal(whole.statusCode, 200, whole.body);
    assert.equal(whole.headers['accept-ranges'], 'bytes');
    assert.equal(whole.headers.etag, etag);

    const first = await follow(t, link, { range: 'bytes=0-1023' });
    assert.equal(first.statusCode, 206, first.body);
    assert.equal(first.headers['content-range'], `bytes 0-1023/${pdf.length}`);
    assert.equal(Number(first.headers['content-length']), 1024);
    assert.ok(first.rawPayload.equals(pdf.subarray(0, 1024)));
    // Still a download, never a page.
    assert.equal(first.headers['content-type'], 'application/pdf');
    assert.equal(first.headers['content-disposition'], whole.headers['content-disposition']);
    assert.equal(first.headers['x-content-type-options'], 'nosniff');

    // A broken download resumes where it stopped while the file is the same one.
    const rest = await follow(t, link, { range: 'bytes=1024-', 'if-range': etag });
    assert.equal(rest.statusCode, 206, rest.body);
    assert.equal(rest.headers['content-range'], `bytes 1024-${pdf.length - 1}/${pdf.length}`);
    assert.ok(Buffer.concat([first.rawPayload, rest.rawPayload]).equals(pdf));
    const tail = await follow(t, link, { range: 'bytes=-100' });
    assert.equal(tail.statusCode, 206, tail.body);
    assert.ok(tail.rawPayload.equals(pdf.subarray(pdf.length - 100)));

    // Nothing of the range is in the file: 416 naming the header, with the size to ask again.
    const past = await follow(t, link, { range: `bytes=${pdf.length}-` });
    assert.equal(past.statusCode, 416, past.body);
    assert.equal(past.headers['content-range'], `bytes */${pdf.length}`);
    assert.match(String(past.headers['content-type']), /^application\/problem\+json/);
    assert.equal(past.json().code, 'RANGE_NOT_SATISFIABLE');
    assert.deepEqual(
      past.json().errors.map((e: Json) => e.path),
      ['/headers/range'],
    );

    // Backwards (last byte before the first) is a malformed range: the whole file.
    const backwards = await follow(t, link, { range: 'bytes=10-5' });
    assert.equal(backwards.statusCode, 200);
    assert.equal(backwards.rawPayload.length, pdf.length);

    // The file was replaced: resuming the old one gets the new one, whole.
    const newer = Buffer.concat([Buffer.from('%PDF-1.7\n'), randomBytes(50_000)]);
    await uploaded(w, form.id, newer);
    const resumed = await follow(t, link, { range: 'bytes=1024-', 'if-range': etag });
    assert.equal(resumed.statusCode, 200, resumed.body);
    assert.ok(resumed.rawPayload.equals(newer));

    // The owner's download takes ranges too.
    const own = await w.call('GET', `/api/v1/forms/${form.id}/lead-magnet/file`, undefined, {
      range: 'bytes=10-19',
    });
    assert.equal(own.statusCode, 206, own.body);
    assert.ok(own.rawPayload.equals(newer.subarray(10, 20)));
  });

  it('gives a browser the link on the thank-you page it is sent to; a forged one shows no link', async () => {
    const t = get();
    const w = await tenant(t, 'magnet');
    const form = await makeForm(w);
    const pdf = randomBytes(4096);
    await uploaded(w, form.id, pdf);

    const posted = await t.app.inject({
      method: 'POST',
      url: `/f/${form.slug}`,
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
      payload: new URLSearchParams({ email: 'ada@example.com' }).toString(),
    });
    assert.equal(posted.statusCode, 303, posted.body);
    const resolved = new URL(String(posted.headers.location), `https://leads.example/f/${form.slug}`);
    const location = `${resolved.pathname}${resolved.search}`;
    assert.match(location, new RegExp(`^/f/${form.slug}/thanks\\?magnet=`));
    const thanks = await t.app.inject({ method: 'GET', url: location });
    assert.equal(thanks.statusCode, 200);
    const href = /<a href="([^"]+)"[^>]*>([^<]+)<\/a>/.exec(thanks.body);
    assert.ok(href, thanks.body);
    assert.equal(href[2], GUIDE_NAME, 'titled by the file name when no title was given');
    assert.ok((await download(t, href[1]!)).equals(pdf));

    const forged = await t.app.inject({ method: 'GET', url: `/f/${form.slug}/thanks?magnet=AAAA.1.forged` });
    assert.equal(forged.statusCode, 200);
    assert.ok(!forged.body.includes('/magnet/'), 'no link Leadline did not make');
  });

  it('answers a quarantined submission the same, with a working link; its release emails one', async () => {
    const t = get();
    const w = await tenant(t, 'magnet');
    const form = await makeForm(w, { spam: { minFillSeconds: 3 } });
    const pdf = randomBytes(1000);
    await uploaded(w, form.id, pdf);
    // No render token: suspected spam, quarantined, answered like any other.
    const answer = await submit(t, form.slug, { email: 'bot@example.com' });
    assert.equal(answer.status, 'received');
    const held = (await w.ok('GET', `/api/v1/forms/quarantine?formId=${form.id}`)).data;
    assert.equal(held.length, 1);
    assert.ok((await download(t, answer.leadMagnet.url)).equals(pdf));
    assert.deepEqual(await mailTo(t, w, 'bot@example.com'), [], 'nobody is emailed while it is held');

    // Released by a person: written then, and its own link emailed.
    await w.ok('POST', `/api/v1/forms/quarantine/${held[0].id}/release`);
    const [mail] = await mailTo(t, w, 'bot@example.com');
    assert.ok(mail, 'the released submission emails the lead magnet');
    const emailed = linkIn(mail.text);
    assert.ok(emailed && emailed !== answer.leadMagnet.url, mail.text);
    assert.ok((await download(t, emailed)).equals(pdf));
  });

  it('refuses a file over 25 MiB (413), request bodies instead of files (415), a missing or unsafe name and an empty file', async () => {
    const t = get();
    const w = await tenant(t, 'magnet');
    const form = await makeForm(w);

    const tooLarge = await upload(w, form.id, Buffer.alloc(MAX_MAGNET_FILE_BYTES + 1, 7));
    assert.equal(tooLarge.statusCode, 413, tooLarge.body);
    assert.match(String(tooLarge.headers['content-type']), /^application\/problem\+json/);
    assert.equal(tooLarge.json().code, 'PAYLOAD_TOO_LARGE');
    assert.equal((await w.ok('GET', `/api/v1/forms/${form.id}`)).leadMagnet, null, 'nothing written');

    // Exactly 25 MiB is taken.
    const largest = Buffer.alloc(MAX_MAGNET_FILE_BYTES, 9);
    assert.equal((await uploaded(w, form.id, largest)).leadMagnet.file.size, MAX_MAGNET_FILE_BYTES);
    assert.ok((await w.call('GET', `/api/v1/forms/${form.id}/lead-magnet/file`)).rawPayload.equals(largest));

    for (const type of [
      'application/json',
      'application/problem+json; charset=utf-8',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
    ]) {
      const refused = await upload(w, form.id, '{"url":"https://example.com"}', undefined, type);
      assert.equal(refused.statusCode, 415, `${type}: ${refused.body}`);
      assert.equal(refused.json().code, 'UNSUPPORTED_MEDIA_TYPE');
    }

    const noName = await upload(w, form.id, 'x', {});
    assert.equal(noName.statusCode, 400, noName.body);
    assert.equal(noName.json().errors[0].path, '/query/filename');
    for (const filename of ['../etc/passwd', 'a\\b.pdf', 'bad\nname.pdf', '   ', 'x'.repeat(256)]) {
      const refused = await upload(w, form.id, 'x', { filename });
      assert.equal(refused.statusCode, 422, `${JSON.stringify(filename)}: ${refused.body}`);
      assert.deepEqual(
        refused.json().errors.map((e: Json) => e.path),
        ['/query/filename'],
      );
    }
    const empty = await upload(w, form.id, Buffer.alloc(0), { filename: 'empty.pdf' });
    assert.equal(empty.statusCode, 422, empty.body);
    assert.deepEqual(
      empty.json().errors.map((e: Json) => e.path),
      ['/body'],
    );

    // Any other type is a file; none at all is application/octet-stream.
    const csv = await upload(w, form.id, Buffer.from('a,b\n1,2\n'), { filename: 'data.csv' }, 'text/csv');
    assert.equal(csv.statusCode, 200, csv.body);
    assert.equal(csv.json().leadMagnet.file.contentType, 'text/csv');
    const untyped = await upload(w, form.id, Buffer.from('raw'), { filename: 'raw.bin' }, null);
    assert.equal(untyped.statusCode, 200, untyped.body);
    assert.equal(untyped.json().leadMagnet.file.contentType, 'application/octet-stream');
    const text = await upload(w, form.id, 'hello', { filename: 'hello.txt' }, 'Text/Plain; charset=UTF-8');
    assert.equal(text.statusCode, 200, text.body);
    assert.equal(text.json().leadMagnet.file.contentType, 'text/plain');
    assert.ok(
      (await w.call('GET', `/api/v1/forms/${form.id}/lead-magnet/file`)).rawPayload.equals(
        Buffer.from('hello'),
      ),
    );

    assert.equal(
      (
        await w.call('PUT', '/api/v1/forms/nope/lead-magnet/file?filename=a.pdf', 'x', {
          'content-type': 'application/pdf',
        })
      ).statusCode,
      404,
    );
  });

  it('answers 404 for a bad, expired or foreign link: an HTML page for browsers, problem+json for scripts', async () => {
    const t = get();
    const w = await tenant(t, 'magnet');
    const form = await makeForm(w);
    const second = await makeForm(w);
    await uploaded(w, form.id, randomBytes(100));
    await uploaded(w, second.id, randomBytes(100));
    const link: string = (await submit(t, form.slug, { email: 'ada@example.com' })).leadMagnet.url;
    const token = link.slice(link.lastIndexOf('/') + 1);
    const [id, expiry, mac] = token.split('.') as [string, string, string];

    const flipped = `${mac.slice(0, -2)}${mac.at(-2) === 'A' ? 'B' : 'A'}${mac.at(-1)}`;
    const cases = {
      tampered: `${PUBLIC_URL}/f/${form.slug}/magnet/${id}.${expiry}.${flipped}`,
      extended: `${PUBLIC_URL}/f/${form.slug}/magnet/${id}.${(Number.parseInt(expiry, 36) + 86_400_000).toString(36)}.${mac}`,
      garbage: `${PUBLIC_URL}/f/${form.slug}/magnet/not-a-token`,
      otherForm: `${PUBLIC_URL}/f/${second.slug}/magnet/${token}`,
      unknownForm: `${PUBLIC_URL}/f/no-such-form-${process.pid}/magnet/${token}`,
    };
    for (const [name, bad] of Object.entries(cases)) {
      assertNotFoundPage(await follow(t, bad, { accept: 'text/html' }), 'html');
      const json = await follow(t, bad, { accept: 'application/json' });
      assertNotFoundPage(json, 'json');
      assert.ok(json.statusCode === 404, name);
    }
    assert.equal((await follow(t, link)).statusCode, 200, 'the real link still works');

    // 30 days on, it has expired.
    t.clock.now += MAGNET_LINK_TTL_MS - 1;
    assert.equal((await follow(t, link)).statusCode, 200, 'good until the last millisecond');
    t.clock.now += 1;
    assertNotFoundPage(await follow(t, link, { accept: 'text/html' }), 'html');
  });

  it('replaces the file under the links already given; a URL or DELETE removes it and its links stop working', async () => {
    const t = get();
    const w = await tenant(t, 'magnet');
    const form = await makeForm(w, {
      leadMagnet: { title: 'Old guide', url: 'https://cdn.acme.example/old.pdf' },
    });
    const first = randomBytes(2000);
    // A file replaces the URL, and keeps its title.
    const withFile = await uploaded(w, form.id, first, { filename: 'v1.pdf' });
    assert.equal(withFile.leadMagnet.title, 'Old guide');
    assert.equal(withFile.leadMagnet.url, undefined);
    const link: string = (await submit(t, form.slug, { email: 'ada@example.com' })).leadMagnet.url;
    assert.ok((await download(t, link)).equals(first));

    const second = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>');
    const replaced = await upload(
      w,
      form.id,
      second,
      { filename: 'v2.svg', title: 'New guide' },
      'image/svg+xml',
    );
    assert.equal(replaced.statusCode, 200, replaced.body);
    assert.equal(replaced.json().leadMagnet.file.name, 'v2.svg');
    const now = await follow(t, link);
    assert.ok(now.rawPayload.equals(second), 'a link already sent gives the new file');
    // Never rendered on Leadline's origin: a download, unsniffed, sandboxed.
    assert.equal(now.headers['content-type'], 'image/svg+xml');
    assert.match(String(now.headers['content-disposition']), /^attachment; filename="v2\.svg"/);
    assert.equal(now.headers['x-content-type-options'], 'nosniff');
    assert.match(String(now.headers['content-security-policy']), /sandbox/);

    // A title alone renames the file's magnet; without a file it is not enough.
    const renamed = await w.ok('PATCH', `/api/v1/forms/${form.id}`, { leadMagnet: { title: 'Renamed' } });
    assert.deepEqual(renamed.leadMagnet, { title: 'Renamed', file: replaced.json().leadMagnet.file });
    assert.ok((await download(t, link)).equals(second));

    // A URL replaces the file: its bytes are gone, and so are its links.
    const url = { title: 'Elsewhere', url: 'https://cdn.acme.example/new.pdf' };
    assert.deepEqual((await w.ok('PATCH', `/api/v1/forms/${form.id}`, { leadMagnet: url })).leadMagnet, url);
    assertNotFoundPage(await follow(t, link, { accept: 'application/json' }), 'json');
    await w.problem(404, 'GET', `/api/v1/forms/${form.id}/lead-magnet/file`);
    const titleOnly = await w.problem(422, 'PATCH', `/api/v1/forms/${form.id}`, {
      leadMagnet: { title: 'No file' },
    });
    assert.equal(titleOnly.errors[0].path, '/leadMagnet/url');
    assert.equal((await submit(t, form.slug, { email: 'grace@example.com' })).leadMagnet.url, url.url);

    // DELETE removes a file and the lead magnet with it.
    await uploaded(w, form.id, first, { filename: 'v3.pdf' });
    const link3: string = (await submit(t, form.slug, { email: 'linus@example.com' })).leadMagnet.url;
    assert.ok((await download(t, link3)).equals(first));
    const deleted = await w.call('DELETE', `/api/v1/forms/${form.id}/lead-magnet/file`);
    assert.equal(deleted.statusCode, 204, deleted.body);
    assert.equal((await w.ok('GET', `/api/v1/forms/${form.id}`)).leadMagnet, null);
    assertNotFoundPage(await follow(t, link3, { accept: 'text/html' }), 'html');
    assert.equal((await submit(t, form.slug, { email: 'mary@example.com' })).leadMagnet, undefined);
    const again = await w.problem(404, 'DELETE', `/api/v1/forms/${form.id}/lead-magnet/file`);
    assert.equal(again.code, 'LEAD_MAGNET_NOT_FOUND');
  });

  it('stops serving the file of an archived form, which can no longer change', async () => {
    const t = get();
    const w = await tenant(t, 'magnet');
    const form = await makeForm(w);
    await uploaded(w, form.id, randomBytes(100));
    const link: string = (await submit(t, form.slug, { email: 'ada@example.com' })).leadMagnet.url;
    await w.ok('DELETE', `/api/v1/forms/${form.id}`);
    assertNotFoundPage(await follow(t, link, { accept: 'text/html' }), 'html');
    const refused = await w.problem(
      409,
      'PUT',
      `/api/v1/forms/${form.id}/lead-magnet/file?filename=a.pdf`,
      'x',
    );
    assert.equal(refused.code, 'CONFLICT');
    await w.problem(409, 'DELETE', `/api/v1/forms/${form.id}/lead-magnet/file`);
  });
});
