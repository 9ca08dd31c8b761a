import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { authHeaders, describeEachEngine, type TestApp, useApp } from '../support/engines.ts';

type Lead = Record<string, unknown> & { id: string };

function client(t: TestApp) {
  const send = (
    method: 'GET' | 'POST',
    url: string,
    payload?: unknown,
    headers: Record<string, string> = {},
  ) =>
    t.app.inject({
      method,
      url,
      headers: authHeaders(t.key, headers),
      ...(payload === undefined ? {} : { payload: payload as object }),
    });
  return {
    get: (url: string) => send('GET', url),
    post: (url: string, payload?: unknown, headers?: Record<string, string>) =>
      send('POST', url, payload, headers),
    /** POST /api/v1/leads that must succeed; returns the lead. */
    async capture(payload: Record<string, unknown>, status?: 200 | 201): Promise<Lead> {
      const response = await send('POST', '/api/v1/leads', payload);
      if (status) assert.equal(response.statusCode, status, response.body);
      else assert.ok(response.statusCode === 200 || response.statusCode === 201, response.body);
      return response.json();
    },
    async list(query: string): Promise<Lead[]> {
      const response = await send('GET', `/api/v1/leads?${query}`);
      assert.equal(response.statusCode, 200, `${query}: ${response.body}`);
      return response.json().data;
    },
    async timeline(
      id: string,
    ): Promise<Array<{ type: string; occurredAt: string; properties: Record<string, unknown> }>> {
      const response = await send('GET', `/api/v1/leads/${id}/timeline?limit=500`);
      assert.equal(response.statusCode, 200, response.body);
      return response.json().data;
    },
  };
}

function assertProblem(
  response: {
    statusCode: number;
    headers: Record<string, unknown>;
    json: () => { errors?: Array<{ path: string }> };
  },
  status: number,
  path?: string,
) {
  assert.equal(response.statusCode, status, JSON.stringify(response.json()));
  assert.match(String(response.headers['content-type']), /application\/problem\+json/);
  if (path) {
    assert.ok(
      response.json().errors?.some((e) => e.path === path),
      `expected an error at ${path}: ${JSON.stringify(response.json())}`,
    );
  }
}

const ids = (leads: Lead[]) => leads.map((lead) => lead.id);

/** A sales rep to own leads (an owner must be a user of the workspace); returns its id. */
async function salesRep(t: TestApp, name: string): Promise<string> {
  const response = await client(t).post('/api/v1/users', { name, email: `${name}@sales.example.org` });
  assert.equal(response.statusCode, 201, response.body);
  return response.json().id;
}

describeEachEngine('leads API', (engine) => {
  describe('create, update, get', () => {
    const get = useApp(engine);

    it('creates with 201, updates the same email with 200, and records both on the timeline', async () => {
      const api = client(get());
      const rep1 = await salesRep(get(), 'rep-1');
      const created = await api.capture({ email: 'Kay@Example.org', firstName: 'Kay' }, 201);
      const updated = await api.capture({ email: 'kay@example.org', jobTitle: 'CTO', ownerId: rep1 }, 200);
      assert.equal(updated.id, created.id);
      assert.equal(updated.firstName, 'Kay');
      assert.equal(updated.jobTitle, 'CTO');
      assert.equal(updated.ownerId, rep1);
      const types = (await api.timeline(created.id)).map((e) => e.type);
      // Setting an owner is an assignment (src/routing): recorded with the update.
      assert.deepEqual(types.sort(), ['lead_assigned', 'lead_created', 'lead_updated']);
    });

    it('answers 404 problem+json for an unknown lead id', async () => {
      const api = client(get());
      const response = await api.get('/api/v1/leads/01900000-0000-7000-8000-000000000000');
      assertProblem(response, 404);
      assert.equal(response.json().code, 'LEAD_NOT_FOUND');
      assertProblem(await api.get('/api/v1/leads/nope/timeline'), 404);
    });

    it('never merges two different emails automatically, even with the same phone', async () => {
      const api = client(get());
      const first = await api.capture({ email: 'twin1@example.org', phone: '+14155552671' }, 201);
      const second = await api.capture({ email: 'twin2@example.org', phone: '+14155552671' }, 201);
      assert.notEqual(second.id, first.id);
      assert.equal((await api.get(`/api/v1/leads/${first.id}`)).json().email, 'twin1@example.org');
    });

    it('gives a phone-only lead the email it is later captured with, phone and email together', async () => {
      const api = client(get());
      const phoneOnly = await api.capture({ phone: '+1 415 555 0132', firstName: 'Pat' }, 201);
      assert.equal(phoneOnly.email, null);
      const again = await api.capture({ phone: '+14155550132' }, 200);
      assert.equal(again.id, phoneOnly.id);
      const withEmail = await api.capture({ email: 'pat@example.org', phone: '+14155550132' }, 200);
      assert.equal(withEmail.id, phoneOnly.id);
      assert.equal(withEmail.email, 'pat@example.org');
      assert.equal(withEmail.firstName, 'Pat');
      // From now on the email finds it too.
      assert.equal((await api.capture({ email: 'pat@example.org', city: 'Oakland' }, 200)).id, phoneOnly.id);
    });
  });

  describe('batch', () => {
    const get = useApp(engine);

    it('writes the valid leads, reports the invalid ones with their paths, and writes nothing for them', async () => {
      const api = client(get());
      const existing = await api.capture({ email: 'known@batch.io' }, 201);
      const response = await api.post('/api/v1/leads/batch', {
        leads: [
          { email: 'new1@batch.io', firstName: 'New' },
          { email: 'not-an-email', firstName: 'Broken' },
          { email: 'known@batch.io', company: 'Known Inc' },
          { firstName: 'Nobody' },
          { email: 'typed@batch.io', companySize: 'many' },
          42,
          // Text PostgreSQL cannot store: a NUL, a lone surrogate. Only these leads are refused.
          { email: 'nul@batch.io', firstName: 'a\u0000b' },
          { email: 'lone@batch.io', properties: { note: '\ud83d' } },
        ],
      });
      assert.equal(response.statusCode, 200, response.body);
      const body = response.json();
      assert.deepEqual([body.created, body.updated, body.rejected], [1, 1, 6]);
      const [r0, r1, r2, r3, r4, r5, r6, r7] = body.results;
      assert.deepEqual(
        [r6.errors[0].path, r7.errors[0].path],
        ['/leads/6/firstName', '/leads/7/properties/note'],
      );
      assert.equal(r0.status, 'created');
      assert.deepEqual(r1, {
        index: 1,
        status: 'rejected',
        errors: [{ path: '/leads/1/email', message: r1.errors[0].message }],
      });
      assert.equal(r2.status, 'updated');
      assert.equal(r2.id, existing.id);
      assert.equal(r3.errors[0].path, '/leads/3/email');
      assert.equal(r4.errors[0].path, '/leads/4/companySize');
      assert.equal(r5.errors[0].path, '/leads/5');
      assert.deepEqual(await api.list('q=broken'), []);
      assert.deepEqual(await api.list('q=nobody'), []);
      assert.equal((await api.get(`/api/v1/leads/${r0.id}`)).json().firstName, 'New');
      assert.equal((await api.get(`/api/v1/leads/${existing.id}`)).json().company, 'Known Inc');
    });

    it('updates several known leads in one batch, each with its own fields (one statement on PostgreSQL)', async () => {
      const api = client(get());
      const a = await api.capture({ email: 'a@known.io', firstName: 'Ann', companySize: 10 }, 201);
      const b = await api.capture({ email: 'b@known.io', city: 'Lyon', properties: { plan: 'free' } }, 201);
      const c = await api.capture({ email: 'c@known.io', jobTitle: 'Intern' }, 201);
      const response = await api.post('/api/v1/leads/batch', {
        leads: [
          { email: 'a@known.io', companySize: 250, utm: { source: 'newsletter', medium: 'email' } },
          { email: 'b@known.io', properties: { plan: 'pro', seats: 12 } },
          { email: 'new@known.io', firstName: 'Neo' },
          { email: 'c@known.io', jobTitle: 'VP Sales', country: 'France', company: 'Gammaray Ltd' },
        ],
      });
      assert.equal(response.statusCode, 200, response.body);
      assert.deepEqual([response.json().created, response.json().updated], [1, 3]);
      const lead = async (id: string) => (await api.get(`/api/v1/leads/${id}`)).json();
      const [afterA, afterB, afterC] = [await lead(a.id), await lead(b.id), await lead(c.id)];
      assert.deepEqual([afterA.firstName, afterA.companySize], ['Ann', 250]);
      assert.equal(afterA.lastTouch.utm.source, 'newsletter');
      assert.equal(afterA.lastTouch.channel, 'email');
      assert.deepEqual([afterB.city, afterB.properties], ['Lyon', { plan: 'pro', seats: 12 }]);
      assert.deepEqual([afterC.jobTitle, afterC.country], ['VP Sales', 'FR']);
      // Each found by what the update wrote into the indexed search text, and only its own.
      assert.deepEqual(
        (await api.list('q=gammaray')).map((l) => l.id),
        [c.id],
      );
    });

    it('makes one lead of the same email given twice in one batch, the later fields winning', async () => {
      const api = client(get());
      const response = await api.post('/api/v1/leads/batch', {
        leads: [
          { email: 'Twice@Batch.io', firstName: 'First', city: 'Paris' },
          { email: 'twice@batch.io', firstName: 'Second' },
        ],
      });
      assert.equal(response.statusCode, 200, response.body);
      const [a, b] = response.json().results;
      assert.equal(a.id, b.id);
      const found = await api.list('q=twice@batch.io');
      assert.equal(found.length, 1);
      assert.equal(found[0]!.firstName, 'Second');
      assert.equal(found[0]!.city, 'Paris');
    });

    it('refuses more than 1000 leads, and an empty batch, with 400 naming /leads', async () => {
      const api = client(get());
      const leads = Array.from({ length: 1001 }, (_, i) => ({ email: `bulk${i}@batch.io` }));
      assertProblem(await api.post('/api/v1/leads/batch', { leads }), 400, '/leads');
      assertProblem(await api.post('/api/v1/leads/batch', { leads: [] }), 400, '/leads');
      assert.deepEqual(await api.list('q=bulk0@'), []);
    });

    it('accepts exactly 1000 leads', async () => {
      const api = client(get());
      const leads = Array.from({ length: 1000 }, (_, i) => ({ email: `max${i}@batch.io` }));
      const response = await api.post('/api/v1/leads/batch', { leads });
      assert.equal(response.statusCode, 200, response.body);
      assert.equal(response.json().created, 1000);
    });
  });

  describe('list', () => {
    const get = useApp(engine);
    let ada: Lead;
    let grace: Lead;
    let alan: Lead;
    let t0: number;
    let rep1: string;

    it('sets up three leads a second apart', async () => {
      const t = get();
      const api = client(t);
      rep1 = await salesRep(t, 'rep-1');
      const rep2 = await salesRep(t, 'rep-2');
      t0 = t.clock.now;
      ada = await api.capture({
        email: 'ada@analytical.io',
        firstName: 'Ada',
        lastName: 'Lovelace',
        company: 'Under_Score Ltd',
        ownerId: rep1,
        utm: { source: 'google', medium: 'cpc' },
      });
      t.clock.now += 1000;
      grace = await api.capture({
        email: 'grace@navy.mil',
        firstName: 'Grace',
        lastName: 'Hopper',
        company: '100% Cotton',
        stage: 'mql',
        ownerId: rep2,
        utm: { source: 'newsletter', medium: 'email' },
      });
      t.clock.now += 1000;
      alan = await api.capture({ email: 'alan@turing.org', firstName: 'Alan', stage: 'customer' });
      t.clock.now += 1000;
      assert.equal(ada.channel, 'paid_search');
      assert.equal(grace.channel, 'email');
    });

    it('filters by stage, owner, channel and source', async () => {
      const api = client(get());
      assert.deepEqual(ids(await api.list('stage=mql')), [grace.id]);
      assert.deepEqual(ids(await api.list('stage=customer')), [alan.id]);
      assert.deepEqual(ids(await api.list(`owner=${rep1}`)), [ada.id]);
      assert.deepEqual(ids(await api.list('channel=email')), [grace.id]);
      assert.deepEqual(ids(await api.list('source=google')), [ada.id]);
      assert.deepEqual(ids(await api.list(`stage=mql&owner=${rep1}`)), []);
      assertProblem(await api.get('/api/v1/leads?stage=martian'), 400, '/query/stage');
      assertProblem(await api.get('/api/v1/leads?channel=carrier_pigeon'), 400, '/query/channel');
    });

    it('filters by creation time, from inclusive to exclusive, in ISO 8601 or epoch ms', async () => {
      const api = client(get());
      const iso = (ms: number) => encodeURIComponent(new Date(ms).toISOString());
      assert.deepEqual(ids(await api.list(`createdFrom=${t0 + 1000}&sort=createdAt`)), [grace.id, alan.id]);
      assert.deepEqual(ids(await api.list(`createdTo=${iso(t0 + 1000)}`)), [ada.id]);
      assert.deepEqual(ids(await api.list(`createdFrom=${iso(t0 + 1000)}&createdTo=${t0 + 2000}`)), [
        grace.id,
      ]);
      assertProblem(await api.get('/api/v1/leads?createdFrom=yesterday'), 422, '/query/createdFrom');
    });

    it('searches name, email and company case-insensitively, with LIKE wildcards taken literally', async () => {
      const api = client(get());
      assert.deepEqual(ids(await api.list('q=LOVELACE')), [ada.id]);
      assert.deepEqual(ids(await api.list('q=grace%20hopper')), [grace.id]);
      assert.deepEqual(ids(await api.list('q=TURING.org')), [alan.id]);
      assert.deepEqual(ids(await api.list('q=cotton')), [grace.id]);
      assert.deepEqual(ids(await api.list(`q=${encodeURIComponent('%')}`)), [grace.id]);
      assert.deepEqual(ids(await api.list('q=_')), [ada.id]);
      assert.deepEqual(ids(await api.list(`q=${encodeURIComponent('a%e')}`)), []);
      assert.deepEqual(ids(await api.list(`q=${encodeURIComponent('\\')}`)), []);
    });

    it('sorts by createdAt and updatedAt in both directions', async () => {
      const t = get();
      const api = client(t);
      assert.deepEqual(ids(await api.list('')), [alan.id, grace.id, ada.id]);
      assert.deepEqual(ids(await api.list('sort=-createdAt')), [alan.id, grace.id, ada.id]);
      assert.deepEqual(ids(await api.list('sort=createdAt')), [ada.id, grace.id, alan.id]);
      await api.capture({ email: 'ada@analytical.io', jobTitle: 'Analyst' }, 200);
      t.clock.now += 1000;
      assert.deepEqual(ids(await api.list('sort=updatedAt')), [grace.id, alan.id, ada.id]);
      assert.deepEqual(ids(await api.list('sort=-updatedAt')), [ada.id, alan.id, grace.id]);
      assertProblem(await api.get('/api/v1/leads?sort=email'), 400, '/query/sort');
    });

    it('refuses a limit over 500 and a cursor it did not issue', async () => {
      const api = client(get());
      assertProblem(await api.get('/api/v1/leads?limit=501'), 400, '/query/limit');
      assertProblem(await api.get('/api/v1/leads?limit=0'), 400, '/query/limit');
      assertProblem(await api.get('/api/v1/leads?cursor=not-a-cursor'), 422, '/query/cursor');
      const forged = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
      for (const cursor of [forged([1.5, 'x']), forged([1e300, 'x']), forged(['1', 'x']), forged({ a: 1 })]) {
        assertProblem(await api.get(`/api/v1/leads?cursor=${cursor}`), 422, '/query/cursor');
      }
      assertProblem(await api.get('/api/v1/leads?nope=1'), 400, '/query/nope');
    });
  });

  describe('pagination', () => {
    const get = useApp(engine);

    it('walks every page in both directions without gaps or duplicates, ties on time included', async () => {
      const t = get();
      const api = client(t);
      const all: string[] = [];
      for (let i = 0; i < 12; i++) {
        all.push((await api.capture({ email: `page${i}@walk.io` })).id);
        t.clock.now += 1000;
      }
      // Seven leads created in the same millisecond: the id breaks the tie.
      const batch = await api.post('/api/v1/leads/batch', {
        leads: Array.from({ length: 7 }, (_, i) => ({ email: `tie${i}@walk.io` })),
      });
      all.push(...batch.json().results.map((r: { id: string }) => r.id));

      for (const sort of ['createdAt', '-createdAt', 'updatedAt', '-updatedAt']) {
        const seen: string[] = [];
        let cursor: string | null = null;
        let pages = 0;
        do {
          const query: string = `sort=${sort}&limit=4${cursor ? `&cursor=${cursor}` : ''}`;
          const response = await api.get(`/api/v1/leads?${query}`);
          assert.equal(response.statusCode, 200, response.body);
          const page = response.json();
          seen.push(...ids(page.data));
          cursor = page.nextCursor;
          pages++;
          assert.ok(pages < 20, 'pagination does not end');
        } while (cursor);
        assert.equal(new Set(seen).size, seen.length, `${sort}: duplicates`);
        assert.deepEqual([...seen].sort(), [...all].sort(), `${sort}: gaps`);
        const everything = ids(await api.list(`sort=${sort}&limit=500`));
        assert.deepEqual(seen, everything, `${sort}: pages disagree with one big page`);
      }
    });

    it('refuses a cursor of another sort, another lead or another list: 422 at /query/cursor, not an empty page', async () => {
      const t = get();
      const api = client(t);
      const [a, b] = [
        await api.capture({ email: 'a@cursor.io' }),
        await api.capture({ email: 'b@cursor.io' }),
      ];
      for (let i = 0; i < 4; i++) {
        t.clock.now += 1000;
        await api.capture({ email: `more${i}@cursor.io`, source: i % 2 ? 'ads' : 'seo' });
        await api.capture({ email: 'a@cursor.io', city: `City ${i}` });
      }
      const cursorOf = async (url: string): Promise<string> => {
        const response = await api.get(url);
        assert.equal(response.statusCode, 200, response.body);
        const cursor = response.json().nextCursor;
        assert.equal(typeof cursor, 'string', `${url} has a next page`);
        return cursor;
      };
      const refused = async (url: string) => {
        const response = await api.get(url);
        assertProblem(response, 422, '/query/cursor');
        const error = (response.json() as { errors: Array<{ path: string; message: string }> }).errors[0]!;
        assert.match(error.message, /another list.*start again without it/, url);
      };

      const ascending = await cursorOf('/api/v1/leads?limit=2&sort=createdAt');
      for (const sort of ['-updatedAt', '-createdAt', 'updatedAt']) {
        await refused(`/api/v1/leads?limit=2&sort=${sort}&cursor=${ascending}`);
      }
      await refused(`/api/v1/leads?limit=2&cursor=${ascending}`); // the default sort, -createdAt
      const newest = await cursorOf('/api/v1/leads?limit=2');
      await refused(`/api/v1/leads?limit=2&sort=createdAt&cursor=${newest}`);
      assert.equal((await api.get(`/api/v1/leads?limit=2&sort=-createdAt&cursor=${newest}`)).statusCode, 200);
      // A filter is not part of what a cursor pages: changing it between pages keeps the position.
      const filtered = await api.get(`/api/v1/leads?limit=2&sort=createdAt&source=ads&cursor=${ascending}`);
      assert.equal(filtered.statusCode, 200, filtered.body);

      const timelineOfA = await cursorOf(`/api/v1/leads/${a.id}/timeline?limit=2`);
      await refused(`/api/v1/leads/${b.id}/timeline?cursor=${timelineOfA}`);
      await refused(`/api/v1/leads/${a.id}/timeline?cursor=${ascending}`);
      await refused(`/api/v1/leads/${a.id}/timeline?cursor=${newest}`);
      await refused(`/api/v1/leads?cursor=${timelineOfA}`);
      assert.equal((await api.get(`/api/v1/leads/${a.id}/timeline?cursor=${timelineOfA}`)).statusCode, 200);
    });
  });

  describe('timeline', () => {
    const get = useApp(engine);

    it('lists newest first, page by page', async () => {
      const t = get();
      const api = client(t);
      const lead = await api.capture({ email: 'busy@timeline.io' });
      for (let i = 0; i < 6; i++) {
        t.clock.now += 1000;
        await api.capture({ email: 'busy@timeline.io', city: `City ${i}` });
      }
      const full = await api.timeline(lead.id);
      assert.equal(full.length, 7);
      assert.equal(full.at(-1)!.type, 'lead_created');
      const times = full.map((e) => Date.parse(e.occurredAt));
      assert.deepEqual(
        times,
        [...times].sort((a, b) => b - a),
      );

      const walked: unknown[] = [];
      let cursor: string | null = null;
      do {
        const url: string = `/api/v1/leads/${lead.id}/timeline?limit=3${cursor ? `&cursor=${cursor}` : ''}`;
        const page = (await api.get(url)).json();
        assert.ok(page.data.length <= 3);
        walked.push(...page.data);
        cursor = page.nextCursor;
      } while (cursor);
      assert.deepEqual(walked, full);
      assertProblem(await api.get(`/api/v1/leads/${lead.id}/timeline?cursor=%%%`), 422, '/query/cursor');
    });
  });

  describe('archive', () => {
    const get = useApp(engine);

    it('hides an archived lead from the list until a new capture restores it', async () => {
      const t = get();
      const api = client(t);
      const lead = await api.capture({ email: 'gone@archive.io', firstName: 'Gone' });
      t.clock.now += 1000;
      const archived = await api.post(`/api/v1/leads/${lead.id}/archive`);
      assert.equal(archived.statusCode, 200, archived.body);
      assert.ok(archived.json().archivedAt);
      assert.deepEqual(await api.list('q=gone@'), []);
      assert.deepEqual(ids(await api.list('q=gone@&includeArchived=true')), [lead.id]);
      assert.equal((await api.get(`/api/v1/leads/${lead.id}`)).statusCode, 200);

      t.clock.now += 1000;
      const back = await api.capture({ email: 'gone@archive.io' }, 200);
      assert.equal(back.id, lead.id);
      assert.equal(back.archivedAt, null);
      assert.deepEqual(ids(await api.list('q=gone@')), [lead.id]);
      const types = (await api.timeline(lead.id)).map((e) => e.type);
      assert.deepEqual(types, ['lead_restored', 'lead_archived', 'lead_created']);
      assertProblem(await api.post('/api/v1/leads/unknown-id/archive'), 404);
    });

    it('refuses to archive a merged-away lead, naming the survivor', async () => {
      const api = client(get());
      const survivor = await api.capture({ email: 'keep@archive.io' }, 201);
      const merged = await api.capture({ email: 'gone-by-merge@archive.io' }, 201);
      assert.equal(
        (await api.post(`/api/v1/leads/${survivor.id}/merge`, { otherId: merged.id })).statusCode,
        200,
      );
      const refused = await api.post(`/api/v1/leads/${merged.id}/archive`);
      assertProblem(refused, 409);
      assert.match(refused.json().detail, new RegExp(`merged into lead ${survivor.id}`));
      assert.equal((await api.get(`/api/v1/leads/${survivor.id}`)).json().archivedAt, null);
    });
  });

  describe('merge', () => {
    const get = useApp(engine);

    it("moves the other lead's timeline, properties and earlier first touch to the survivor", async () => {
      const t = get();
      const api = client(t);
      const other = await api.capture({
        email: 'old@merge.io',
        phone: '+14155550100',
        jobTitle: 'Engineer',
        properties: { shoe: 42, colour: 'red' },
        utm: { source: 'google', medium: 'cpc' },
      });
      t.clock.now += 60_000;
      const survivor = await api.capture({
        email: 'new@merge.io',
        firstName: 'Sam',
        stage: 'mql',
        properties: { colour: 'blue' },
        referrer: 'https://news.ycombinator.com/',
      });
      t.clock.now += 60_000;
      const response = await api.post(`/api/v1/leads/${survivor.id}/merge`, { otherId: other.id });
      assert.equal(response.statusCode, 200, response.body);
      const merged = response.json();
      assert.equal(merged.id, survivor.id);
      assert.equal(merged.email, 'new@merge.io');
      assert.equal(merged.firstName, 'Sam');
      assert.equal(merged.jobTitle, 'Engineer');
      assert.equal(merged.phone, '+14155550100');
      assert.deepEqual(merged.properties, { shoe: 42, colour: 'blue' });
      assert.equal(merged.firstTouch.channel, 'paid_search');
      assert.equal(merged.lastTouch.channel, 'referral');
      assert.equal(merged.source, 'google');
      assert.equal(merged.stage, 'mql');
      assert.equal(merged.createdAt, other.createdAt);

      const timeline = await api.timeline(survivor.id);
      assert.equal(timeline[0]!.type, 'lead_merged');
      assert.equal(timeline[0]!.properties.mergedLeadId, other.id);
      assert.equal(timeline.filter((e) => e.type === 'lead_created').length, 2);
      assert.deepEqual(await api.timeline(other.id), []);
      assert.equal((await api.get(`/api/v1/leads/${other.id}`)).json().mergedIntoId, survivor.id);
      assert.deepEqual(ids(await api.list('q=merge.io')), [survivor.id]);

      // The merged-away email now finds the survivor, which keeps its own email.
      t.clock.now += 1000;
      const later = await api.capture({ email: 'old@merge.io', city: 'Lyon' }, 200);
      assert.equal(later.id, survivor.id);
      assert.equal(later.email, 'new@merge.io');
      assert.equal(later.city, 'Lyon');
      const batch = await api.post('/api/v1/leads/batch', {
        leads: [
          { email: 'old@merge.io', lastName: 'One' },
          { email: 'OLD@merge.io', industry: 'Two' },
        ],
      });
      assert.deepEqual(
        batch.json().results.map((r: { id: string }) => r.id),
        [survivor.id, survivor.id],
      );
      const after = (await api.get(`/api/v1/leads/${survivor.id}`)).json();
      assert.equal(after.lastName, 'One');
      assert.equal(after.industry, 'Two');
    });

    it('refuses to merge a lead into itself (409), an unknown lead (404), or one already merged (409)', async () => {
      const api = client(get());
      const a = await api.capture({ email: 'a@refuse.io' });
      const b = await api.capture({ email: 'b@refuse.io' });
      const self = await api.post(`/api/v1/leads/${a.id}/merge`, { otherId: a.id });
      assertProblem(self, 409, '/otherId');
      const unknown = await api.post(`/api/v1/leads/${a.id}/merge`, { otherId: 'no-such-lead' });
      assertProblem(unknown, 404, '/otherId');
      assertProblem(await api.post('/api/v1/leads/no-such-lead/merge', { otherId: a.id }), 404);
      assert.equal((await api.post(`/api/v1/leads/${a.id}/merge`, { otherId: b.id })).statusCode, 200);
      assertProblem(await api.post(`/api/v1/leads/${a.id}/merge`, { otherId: b.id }), 409);
      assertProblem(await api.post(`/api/v1/leads/${b.id}/merge`, { otherId: a.id }), 409);
      assertProblem(await api.post(`/api/v1/leads/${a.id}/merge`, {}), 400, '/otherId');
    });

    it('lets a merged-away phone-only contact find the survivor', async () => {
      const api = client(get());
      const survivor = await api.capture({ phone: '+14155550111', firstName: 'Phone One' });
      const other = await api.capture({ phone: '+14155550122', lastName: 'Phone Two' });
      assert.equal(
        (await api.post(`/api/v1/leads/${survivor.id}/merge`, { otherId: other.id })).statusCode,
        200,
      );
      const again = await api.capture({ phone: '+14155550122', city: 'Reno' }, 200);
      assert.equal(again.id, survivor.id);
      assert.equal(again.phone, '+14155550111');
      assert.equal(again.city, 'Reno');
      // With an email, the survivor (still phone-only) gets it.
      const withEmail = await api.capture({ phone: '+14155550122', email: 'phones@merge.io' }, 200);
      assert.equal(withEmail.id, survivor.id);
      assert.equal(withEmail.email, 'phones@merge.io');
      // Its phone's redirect now leads to a lead with an email: another email is another person.
      const stranger = await api.capture({ phone: '+14155550122', email: 'stranger@merge.io' }, 201);
      assert.notEqual(stranger.id, survivor.id);
    });

    it('lets a merged-away phone-only contact find a survivor with an email that took its phone', async () => {
      const api = client(get());
      const survivor = await api.capture({ email: 'took-the-phone@merge.io' }, 201);
      const phoneOnly = await api.capture({ phone: '+14155550155', firstName: 'Caller' }, 201);
      const merged = await api.post(`/api/v1/leads/${survivor.id}/merge`, { otherId: phoneOnly.id });
      assert.equal(merged.json().phone, '+14155550155', merged.body);
      const again = await api.capture({ phone: '+14155550155', city: 'Reno' }, 200);
      assert.deepEqual([again.id, again.email, again.city], [survivor.id, 'took-the-phone@merge.io', 'Reno']);
    });

    it('merges when the survivor takes the email of a lead whose phone another phone-only lead has', async () => {
      const api = client(get());
      const withEmail = await api.capture({ email: 'taken@merge.io', phone: '+14155550133' }, 201);
      // The same phone without an email is another, phone-only lead (the first has an email).
      const phoneOnly = await api.capture({ phone: '+14155550133' }, 201);
      assert.notEqual(phoneOnly.id, withEmail.id);
      const survivor = await api.capture({ phone: '+14155550144', firstName: 'Keeper' });
      const response = await api.post(`/api/v1/leads/${survivor.id}/merge`, { otherId: withEmail.id });
      assert.equal(response.statusCode, 200, response.body);
      assert.equal(response.json().email, 'taken@merge.io');
      assert.equal((await api.capture({ email: 'taken@merge.io' }, 200)).id, survivor.id);
      assert.equal((await api.capture({ phone: '+14155550133' }, 200)).id, phoneOnly.id);
    });
  });
});
