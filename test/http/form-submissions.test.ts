import assert from 'node:assert/strict';
import { it } from 'node:test';
import { type Json, type Tenant, tenant } from '../support/api.ts';
import { describeEachEngine, type TestApp, useApp } from '../support/engines.ts';

let slugs = 0;
const freshSlug = (prefix: string) => `${prefix}-${process.pid}-${++slugs}`;

/** A newsletter-style form: email (required), name, company, a free question, a consent box. */
function signupForm(extra: Json = {}): Json {
  return {
    name: 'Webinar signup',
    slug: freshSlug('signup'),
    fields: [
      { name: 'email', type: 'email', label: 'Work email', required: true, maps: 'email' },
      { name: 'first_name', type: 'text', label: 'First name', maps: 'firstName' },
      { name: 'company', type: 'text', maps: 'company' },
      { name: 'question', type: 'textarea', label: 'Your question' },
    ],
    consents: [
      {
        purpose: 'marketing',
        text: 'Send me product news.',
        version: 'v1',
        privacyUrl: 'https://example.com/privacy',
      },
    ],
    source: 'webinar',
    ...extra,
  };
}

type Values = Record<string, string | string[]>;

/** Public calls for one form: its definition, and submissions as a script (JSON) or a browser (form-encoded). */
function visitor(t: TestApp, slug: string) {
  const definition = async (query = '', headers: Record<string, string> = {}) =>
    t.app.inject({ method: 'GET', url: `/f/${slug}/definition${query}`, headers });
  return {
    definition,
    /** A render token, with the minimum fill time waited out on the app's clock. */
    async token(): Promise<string> {
      const response = await definition();
      assert.equal(response.statusCode, 200, response.body);
      t.clock.now += 5_000;
      return response.json().token;
    },
    postJson: (values: Values, headers: Record<string, string> = {}) =>
      t.app.inject({ method: 'POST', url: `/f/${slug}`, headers, payload: { fields: values } }),
    postForm: (values: Values, headers: Record<string, string> = {}) => {
      const body = new URLSearchParams();
      for (const [name, value] of Object.entries(values))
        for (const one of Array.isArray(value) ? value : [value]) body.append(name, one);
      return t.app.inject({
        method: 'POST',
        url: `/f/${slug}`,
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html', ...headers },
        payload: body.toString(),
      });
    },
  };
}

async function leadsOf(w: Tenant): Promise<Json[]> {
  return (await w.ok('GET', '/api/v1/leads?limit=500')).data;
}

async function timelineOf(w: Tenant, leadId: string): Promise<Json[]> {
  return (await w.ok('GET', `/api/v1/leads/${leadId}/timeline?limit=500`)).data;
}

describeEachEngine('form submissions', (engine) => {
  const get = useApp(engine);

  it('captures the lead from a JSON submission, with the form_submitted activity, UTM and answers', async () => {
    const t = get();
    const w = await tenant(t, 'subs');
    const form = await w.ok('POST', '/api/v1/forms', signupForm());
    const v = visitor(t, form.slug);
    const token = await v.token();
    const response = await v.postJson({
      email: ' Ada@Example.com ',
      first_name: 'Ada',
      company: 'Analytical Engines',
      question: 'Is there a recording?',
      _ll_consent_marketing: 'on',
      _ll_ts: token,
      _ll_hp: '',
      _ll_page: 'https://www.example.com/webinar?utm_source=newsletter',
      _ll_ref: 'https://news.example.net/',
      utm_source: 'linkedin',
      utm_medium: 'paid_social',
      utm_campaign: 'spring',
      unknown_name: 'ignored',
    });
    assert.equal(response.statusCode, 200, response.body);
    assert.deepEqual(response.json(), {
      status: 'received',
      message: 'Thank you! We have received your submission.',
    });

    const lead = (await leadsOf(w))[0]!;
    assert.equal(lead.email, 'ada@example.com');
    assert.equal(lead.firstName, 'Ada');
    assert.equal(lead.company, 'Analytical Engines');
    assert.equal(lead.source, 'webinar');
    // The form's source (`webinar`) names the channel before the UTM medium does.
    assert.equal(lead.channel, 'events');
    assert.deepEqual(lead.firstTouch.utm, { source: 'linkedin', medium: 'paid_social', campaign: 'spring' });
    assert.equal(lead.firstTouch.landingPage, 'https://www.example.com/webinar?utm_source=newsletter');

    const submitted = (await timelineOf(w, lead.id)).find((e) => e.type === 'form_submitted');
    assert.ok(submitted, 'the form_submitted activity is on the timeline');
    const p = submitted.properties;
    assert.equal(p.formId, form.id);
    assert.equal(p.formSlug, form.slug);
    assert.equal(p.form, 'Webinar signup');
    assert.equal(p.pageUrl, 'https://www.example.com/webinar?utm_source=newsletter');
    assert.equal(p.referrer, 'https://news.example.net/');
    assert.deepEqual(p.utm, { source: 'linkedin', medium: 'paid_social', campaign: 'spring' });
    assert.deepEqual(p.answers, { question: 'Is there a recording?' });

    const submissions = await w.ok('GET', `/api/v1/forms/${form.id}/submissions`);
    assert.equal(submissions.data.length, 1);
    assert.equal(submissions.data[0].leadId, lead.id);
    assert.equal(submissions.data[0].id, p.submissionId);

    const consents = await w.ok('GET', `/api/v1/leads/${lead.id}/consents`);
    assert.deepEqual(
      consents.data.map((c: Json) => [c.purpose, c.status, c.version]),
      [['marketing', 'granted', 'v1']],
    );
  });

  it('in a strict workspace: refuses fields that fill undefined properties, and a visitor is never refused for one', async () => {
    const t = get();
    const w = await tenant(t, 'subs');
    await w.ok('PATCH', '/api/v1/workspace', { settings: { strictProperties: true } });
    await w.ok('POST', '/api/v1/properties', { name: 'plan', type: 'string' });
    const fields = [
      { name: 'email', type: 'email', required: true, maps: 'email' },
      { name: 'plan', type: 'text', maps: 'properties.plan' },
    ];
    const refused = await w.problem(422, 'POST', '/api/v1/forms', {
      ...signupForm(),
      fields: [...fields, { name: 'seats', type: 'text', maps: 'properties.seats' }],
    });
    assert.deepEqual(
      refused.errors.map((e: Json) => e.path),
      ['/fields/2/maps'],
    );
    const form = await w.ok('POST', '/api/v1/forms', { ...signupForm(), fields });

    // The definition goes after the form was built: the visitor's answer stays on the activity.
    await w.ok('DELETE', '/api/v1/properties/plan');
    const v = visitor(t, form.slug);
    const response = await v.postJson({ email: 'strict@example.com', plan: 'pro', _ll_ts: await v.token() });
    assert.equal(response.statusCode, 200, response.body);
    const lead = (await leadsOf(w))[0]!;
    assert.deepEqual(lead.properties, {});
    const submitted = (await timelineOf(w, lead.id)).find((e) => e.type === 'form_submitted')!;
    assert.deepEqual(submitted.properties.answers, { plan: 'pro' });
  });

  it('sends a consent ticked next to wording that has changed since back to be read again', async () => {
    const t = get();
    const w = await tenant(t, 'subs');
    const form = await w.ok('POST', '/api/v1/forms', signupForm());
    const v = visitor(t, form.slug);
    const page = await t.app.inject({ method: 'GET', url: `/f/${form.slug}` });
    // The box's value names the wording it stands next to.
    assert.match(page.body, /name="_ll_consent_marketing" value="v:v1"/);
    const definition = (await v.definition()).json();
    assert.equal(definition.consents[0].version, 'v1');

    await w.ok('PATCH', `/api/v1/forms/${form.id}`, {
      consents: [{ purpose: 'marketing', text: 'We share your data with partners.', version: 'v2' }],
    });
    const stale = { email: 'stale@example.com', _ll_consent_marketing: 'v:v1', _ll_ts: await v.token() };
    const json = await v.postJson(stale);
    assert.equal(json.statusCode, 422, json.body);
    assert.deepEqual(json.json().errors, [
      {
        path: '/fields/_ll_consent_marketing',
        message:
          'The wording of this consent has changed since the page was shown: please read it again and tick the box.',
      },
    ]);
    const browser = await v.postForm({ ...stale, _ll_ts: await v.token() });
    assert.equal(browser.statusCode, 422);
    assert.match(browser.body, /We share your data with partners\./);
    assert.match(browser.body, /name="_ll_consent_marketing" value="v:v2"(?! checked)/);
    assert.deepEqual(await leadsOf(w), []);

    const current = await v.postJson({ ...stale, _ll_consent_marketing: 'v:v2', _ll_ts: await v.token() });
    assert.equal(current.statusCode, 200, current.body);
    const lead = (await leadsOf(w))[0]!;
    const consents = (await w.ok('GET', `/api/v1/leads/${lead.id}/consents`)).data as Json[];
    assert.deepEqual(
      consents.map((c) => [c.version, c.text]),
      [['v2', 'We share your data with partners.']],
    );
  });

  it('answers a browser with 303 to the thank-you page, which shows the message and the lead magnet', async () => {
    const t = get();
    const w = await tenant(t, 'subs');
    const form = await w.ok(
      'POST',
      '/api/v1/forms',
      signupForm({
        thankYou: { message: 'See you at the webinar!' },
        leadMagnet: { title: 'The slides (PDF)', url: 'https://cdn.example.com/slides.pdf' },
      }),
    );
    const v = visitor(t, form.slug);
    const response = await v.postForm({ email: 'grace@example.com', _ll_ts: await v.token(), _ll_hp: '' });
    assert.equal(response.statusCode, 303, response.body);
    // Relative to the address posted to, so it holds behind a path prefix and on any host.
    assert.equal(response.headers.location, `${form.slug}/thanks`);
    const thanksUrl = new URL(response.headers.location as string, `https://leads.example/f/${form.slug}`);
    assert.equal(thanksUrl.pathname, `/f/${form.slug}/thanks`);
    assert.equal(
      new URL(response.headers.location as string, `https://acme.example/leadline/f/${form.slug}`).pathname,
      `/leadline/f/${form.slug}/thanks`,
    );
    const thanks = await t.app.inject({ method: 'GET', url: thanksUrl.pathname });
    assert.equal(thanks.statusCode, 200);
    assert.match(thanks.body, /See you at the webinar!/);
    assert.match(
      thanks.body,
      /<a href="https:\/\/cdn\.example\.com\/slides\.pdf" rel="noopener">The slides \(PDF\)<\/a>/,
    );

    const lead = (await leadsOf(w))[0]!;
    const types = (await timelineOf(w, lead.id)).map((e) => e.type);
    assert.ok(types.includes('form_submitted') && types.includes('content_downloaded'), types.join());

    // JSON clients get the magnet in the answer; a redirect URL sends browsers there.
    await w.ok('PATCH', `/api/v1/forms/${form.id}`, {
      thankYou: { message: 'Thanks', redirectUrl: 'https://www.example.com/thank-you' },
    });
    const next = visitor(t, form.slug);
    const token = await next.token();
    const json = await next.postJson({ email: 'linus@example.com', _ll_ts: token });
    assert.deepEqual(json.json(), {
      status: 'received',
      message: 'Thanks',
      redirectUrl: 'https://www.example.com/thank-you',
      leadMagnet: { title: 'The slides (PDF)', url: 'https://cdn.example.com/slides.pdf' },
    });
    const browser = await next.postForm({ email: 'ken@example.com', _ll_ts: token });
    assert.equal(browser.statusCode, 303);
    assert.equal(browser.headers.location, 'https://www.example.com/thank-you');
  });

  it('queues the lead magnet email and the notifications in the same transaction', async () => {
    const t = get();
    const w = await tenant(t, 'subs');
    const form = await w.ok(
      'POST',
      '/api/v1/forms',
      signupForm({
        leadMagnet: { title: 'The guide', url: 'https://cdn.example.com/guide.pdf' },
        notify: ['sales@example.com'],
      }),
    );
    const v = visitor(t, form.slug);
    const answer = await v.postJson({
      email: 'barbara@example.com',
      first_name: 'Barbara',
      _ll_ts: await v.token(),
    });
    assert.equal(answer.statusCode, 200, answer.body);
    await t.services.jobs.runDue();
    const mailbox = (await w.ok('GET', '/api/v1/mailbox')).data as Json[];
    const recipients = mailbox.flatMap((m) => m.to).sort();
    assert.deepEqual(recipients, ['barbara@example.com', 'sales@example.com']);
  });

  it('shows problems next to the fields: 422 problem+json for scripts, the page again for browsers; nothing is written', async () => {
    const t = get();
    const w = await tenant(t, 'subs');
    const form = await w.ok(
      'POST',
      '/api/v1/forms',
      signupForm({
        consents: [{ purpose: 'terms', text: 'I accept the terms.', version: '3', required: true }],
      }),
    );
    const v = visitor(t, form.slug);
    const token = await v.token();
    const json = await v.postJson({ email: 'not an email', first_name: 'Ada', _ll_ts: token });
    assert.equal(json.statusCode, 422, json.body);
    assert.match(String(json.headers['content-type']), /^application\/problem\+json/);
    assert.deepEqual(json.json().errors, [
      { path: '/fields/email', message: 'Enter a valid email address.' },
      { path: '/fields/_ll_consent_terms', message: 'Tick this box to continue.' },
    ]);

    const page = await v.postForm({
      email: '',
      first_name: 'Ada <b>',
      question: 'Hi',
      _ll_ts: token,
      utm_source: 'x',
    });
    assert.equal(page.statusCode, 422);
    assert.match(String(page.headers['content-type']), /^text\/html/);
    assert.match(page.body, /<title>Error: Webinar signup<\/title>/);
    assert.match(page.body, /<div class="ll-summary" role="alert"/);
    assert.match(page.body, /<a href="#ll-[^"]+-email">Work email: This field is required\.<\/a>/);
    assert.match(page.body, /aria-describedby="ll-[^"]+-email-error" aria-invalid="true"/);
    assert.match(page.body, /<p class="ll-error" id="ll-[^"]+-email-error">This field is required\.<\/p>/);
    // What the person typed is kept (escaped), and so are the hidden attribution fields.
    assert.match(page.body, /name="first_name" value="Ada &lt;b&gt;"/);
    assert.match(page.body, />Hi<\/textarea>/);
    assert.match(page.body, /name="utm_source" value="x"/);
    assert.match(page.body, new RegExp(`name="_ll_ts" value="${token.replace('.', '\\.')}"`));
    assert.deepEqual(await leadsOf(w), []);
    assert.deepEqual((await w.ok('GET', `/api/v1/forms/${form.id}/submissions`)).data, []);

    // Values the form cannot read at all (too long, text that cannot be stored) are named on
    // their field too, and people get the page again with the rest of what they typed.
    const unreadable = await v.postJson({ email: 'ada@example.com', first_name: '\ud800', _ll_ts: token });
    assert.equal(unreadable.statusCode, 422, unreadable.body);
    assert.deepEqual(
      unreadable.json().errors.map((e: Json) => e.path),
      ['/fields/first_name'],
    );
    const tooLong = await v.postForm({
      email: 'ada@example.com',
      company: 'Analytical',
      question: 'x'.repeat(20_001),
      _ll_ts: token,
    });
    assert.equal(tooLong.statusCode, 422);
    assert.match(String(tooLong.headers['content-type']), /^text\/html/);
    assert.match(tooLong.body, /name="company" value="Analytical"/);
    assert.match(tooLong.body, /is too long/);
    assert.deepEqual(await leadsOf(w), []);
  });

  it('quarantines a filled honeypot, a missing or forged token and a too-fast submission, with the same answer', async () => {
    const t = get();
    const w = await tenant(t, 'subs');
    const form = await w.ok('POST', '/api/v1/forms', signupForm({ spam: { rejectDisposable: true } }));
    const v = visitor(t, form.slug);
    const good = await v.token();
    const fresh = (await v.definition()).json().token; // rendered just now: too fast
    const cases: Array<[Values, string[]]> = [
      [{ email: 'bot1@example.com', _ll_ts: good, _ll_hp: 'https://spam.example' }, ['honeypot']],
      [{ email: 'bot2@example.com' }, ['token_missing']],
      [{ email: 'bot3@example.com', _ll_ts: `${good.split('.')[0]}.${'A'.repeat(43)}` }, ['token_invalid']],
      [{ email: 'bot4@example.com', _ll_ts: fresh }, ['too_fast']],
      [{ email: 'someone@mailinator.com', _ll_ts: good }, ['disposable_email']],
    ];
    for (const [values] of cases) {
      const response = await v.postJson(values);
      assert.equal(response.statusCode, 200, response.body);
      assert.deepEqual(response.json(), {
        status: 'received',
        message: 'Thank you! We have received your submission.',
      });
    }
    assert.deepEqual(await leadsOf(w), [], 'no lead from suspected spam');
    const held = (await w.ok('GET', `/api/v1/forms/quarantine?formId=${form.id}`)).data as Json[];
    assert.deepEqual(
      held.map((e) => [e.email, e.reasons]).sort(),
      cases.map(([values, reasons]) => [values.email, reasons]).sort(),
    );
    // A person releases one: it is submitted as received, spam checks skipped.
    const bot1 = held.find((e) => e.email === 'bot1@example.com')!;
    const released = await w.ok('POST', `/api/v1/forms/quarantine/${bot1.id}/release`);
    const lead = (await leadsOf(w))[0]!;
    assert.equal(lead.email, 'bot1@example.com');
    assert.ok(JSON.stringify(released).includes(lead.id));
  });

  it('answers the same answers within the duplicate window like the first, without a second write', async () => {
    const t = get();
    const w = await tenant(t, 'subs');
    const form = await w.ok('POST', '/api/v1/forms', signupForm({ spam: { duplicateWindowSeconds: 60 } }));
    const v = visitor(t, form.slug);
    const token = await v.token();
    const values = { email: 'ada@example.com', first_name: 'Ada', _ll_ts: token };
    const first = await v.postJson(values);
    const again = await v.postForm({
      ...values,
      email: 'ADA@example.com ',
      _ll_page: 'https://other.example/',
    });
    assert.equal(first.statusCode, 200);
    assert.equal(again.statusCode, 303);
    const count = async () => (await w.ok('GET', `/api/v1/forms/${form.id}/submissions`)).data.length;
    assert.equal(await count(), 1);
    const lead = (await leadsOf(w))[0]!;
    const submitted = async () =>
      (await timelineOf(w, lead.id)).filter((e) => e.type === 'form_submitted').length;
    assert.equal(await submitted(), 1);
    t.clock.now += 61_000;
    assert.equal((await v.postJson({ ...values, _ll_ts: await v.token() })).statusCode, 200);
    assert.equal(await count(), 2, 'after the window it is a new submission');
    assert.equal(await submitted(), 2);
  });

  it('records a consent ticked on a resubmission within the duplicate window', async () => {
    const t = get();
    const w = await tenant(t, 'subs');
    const form = await w.ok('POST', '/api/v1/forms', signupForm({ spam: { duplicateWindowSeconds: 60 } }));
    const v = visitor(t, form.slug);
    const token = await v.token();
    const values = { email: 'ada@example.com', first_name: 'Ada', _ll_ts: token };
    assert.equal((await v.postJson(values)).statusCode, 200);
    // "Oh, I meant to tick the box": the form again, the same answers, the box ticked, seconds later.
    const ticked = await v.postForm({ ...values, _ll_consent_marketing: 'on', _ll_ts: await v.token() });
    assert.equal(ticked.statusCode, 303, ticked.body);
    const lead = (await leadsOf(w))[0]!;
    const consents = await w.ok('GET', `/api/v1/leads/${lead.id}/consents`);
    assert.deepEqual(
      consents.data.map((c: Json) => [c.purpose, c.status]),
      [['marketing', 'granted']],
    );
    // Ticked again: the same answers as the last one, answered like it, nothing more written.
    assert.equal((await v.postForm({ ...values, _ll_consent_marketing: 'on' })).statusCode, 303);
    assert.equal((await w.ok('GET', `/api/v1/forms/${form.id}/submissions`)).data.length, 2);
    assert.equal((await w.ok('GET', `/api/v1/leads/${lead.id}/consents`)).history.length, 1);
  });

  it('matches validation patterns in linear time: a pattern that backtracks for seconds answers at once', async () => {
    const t = get();
    const w = await tenant(t, 'subs');
    const form = await w.ok('POST', '/api/v1/forms', {
      name: 'Coupon',
      slug: freshSlug('coupon'),
      fields: [
        { name: 'email', type: 'email', maps: 'email', required: true },
        // 22 s for 100 characters with a backtracking RegExp.
        { name: 'code', type: 'text', validation: { pattern: '\\w*\\w*\\w*\\w*\\w*\\w*!', maxLength: 5000 } },
      ],
    });
    const v = visitor(t, form.slug);
    const token = await v.token();
    const started = performance.now();
    const slow = await v.postJson({ email: 'ada@example.com', code: 'a'.repeat(5000), _ll_ts: token });
    assert.ok(performance.now() - started < 2_000, `${performance.now() - started} ms`);
    assert.equal(slow.statusCode, 422, slow.body);
    assert.deepEqual(slow.json().errors, [{ path: '/fields/code', message: 'Use the format asked for.' }]);
    const good = await v.postJson({ email: 'ada@example.com', code: 'SPRING!', _ll_ts: token });
    assert.equal(good.statusCode, 200, good.body);
  });

  it('stores answers, page, referrer and UTM that together exceed an activity: cut to fit, never a 500', async () => {
    const t = get();
    const w = await tenant(t, 'subs');
    const form = await w.ok('POST', '/api/v1/forms', {
      name: 'Long questions',
      slug: freshSlug('long'),
      fields: [
        { name: 'email', type: 'email', maps: 'email', required: true },
        { name: 'q1', type: 'textarea' },
        { name: 'q2', type: 'textarea' },
        { name: 'q3', type: 'textarea' },
      ],
    });
    const v = visitor(t, form.slug);
    // Each value within its own limit; three bytes a character, the URLs are ~5.9 KB each as JSON.
    const values: Values = {
      email: 'long@example.com',
      q1: 'a'.repeat(5000),
      q2: 'b'.repeat(5000),
      q3: 'c'.repeat(2000),
      _ll_page: `https://example.com/p?${'€'.repeat(1970)}`,
      _ll_ref: `https://ref.example/r?${'€'.repeat(1970)}`,
      _ll_ts: await v.token(),
    };
    for (const name of ['source', 'medium', 'campaign', 'term', 'content'])
      values[`utm_${name}`] = 'z'.repeat(200);
    const response = await v.postJson(values);
    assert.equal(response.statusCode, 200, response.body);
    const [lead] = await leadsOf(w);
    const submitted = (await timelineOf(w, lead!.id)).find((e) => e.type === 'form_submitted')!;
    const properties = submitted.properties as Json;
    assert.ok(Buffer.byteLength(JSON.stringify(properties)) <= 16 * 1024);
    assert.equal(properties.form, 'Long questions');
    assert.equal(properties.referrer, null, 'the referrer gave way to the answers');
    assert.equal(properties.pageUrl, values._ll_page);
    const answers = properties.answers as Record<string, string>;
    assert.deepEqual(Object.keys(answers).sort(), ['q1', 'q2', 'q3']);
    assert.ok(answers.q1!.startsWith('aaaa') && answers.q1!.endsWith('…'), 'the longest answer is cut');
    assert.equal(answers.q3, 'c'.repeat(2000), 'the shortest is kept whole');
  });

  it('reads __proto__, toString or constructor in a body as names it does not know: never a 500', async () => {
    const t = get();
    const w = await tenant(t, 'subs');
    const form = await w.ok('POST', '/api/v1/forms', signupForm());
    const v = visitor(t, form.slug);
    const body = (email: string, token: string) =>
      `__proto__=x&__proto__=y&constructor=c&toString=t&hasOwnProperty=h&email=${encodeURIComponent(email)}&_ll_ts=${token}`;
    const post = (payload: string) =>
      t.app.inject({
        method: 'POST',
        url: `/f/${form.slug}`,
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
        payload,
      });
    const accepted = await post(body('ada@example.com', await v.token()));
    assert.equal(accepted.statusCode, 303, accepted.body);
    const invalid = await post(body('not-an-email', await v.token()));
    assert.equal(invalid.statusCode, 422, invalid.body);
    assert.match(invalid.body, /Enter a valid email address/);
    assert.deepEqual(
      (await leadsOf(w)).map((l) => l.email),
      ['ada@example.com'],
    );
  });

  it('limits submissions per IP and per form: 429 with Retry-After, nothing stored', async () => {
    const t = get();
    const w = await tenant(t, 'subs');
    const form = await w.ok(
      'POST',
      '/api/v1/forms',
      signupForm({ spam: { perIpPerMinute: 2, perFormPerMinute: 3 } }),
    );
    const v = visitor(t, form.slug);
    // A page each (a render token is good for one submission), rendered at the start of a minute.
    t.clock.now += 60_000 - (t.clock.now % 60_000);
    const tokens: string[] = [];
    for (let n = 0; n < 7; n++) tokens.push((await v.definition()).json().token);
    t.clock.now += 5_000;
    const from = (ip: string, n: number) =>
      t.app.inject({
        method: 'POST',
        url: `/f/${form.slug}`,
        remoteAddress: ip,
        payload: { email: `p${n}@example.com`, _ll_ts: tokens[n - 1] },
      });
    for (const n of [1, 2]) assert.equal((await from('198.51.100.1', n)).statusCode, 200);
    // Per IP: a third from the same address is refused.
    const refused = await from('198.51.100.1', 3);
    assert.equal(refused.statusCode, 429, refused.body);
    assert.equal(refused.json().code, 'RATE_LIMITED');
    assert.ok(Number(refused.headers['retry-after']) >= 1);
    // Another address is not limited by the first one's count.
    const other = await v.postForm({ email: 'p4@example.com', _ll_ts: tokens[3]! });
    assert.equal(other.statusCode, 303, other.body);
    // Per form: a fourth submission this minute is refused whoever sends it, to people as a page.
    const anyone = await from('203.0.113.9', 5);
    assert.equal(anyone.statusCode, 429, anyone.body);
    assert.equal(anyone.json().code, 'RATE_LIMITED');
    const person = await t.app.inject({
      method: 'POST',
      url: `/f/${form.slug}`,
      remoteAddress: '203.0.113.10',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
      payload: new URLSearchParams({ email: 'p6@example.com', _ll_ts: tokens[5]! }).toString(),
    });
    assert.equal(person.statusCode, 429);
    assert.ok(Number(person.headers['retry-after']) >= 1);
    assert.match(person.body, /try again in \d+ seconds/);
    assert.match(person.body, /name="email" value="p6@example\.com"/, 'the form again, with what they typed');
    assert.deepEqual((await leadsOf(w)).map((l) => l.email).sort(), [
      'p1@example.com',
      'p2@example.com',
      'p4@example.com',
    ]);
    assert.deepEqual((await w.ok('GET', '/api/v1/forms/quarantine')).data, [], 'nothing stored');
    t.clock.now += 120_000;
    assert.equal((await from('203.0.113.11', 7)).statusCode, 200, 'a minute later there is room again');
  });

  it('takes long answers outside ASCII, which a browser sends as up to 9 bytes a character', async () => {
    const t = get();
    const w = await tenant(t, 'subs');
    const form = await w.ok(
      'POST',
      '/api/v1/forms',
      signupForm({
        fields: [
          { name: 'email', type: 'email', maps: 'email', required: true },
          { name: 'story', type: 'textarea', validation: { maxLength: 20_000 } },
        ],
      }),
    );
    const v = visitor(t, form.slug);
    const story = '日本語'.repeat(6_000); // 18,000 characters, 162 KB form-encoded
    const page = await v.postForm({ email: 'hana@example.com', story, _ll_ts: await v.token() });
    assert.equal(page.statusCode, 303, page.body);
    const [lead] = await leadsOf(w);
    const submitted = (await timelineOf(w, lead!.id)).find((e) => e.type === 'form_submitted')!;
    const answers = (submitted.properties as Json).answers as Json;
    assert.ok(String(answers.story).startsWith('日本語'), 'stored (cut to fit the activity), not refused');
  });

  it('does not count invalid submissions against the limits: a person fixing mistakes gets in', async () => {
    const t = get();
    const w = await tenant(t, 'subs');
    const form = await w.ok('POST', '/api/v1/forms', signupForm({ spam: { perIpPerMinute: 2 } }));
    const v = visitor(t, form.slug);
    const token = await v.token();
    const post = (email: string) =>
      t.app.inject({
        method: 'POST',
        url: `/f/${form.slug}`,
        remoteAddress: '198.51.100.7',
        payload: { email, _ll_ts: token },
      });
    for (const typo of ['ada@', 'ada@example', 'ada.example.com'])
      assert.equal((await post(typo)).statusCode, 422);
    const fixed = await post('ada@example.com');
    assert.equal(fixed.statusCode, 200, fixed.body);
    assert.deepEqual(
      (await leadsOf(w)).map((l) => l.email),
      ['ada@example.com'],
    );
  });

  it('counts IPv6 senders by their /64 network, and an IPv4-mapped address as its IPv4 address', async () => {
    const t = get();
    const w = await tenant(t, 'subs');
    const form = await w.ok('POST', '/api/v1/forms', signupForm({ spam: { perIpPerMinute: 2 } }));
    const v = visitor(t, form.slug);
    let n = 0;
    const from = async (ip: string) => {
      const token = await v.token();
      return t.app.inject({
        method: 'POST',
        url: `/f/${form.slug}`,
        remoteAddress: ip,
        payload: { email: `v6-${++n}@example.com`, _ll_ts: token },
      });
    };
    t.clock.now += 60_000 - (t.clock.now % 60_000);
    // One customer's /64: every address of it is one sender.
    assert.equal((await from('2001:db8:1:2::1')).statusCode, 200);
    assert.equal((await from('2001:DB8:1:2:ffff:ffff:ffff:fffe')).statusCode, 200);
    const refused = await from('2001:db8:1:2:aaaa::3');
    assert.equal(refused.statusCode, 429, refused.body);
    // The next /64 is someone else.
    assert.equal((await from('2001:db8:1:3::1')).statusCode, 200);
    // IPv4 peers of a dual-stack socket: the mapped form and the plain one are one sender.
    assert.equal((await from('::ffff:192.0.2.7')).statusCode, 200);
    assert.equal((await from('192.0.2.7')).statusCode, 200);
    assert.equal((await from('::ffff:c000:207')).statusCode, 429);
  });

  it('serves CORS to allowed origins only: preflight, definition and submission; 403 FORM_ORIGIN_NOT_ALLOWED otherwise', async () => {
    const t = get();
    const w = await tenant(t, 'subs');
    const form = await w.ok(
      'POST',
      '/api/v1/forms',
      signupForm({ allowedOrigins: ['https://www.example.com', 'https://*.example.org'] }),
    );
    const v = visitor(t, form.slug);
    const allowed = await v.definition('', { origin: 'https://www.example.com' });
    assert.equal(allowed.statusCode, 200);
    assert.equal(allowed.headers['access-control-allow-origin'], 'https://www.example.com');
    assert.match(String(allowed.headers.vary), /Origin/);
    const sub = await v.definition('', { origin: 'https://blog.example.org' });
    assert.equal(sub.headers['access-control-allow-origin'], 'https://blog.example.org');

    const preflight = await t.app.inject({
      method: 'OPTIONS',
      url: `/f/${form.slug}`,
      headers: {
        origin: 'https://www.example.com',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type',
      },
    });
    assert.equal(preflight.statusCode, 204, preflight.body);
    assert.equal(preflight.headers['access-control-allow-origin'], 'https://www.example.com');
    assert.match(String(preflight.headers['access-control-allow-methods']), /POST/);
    assert.match(String(preflight.headers['access-control-allow-headers']), /content-type/);

    for (const origin of ['https://evil.example', 'https://example.org', 'http://www.example.com', 'null']) {
      const refused = await v.definition('', { origin });
      assert.equal(refused.statusCode, 403, origin);
      assert.equal(refused.json().code, 'FORM_ORIGIN_NOT_ALLOWED');
      assert.equal(refused.headers['access-control-allow-origin'], undefined);
    }
    const badPreflight = await t.app.inject({
      method: 'OPTIONS',
      url: `/f/${form.slug}`,
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    });
    assert.equal(badPreflight.statusCode, 403);

    const token = await v.token();
    const refused = await v.postJson(
      { email: 'x@example.com', _ll_ts: token },
      { origin: 'https://evil.example' },
    );
    assert.equal(refused.statusCode, 403);
    const accepted = await v.postJson(
      { email: 'y@example.com', _ll_ts: await v.token() },
      { origin: 'https://www.example.com' },
    );
    assert.equal(accepted.statusCode, 200, accepted.body);
    assert.equal(accepted.headers['access-control-allow-origin'], 'https://www.example.com');
    // embed.js reads the field errors of a refused submission: they carry the CORS header too.
    const invalid = await v.postJson({ email: 'nope', _ll_ts: token }, { origin: 'https://www.example.com' });
    assert.equal(invalid.statusCode, 422);
    assert.equal(invalid.headers['access-control-allow-origin'], 'https://www.example.com');
    // Leadline's own pages (the hosted form) post from its own origin.
    const own = await v.postForm(
      { email: 'z@example.com', _ll_ts: await v.token() },
      { origin: 'http://localhost:80', host: 'localhost:80' },
    );
    assert.equal(own.statusCode, 303, own.body);
    assert.deepEqual((await leadsOf(w)).map((l) => l.email).sort(), ['y@example.com', 'z@example.com']);
  });

  it('says a closed form is closed (410) and an unknown one is not found (404), to scripts and to people', async () => {
    const t = get();
    const w = await tenant(t, 'subs');
    const form = await w.ok('POST', '/api/v1/forms', signupForm({ status: 'closed' }));
    const v = visitor(t, form.slug);
    const definition = await v.definition();
    assert.equal(definition.statusCode, 410);
    assert.equal(definition.json().code, 'FORM_CLOSED');
    const json = await v.postJson({ email: 'a@example.com' });
    assert.equal(json.statusCode, 410);
    assert.equal(json.json().code, 'FORM_CLOSED');
    const page = await v.postForm({ email: 'a@example.com' });
    assert.equal(page.statusCode, 410);
    assert.match(page.body, /This form is closed/);
    assert.deepEqual(await leadsOf(w), []);

    const unknown = visitor(t, 'no-such-form');
    assert.equal((await unknown.definition()).json().code, 'FORM_NOT_FOUND');
    const missingPage = await t.app.inject({ method: 'GET', url: '/f/no-such-form' });
    assert.equal(missingPage.statusCode, 404);
    assert.match(missingPage.body, /There is no form at this address/);
    const text = await t.app.inject({
      method: 'POST',
      url: `/f/${form.slug}`,
      headers: { 'content-type': 'text/plain' },
      payload: 'email=a@example.com',
    });
    assert.equal(text.statusCode, 410, 'closed comes first');
  });

  it('refuses bodies it cannot read: another content type (415), too large (413), nested objects (422)', async () => {
    const t = get();
    const w = await tenant(t, 'subs');
    const form = await w.ok('POST', '/api/v1/forms', signupForm());
    const text = await t.app.inject({
      method: 'POST',
      url: `/f/${form.slug}`,
      headers: { 'content-type': 'text/plain' },
      payload: 'email=a@example.com',
    });
    assert.equal(text.statusCode, 415, text.body);
    // A browser posting it gets a page; a script (Accept: application/json) the problem.
    assert.match(String(text.headers['content-type']), /^text\/html/);
    assert.match(text.body, /This form could not be read as it was sent/);
    const multipart = await t.app.inject({
      method: 'POST',
      url: `/f/${form.slug}`,
      headers: { 'content-type': 'multipart/form-data; boundary=x', accept: 'application/json' },
      payload: '--x\r\nContent-Disposition: form-data; name="email"\r\n\r\na@example.com\r\n--x--\r\n',
    });
    assert.equal(multipart.statusCode, 415, multipart.body);
    assert.equal(multipart.json().code, 'UNSUPPORTED_MEDIA_TYPE');

    // Over the 1 MiB limit: refused before it is read, as a page to people and a problem to scripts.
    const huge = `email=a%40example.com&notes=${'x'.repeat(1024 * 1024)}`;
    const tooLarge = await t.app.inject({
      method: 'POST',
      url: `/f/${form.slug}`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: huge,
    });
    assert.equal(tooLarge.statusCode, 413);
    assert.match(String(tooLarge.headers['content-type']), /^text\/html/);
    assert.match(tooLarge.body, /Your answers are too long to send/);
    const tooLargeJson = await t.app.inject({
      method: 'POST',
      url: `/f/${form.slug}`,
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      payload: huge,
    });
    assert.equal(tooLargeJson.statusCode, 413);
    assert.match(String(tooLargeJson.headers['content-type']), /^application\/problem\+json/);
    assert.deepEqual(await leadsOf(w), []);

    const nested = await visitor(t, form.slug).postJson({ email: { $ne: 1 } } as never);
    assert.equal(nested.statusCode, 422);
    assert.deepEqual(nested.json().errors, [
      { path: '/fields/email', message: 'must be text, a number, a boolean or a list of them' },
    ]);
  });

  it('renders the hosted page without JavaScript: labelled fields, hidden attribution, token, honeypot, CSP', async () => {
    const t = get();
    const w = await tenant(t, 'subs');
    const form = await w.ok('POST', '/api/v1/forms', signupForm());
    const page = await t.app.inject({
      method: 'GET',
      url: `/f/${form.slug}?utm_source=google&utm_campaign=brand`,
      headers: { referer: 'https://www.google.com/', cookie: 'll_aid=visitor-123' },
    });
    assert.equal(page.statusCode, 200);
    assert.match(String(page.headers['content-type']), /^text\/html/);
    assert.match(String(page.headers['content-security-policy']), /default-src 'none'/);
    assert.equal(page.headers['cache-control'], 'no-store');
    const html = page.body;
    assert.match(html, /<title>Webinar signup<\/title>/);
    // Relative to the page (/f/{slug}): it reaches the same route behind a proxy's path prefix.
    assert.match(html, new RegExp(`<form class="ll-form" method="post" action="${form.slug}"`));
    assert.equal(
      new URL(form.slug, `https://example.com/leadline/f/${form.slug}`).pathname,
      `/leadline/f/${form.slug}`,
    );
    assert.match(
      html,
      /<label for="ll-[^"]+-email">Work email <span class="ll-required" aria-hidden="true">\*<\/span><\/label><input type="email"/,
    );
    assert.match(html, /name="utm_source" value="google"/);
    assert.match(html, /name="utm_campaign" value="brand"/);
    assert.match(html, /name="_ll_ref" value="https:\/\/www\.google\.com\/"/);
    assert.match(html, /name="_ll_aid" value="visitor-123"/);
    // Under Global Privacy Control or Do Not Track the cookie's id is not used.
    for (const signal of [{ 'sec-gpc': '1' }, { dnt: '1' }]) {
      const private_ = await t.app.inject({
        method: 'GET',
        url: `/f/${form.slug}?aid=visitor-123`,
        headers: { cookie: 'll_aid=visitor-123', ...signal },
      });
      assert.equal(private_.statusCode, 200);
      assert.doesNotMatch(private_.body, /name="_ll_aid" value="visitor-123"/);
    }
    assert.match(
      html,
      new RegExp(
        `name="_ll_page" value="http://localhost:3000/f/${form.slug}\\?utm_source=google&amp;utm_campaign=brand"`,
      ),
    );
    assert.match(html, /name="_ll_ts" value="[0-9a-z]+\.[A-Za-z0-9_-]{12}\.[A-Za-z0-9_-]{43}"/);
    assert.match(
      html,
      /<div class="ll-hp" aria-hidden="true">.*name="_ll_hp" value="" tabindex="-1" autocomplete="off"/,
    );
    assert.match(html, /name="_ll_consent_marketing"/);
    assert.doesNotMatch(html, /<script/);
  });

  it('identifies the visitor: anonymous page views move to the lead; an id linked to someone else is left alone', async () => {
    const t = get();
    const w = await tenant(t, 'subs');
    const form = await w.ok('POST', '/api/v1/forms', signupForm());
    await w.ok('POST', '/api/v1/events', {
      events: [
        {
          type: 'page_view',
          anonymousId: 'visitor-1',
          properties: { url: 'https://www.example.com/pricing' },
        },
      ],
    });
    const v = visitor(t, form.slug);
    const token = await v.token();
    assert.equal(
      (await v.postJson({ email: 'ada@example.com', _ll_ts: token, _ll_aid: 'visitor-1' })).statusCode,
      200,
    );
    const ada = (await leadsOf(w))[0]!;
    const types = (await timelineOf(w, ada.id)).map((e) => e.type);
    assert.ok(types.includes('page_view') && types.includes('identified'), types.join());

    // The same browser, another person (a shared computer): the submission still counts for them.
    const other = await v.postJson({
      email: 'grace@example.com',
      _ll_ts: await v.token(),
      _ll_aid: 'visitor-1',
    });
    assert.equal(other.statusCode, 200, other.body);
    const grace = (await leadsOf(w)).find((l) => l.email === 'grace@example.com');
    assert.ok(grace);
    assert.ok(!(await timelineOf(w, grace.id)).some((e) => e.type === 'identified'));
  });

  it('profiles progressively: a known visitor is asked the next questions instead of what is known', async () => {
    const t = get();
    const w = await tenant(t, 'subs');
    const form = await w.ok('POST', '/api/v1/forms', {
      name: 'Download',
      slug: freshSlug('progressive'),
      fields: [
        { name: 'email', type: 'email', required: true, maps: 'email' },
        { name: 'first_name', type: 'text', required: true, maps: 'firstName' },
        { name: 'company', type: 'text', required: true, maps: 'company' },
        { name: 'job_title', type: 'text', required: true, maps: 'jobTitle' },
        { name: 'size', type: 'number', maps: 'companySize' },
        {
          name: 'budget',
          type: 'select',
          maps: 'properties.budget',
          options: [
            { value: 'low', label: 'Low' },
            { value: 'high', label: 'High' },
          ],
        },
        { name: 'campaign', type: 'hidden', defaultValue: 'q3' },
      ],
      progressive: { queue: ['job_title', 'size', 'budget'] },
    });
    const v = visitor(t, form.slug);
    const names = async (aid?: string) =>
      (await v.definition(aid ? `?aid=${aid}` : '')).json().fields.map((f: Json) => f.name);
    assert.deepEqual(await names(), ['email', 'first_name', 'company', 'campaign']);
    assert.deepEqual(await names('stranger'), ['email', 'first_name', 'company', 'campaign']);

    const token = await v.token();
    const first = await v.postJson({
      email: 'ada@example.com',
      first_name: 'Ada',
      company: 'AE',
      _ll_ts: token,
      _ll_aid: 'v-ada',
    });
    assert.equal(first.statusCode, 200, first.body);
    // Name and company known: two places, taken by the next two unknown fields of the queue.
    assert.deepEqual(await names('v-ada'), ['email', 'campaign', 'job_title', 'size']);
    // The required fields left out are not required; the shown ones are.
    const missing = await v.postJson({ email: 'ada@example.com', _ll_ts: token, _ll_aid: 'v-ada' });
    assert.equal(missing.statusCode, 422);
    assert.deepEqual(missing.json().errors, [
      { path: '/fields/job_title', message: 'This field is required.' },
    ]);
    const second = await v.postJson({
      email: 'ada@example.com',
      job_title: 'CTO',
      size: '40',
      _ll_ts: await v.token(),
      _ll_aid: 'v-ada',
    });
    assert.equal(second.statusCode, 200, second.body);
    assert.deepEqual(await names('v-ada'), ['email', 'campaign', 'budget']);
    const lead = (await leadsOf(w))[0]!;
    assert.equal(lead.jobTitle, 'CTO');
    assert.equal(lead.companySize, 40);
    const hosted = await t.app.inject({
      method: 'GET',
      url: `/f/${form.slug}`,
      headers: { cookie: 'll_aid=v-ada' },
    });
    assert.match(hosted.body, /name="budget"/);
    assert.doesNotMatch(hosted.body, /name="first_name"/);
    assert.doesNotMatch(hosted.body, /Ada/, 'known values are never pre-filled');
  });

  it('maps fields to custom properties, with the property type checked and reported on the field', async () => {
    const t = get();
    const w = await tenant(t, 'subs');
    await w.ok('POST', '/api/v1/properties', { name: 'seats', type: 'number' });
    const form = await w.ok('POST', '/api/v1/forms', {
      name: 'Quote',
      slug: freshSlug('quote'),
      fields: [
        { name: 'email', type: 'email', required: true, maps: 'email' },
        { name: 'seats', type: 'text', maps: 'properties.seats' },
        {
          name: 'products',
          type: 'multi-select',
          maps: 'properties.products',
          options: [
            { value: 'crm', label: 'CRM' },
            { value: 'cms', label: 'CMS' },
          ],
        },
        { name: 'newsletter', type: 'checkbox', maps: 'properties.newsletter' },
      ],
    });
    const v = visitor(t, form.slug);
    const token = await v.token();
    const bad = await v.postJson({ email: 'a@example.com', seats: 'many', _ll_ts: token });
    assert.equal(bad.statusCode, 422, bad.body);
    assert.equal(bad.json().errors[0].path, '/fields/seats');
    const good = await v.postForm({
      email: 'a@example.com',
      seats: '25',
      products: ['crm', 'cms'],
      newsletter: 'on',
      _ll_ts: token,
    });
    assert.equal(good.statusCode, 303, good.body);
    const lead = (await leadsOf(w))[0]!;
    assert.deepEqual(lead.properties, { seats: 25, products: ['crm', 'cms'], newsletter: true });
  });

  it('writes all of a submission or nothing: a consent that cannot be confirmed undoes the capture', async () => {
    const t = get();
    const w = await tenant(t, 'subs');
    const form = await w.ok('POST', '/api/v1/forms', {
      name: 'Call me back',
      slug: freshSlug('callback'),
      fields: [
        { name: 'email', type: 'email', maps: 'email' },
        { name: 'phone', type: 'phone', maps: 'phone' },
      ],
      consents: [{ purpose: 'newsletter', text: 'Email me the newsletter.', version: '1' }],
      doubleOptIn: true,
    });
    const v = visitor(t, form.slug);
    // A phone but no email, and the newsletter box ticked: the confirmation has nowhere to go.
    const refused = await v.postJson({
      phone: '+442079460958',
      _ll_consent_newsletter: 'on',
      _ll_ts: await v.token(),
    });
    assert.equal(refused.statusCode, 422, refused.body);
    assert.equal(refused.json().errors[0].path, '/fields/email');
    assert.deepEqual(await leadsOf(w), [], 'the lead captured before the consent step was rolled back');
    assert.deepEqual((await w.ok('GET', `/api/v1/forms/${form.id}/submissions`)).data, []);
    await t.services.jobs.runDue();
    assert.deepEqual((await w.ok('GET', '/api/v1/mailbox')).data, []);
  });

  it('records double opt-in consent as pending and emails the confirmation link', async () => {
    const t = get();
    const w = await tenant(t, 'subs');
    const form = await w.ok('POST', '/api/v1/forms', signupForm({ doubleOptIn: true }));
    const v = visitor(t, form.slug);
    const answer = await v.postJson({
      email: 'optin@example.com',
      _ll_consent_marketing: 'true',
      _ll_ts: await v.token(),
    });
    assert.equal(answer.json().message, 'Thank you! Please check your inbox and confirm your email address.');
    const lead = (await leadsOf(w))[0]!;
    const consents = await w.ok('GET', `/api/v1/leads/${lead.id}/consents`);
    assert.deepEqual(
      consents.data.map((c: Json) => [c.purpose, c.status]),
      [['marketing', 'pending']],
    );
    await t.services.jobs.runDue();
    const mailbox = (await w.ok('GET', '/api/v1/mailbox')).data as Json[];
    assert.ok(mailbox.some((m) => m.to.includes('optin@example.com')));
  });
});
