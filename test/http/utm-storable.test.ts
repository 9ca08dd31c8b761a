import assert from 'node:assert/strict';
import { it } from 'node:test';
import { tenant } from '../support/api.ts';
import { describeEachEngine, useApp } from '../support/engines.ts';

/**
 * A page URL is stored as sent (its `%00` stays escaped), but the UTM parameters read from it
 * are decoded: a `%00` there became a real NUL, which PostgreSQL's jsonb refuses (a 500 and a
 * lost submission). The tracking and API paths are in tracking.test.ts and leads.test.ts.
 */
describeEachEngine('UTM read from a form page URL with NUL characters', (engine) => {
  const get = useApp(engine);

  it('takes the submission, dropping the NULs from the UTM values read from _ll_page', async () => {
    const t = get();
    const w = await tenant(t, 'utm-nul');
    const form = await w.ok('POST', '/api/v1/forms', {
      name: 'Offer',
      slug: `utm-nul-${process.pid}`,
      fields: [{ name: 'email', type: 'email', label: 'Email', required: true, maps: 'email' }],
    });
    const definition = await t.app.inject({ method: 'GET', url: `/f/${form.slug}/definition` });
    assert.equal(definition.statusCode, 200, definition.body);
    t.clock.now += 5_000; // the render token's minimum fill time
    const pageUrl = 'https://www.example.com/offer?UTM_SOURCE=%00x&utm_medium=%00&utm_campaign=spr%00ing';
    const body = new URLSearchParams({
      email: 'nul@example.com',
      _ll_ts: definition.json().token,
      _ll_hp: '',
      _ll_page: pageUrl,
    });
    const response = await t.app.inject({
      method: 'POST',
      url: `/f/${form.slug}`,
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
      payload: body.toString(),
    });
    assert.equal(response.statusCode, 303, response.body);

    const [lead] = (await w.ok('GET', '/api/v1/leads?limit=5')).data;
    assert.equal(lead.email, 'nul@example.com');
    assert.deepEqual(lead.firstTouch.utm, { source: 'x', campaign: 'spring' });
    assert.equal(lead.firstTouch.landingPage, pageUrl);
  });
});
