import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  facebookDeliveryV25,
  facebookDeliveryV26,
  graphLeadV25,
  graphLeadV26,
  linkedInForm,
  linkedInFormResponse,
  linkedInNotification,
} from '../../test/support/inbound-examples.ts';
import {
  facebookHandshake,
  facebookLead,
  graphLeadUrl,
  parseFacebookDelivery,
  parseGraphLead,
  verifyFacebookSignature,
} from './facebook.ts';
import { genericItems, genericLead, verifyGenericRequest } from './generic.ts';
import {
  formIdOf,
  linkedInChallenge,
  linkedInLead,
  parseFormResponse,
  parseLeadForm,
  parseLinkedInDelivery,
  responseUrl,
  verifyLinkedInSignature,
} from './linkedin.ts';
import { assignAnswers, buildCapture } from './mapping.ts';
import { type GenericSettings, parseInboundJson } from './model.ts';

const json = (text: string) => {
  const parsed = parseInboundJson(text);
  assert.ok(parsed.ok);
  return parsed.value;
};
const hmac = (secret: string, data: string | Buffer, encoding: 'hex' | 'base64' = 'hex') =>
  createHmac('sha256', secret).update(data).digest(encoding);

describe('Facebook Lead Ads', () => {
  it('reads the documented deliveries, keeping a leadgen_id too large for a double digit for digit', () => {
    const v25 = parseFacebookDelivery(json(facebookDeliveryV25));
    assert.deepEqual(v25.errors, []);
    assert.deepEqual(v25.changes, [
      {
        leadgenId: '55459717045641545',
        pageId: '516540199134611',
        formId: '551111744595541',
        adId: null,
        adgroupId: null,
        createdTime: 1447342026000,
        fieldData: null,
      },
    ]);
    const v26 = parseFacebookDelivery(json(facebookDeliveryV26));
    assert.equal(v26.changes[0]!.leadgenId, '130528934038370');
    assert.equal(v26.changes[0]!.formId, '129595594131704');
  });

  it('skips other page fields and refuses a change without a Graph id', () => {
    const parsed = parseFacebookDelivery({
      object: 'page',
      entry: [
        {
          id: '1',
          changes: [
            { field: 'feed', value: {} },
            { field: 'leadgen', value: { leadgen_id: '../me?x=' } },
          ],
        },
      ],
    });
    assert.equal(parsed.ignored, 1);
    assert.deepEqual(parsed.changes, []);
    assert.deepEqual(
      parsed.errors.map((e) => e.path),
      ['/entry/0/changes/1/value/leadgen_id'],
    );
    assert.deepEqual(
      parseFacebookDelivery([]).errors.map((e) => e.path),
      ['/entry'],
    );
  });

  it('checks X-Hub-Signature-256 against the raw bytes, in constant time', () => {
    const raw = Buffer.from(facebookDeliveryV25);
    const good = `sha256=${hmac('app-secret', raw)}`;
    assert.equal(verifyFacebookSignature('app-secret', raw, good), true);
    assert.equal(
      verifyFacebookSignature('app-secret', raw, good.toUpperCase().replace('SHA256', 'sha256')),
      true,
    );
    assert.equal(verifyFacebookSignature('other-secret', raw, good), false);
    assert.equal(verifyFacebookSignature('app-secret', Buffer.from(`${facebookDeliveryV25} `), good), false);
    assert.equal(verifyFacebookSignature('app-secret', raw, hmac('app-secret', raw)), false, 'prefix needed');
    assert.equal(verifyFacebookSignature('app-secret', raw, undefined), false);
    // A re-serialised body (what a parsed-then-stringified check would hash) does not verify.
    const reserialised = Buffer.from(JSON.stringify(JSON.parse(facebookDeliveryV26)));
    assert.equal(
      verifyFacebookSignature(
        'app-secret',
        reserialised,
        `sha256=${hmac('app-secret', facebookDeliveryV26)}`,
      ),
      false,
    );
  });

  it('answers the subscription handshake only with the verify token', () => {
    const query = {
      'hub.mode': 'subscribe',
      'hub.verify_token': 'verify-token-123456',
      'hub.challenge': '1158201444',
    };
    assert.deepEqual(facebookHandshake(query, 'verify-token-123456'), { ok: true, challenge: '1158201444' });
    const wrong = facebookHandshake({ ...query, 'hub.verify_token': 'guess' }, 'verify-token-123456');
    assert.equal(wrong.ok, false);
    assert.equal(!wrong.ok && wrong.unauthorized, true);
    const malformed = facebookHandshake({ 'hub.mode': 'unsubscribe' }, 'verify-token-123456');
    assert.deepEqual(!malformed.ok && malformed.errors.map((e) => e.path), [
      '/query/hub.mode',
      '/query/hub.verify_token',
      '/query/hub.challenge',
    ]);
  });

  it('reads Graph leads and maps the usual field names, a bracketed hint included', () => {
    const v26 = parseGraphLead(json(graphLeadV26));
    assert.ok(v26.ok);
    const change = parseFacebookDelivery(json(facebookDeliveryV26)).changes[0]!;
    const lead = facebookLead(change, v26.lead);
    assert.equal(lead.externalId, '130528934038370');
    assert.equal(lead.occurredAt, 1466583136000);
    const { fields, unmapped } = assignAnswers(lead.answers, {});
    assert.deepEqual(buildCapture(fields, lead.utm, { source: 'facebook_lead_ads' }), {
      source: 'facebook_lead_ads',
      email: 'tom_cook@gmail.com',
      phone: '6552467291',
      firstName: 'Tom',
      lastName: 'Cook',
      // Read from the Graph API without ad fields: an ad lead unless Graph says organic.
      utm: { source: 'facebook', medium: 'paid_social' },
    });
    assert.deepEqual(unmapped, []);

    const v25 = parseGraphLead(json(graphLeadV25));
    assert.ok(v25.ok);
    assert.equal(v25.lead.createdTime, Date.UTC(2015, 10, 12, 15, 27, 6));
    const answers = assignAnswers(
      facebookLead(parseFacebookDelivery(json(facebookDeliveryV25)).changes[0]!, v25.lead).answers,
      {},
    );
    assert.equal(answers.fields.get('email'), 'james.oak@example.org');
    assert.deepEqual(
      answers.unmapped.map((a) => [a.label, a.value]),
      [
        ['date_of_birth', 'April 19, 1987'],
        ['gender', 'male'],
      ],
    );
    assert.equal(parseGraphLead({ error: { message: 'x' } }).ok, false);
  });

  it('attributes ad leads to paid social with campaign and ad, Instagram leads to instagram', () => {
    const change = parseFacebookDelivery(json(facebookDeliveryV25)).changes[0]!;
    const lead = facebookLead(change, {
      createdTime: null,
      adId: '6043',
      adsetId: '6042',
      campaignId: '6041',
      formId: '551111744595541',
      fieldData: [],
      isOrganic: false,
      platform: 'ig',
    });
    assert.deepEqual(lead.utm, {
      source: 'instagram',
      medium: 'paid_social',
      campaign: '6041',
      content: '6043',
    });
    assert.deepEqual(lead.facts, {
      platformFormId: '551111744595541',
      pageId: '516540199134611',
      adId: '6043',
      adsetId: '6042',
      campaignId: '6041',
      organic: false,
      network: 'ig',
    });
  });

  it('asks the Graph API with the token and its appsecret_proof', () => {
    const url = new URL(
      graphLeadUrl('https://graph.facebook.com/v21.0', '55459717045641545', 'page-token', 'app-secret'),
    );
    assert.equal(url.pathname, '/v21.0/55459717045641545');
    assert.equal(url.searchParams.get('access_token'), 'page-token');
    assert.equal(url.searchParams.get('appsecret_proof'), hmac('app-secret', 'page-token'));
    assert.match(url.searchParams.get('fields')!, /field_data/);
    assert.throws(() => graphLeadUrl('https://graph.facebook.com', '1/../me', 't', 's'));
  });
});

describe('LinkedIn Lead Gen Forms', () => {
  it('answers the webhook validation with the HMAC of the challenge code', () => {
    const answer = linkedInChallenge(
      { challengeCode: '890e4665-4dfe-4ab1-b689-ed553bceeed0' },
      'client-secret',
    );
    assert.deepEqual(answer, {
      ok: true,
      body: {
        challengeCode: '890e4665-4dfe-4ab1-b689-ed553bceeed0',
        challengeResponse: hmac('client-secret', '890e4665-4dfe-4ab1-b689-ed553bceeed0'),
      },
    });
    assert.equal(linkedInChallenge({}, 'client-secret').ok, false);
  });

  it('answers only UUID challenge codes: the answer must not sign what a caller chooses', () => {
    const forged = `hmacsha256=${linkedInNotification}`;
    for (const code of [forged, linkedInNotification, 'x', '890e4665-4dfe-4ab1-b689-ed553bceeed0\n', ''])
      assert.deepEqual(
        linkedInChallenge({ challengeCode: code }, 'client-secret'),
        {
          ok: false,
          errors: [{ path: '/query/challengeCode', message: 'is required, as the UUID LinkedIn sends' }],
        },
        code,
      );
    assert.equal(
      linkedInChallenge({ challengeCode: ['890e4665-4dfe-4ab1-b689-ed553bceeed0'] }, 's').ok,
      false,
    );
  });

  it('checks X-LI-Signature: the documented hmacsha256= prefixed body, the prefix on the header allowed', () => {
    const raw = Buffer.from(linkedInNotification);
    const documented = hmac('client-secret', `hmacsha256=${linkedInNotification}`);
    assert.equal(verifyLinkedInSignature('client-secret', raw, documented), true);
    assert.equal(verifyLinkedInSignature('client-secret', raw, `hmacsha256=${documented}`), true);
    assert.equal(
      verifyLinkedInSignature('client-secret', raw, hmac('client-secret', raw)),
      false,
      'the HMAC of the bare body is what a challenge for the body would answer: refused',
    );
    assert.equal(
      verifyLinkedInSignature('client-secret', raw, `hmacsha256=${hmac('client-secret', raw)}`),
      false,
    );
    assert.equal(verifyLinkedInSignature('other-secret', raw, documented), false);
    assert.equal(
      verifyLinkedInSignature('client-secret', Buffer.from(`${linkedInNotification}\n`), documented),
      false,
    );
    assert.equal(verifyLinkedInSignature('client-secret', raw, undefined), false);
  });

  it('reads lead notifications; DELETED is told apart, other types ignored', () => {
    const parsed = parseLinkedInDelivery(json(linkedInNotification));
    assert.deepEqual(parsed.notifications, [
      {
        responseId: '249592fc-d272-44ba-a7db-c2bdce579507-6',
        action: 'CREATED',
        leadType: 'SPONSORED',
        occurredAt: 1689894599288,
      },
    ]);
    const list = parseLinkedInDelivery([
      { ...(JSON.parse(linkedInNotification) as object), leadAction: 'DELETED' },
      { type: 'ORGANIZATION_SOCIAL_ACTION_NOTIFICATIONS' },
      { type: 'LEAD_ACTION', leadGenFormResponse: 'urn:li:somethingElse:1' },
    ]);
    assert.equal(list.notifications[0]!.action, 'DELETED');
    assert.equal(list.ignored, 1);
    assert.deepEqual(
      list.errors.map((e) => e.path),
      ['/2/leadGenFormResponse'],
    );
  });

  it("maps the documented form response by its form's predefined fields, options and hidden fields", () => {
    const parsed = parseFormResponse(linkedInFormResponse);
    assert.ok(parsed.ok);
    assert.equal(parsed.response.formId, '7234246');
    assert.equal(formIdOf('urn:li:versionedLeadGenForm:(urn:li:leadGenForm:7234246,1)'), '7234246');
    const form = parseLeadForm(linkedInForm);
    assert.ok(form);
    const lead = linkedInLead(parsed.response, form);
    assert.equal(lead.occurredAt, 1689894599288);
    assert.equal(lead.formName, 'Form with written spanish');
    assert.deepEqual(lead.utm, {
      source: 'linkedin',
      medium: 'paid_social',
      campaign: '198356826',
      content: '241257736',
    });
    assert.deepEqual(lead.facts, {
      platformFormId: '7234246',
      leadType: 'SPONSORED',
      campaignId: '198356826',
      creativeId: '241257736',
      testLead: true,
    });
    assert.deepEqual(lead.consents, [
      { id: '0', accepted: true, text: 'marque mi casilla de verificación personalizada!' },
    ]);
    const { fields, unmapped } = assignAnswers(lead.answers, {});
    assert.deepEqual(buildCapture(fields, {}, { source: 'linkedin_lead_gen' }), {
      source: 'linkedin_lead_gen',
      email: 'kevjohonson@email.com',
      firstName: 'Kevin',
      lastName: 'Johonson',
      jobTitle: 'Senior Engineer',
    });
    assert.deepEqual(
      unmapped.map((a) => [a.label, a.value]),
      [
        ['WORK_EMAIL', 'kjohonson@email.com'],
        ['Custom question 0', 'Rojo'],
        ['Custom question 1', 'Mexico'],
        ['JOB_FUNCTION', 'Ingeniería'],
        ['hidden_field', 'abc678'],
        ['campo_escondido', 'def789'],
      ],
    );
    // An explicit mapping by question name, predefined field or question id.
    const mapped = assignAnswers(lead.answers, {
      'Custom question 1': 'city',
      job_function: 'properties.jobFunction',
      '707234246': 'properties.favouriteColour',
      EMAIL: 'ignore',
      WORK_EMAIL: 'email',
    });
    assert.equal(mapped.fields.get('city'), 'Mexico');
    assert.equal(mapped.fields.get('properties.jobFunction'), 'Ingeniería');
    assert.equal(mapped.fields.get('properties.favouriteColour'), 'Rojo');
    assert.equal(mapped.fields.get('email'), 'kjohonson@email.com');
    assert.ok(!mapped.unmapped.some((a) => a.label === 'EMAIL'), 'ignored answers are not kept');
  });

  it('builds the Rest.li URL with the form projection, refusing ids that would leave the path', () => {
    const url = responseUrl('https://api.linkedin.com', '249592fc-d272-44ba-a7db-c2bdce579507-6');
    assert.equal(
      url.split('?')[0],
      'https://api.linkedin.com/rest/leadFormResponses/249592fc-d272-44ba-a7db-c2bdce579507-6',
    );
    assert.match(url, /fields=.*form:\(hiddenFields,name,id,content\)$/);
    assert.throws(() => responseUrl('https://api.linkedin.com', '../me'));
  });
});

describe('generic JSON senders', () => {
  const settings: GenericSettings = {
    auth: 'token',
    signatureHeader: 'x-leadline-signature',
    itemsPath: null,
    idPath: null,
    occurredAtPath: null,
  };
  const token = 'shared-token-0123456789';
  const raw = Buffer.from('{"email":"a@example.com"}');

  it('takes the token as a bearer or X-Leadline-Token header', () => {
    assert.equal(verifyGenericRequest(settings, token, raw, { authorization: `Bearer ${token}` }), true);
    assert.equal(verifyGenericRequest(settings, token, raw, { 'x-leadline-token': token }), true);
    assert.equal(verifyGenericRequest(settings, token, raw, { authorization: 'Bearer nope' }), false);
    assert.equal(verifyGenericRequest(settings, token, raw, {}), false);
  });

  it('takes an HMAC of the raw body in hex, sha256=hex or base64', () => {
    const hmacSettings: GenericSettings = { ...settings, auth: 'hmac', signatureHeader: 'x-signature' };
    for (const signature of [hmac(token, raw), `sha256=${hmac(token, raw)}`, hmac(token, raw, 'base64')])
      assert.equal(
        verifyGenericRequest(hmacSettings, token, raw, { 'x-signature': signature }),
        true,
        signature,
      );
    assert.equal(verifyGenericRequest(hmacSettings, token, raw, { authorization: `Bearer ${token}` }), false);
    assert.equal(
      verifyGenericRequest(hmacSettings, token, Buffer.from('{}'), { 'x-signature': hmac(token, raw) }),
      false,
    );
  });

  it('finds the leads of a body and reads them by path and by the usual names', () => {
    const body = {
      data: { leads: [{ id: 7, contact: { mail: 'a@example.com' }, first_name: 'Ada', at: 1700000000 }] },
    };
    const paged = { ...settings, itemsPath: '$.data.leads', idPath: 'id', occurredAtPath: 'at' };
    const { items, errors } = genericItems(body, paged);
    assert.deepEqual(errors, []);
    const lead = genericLead(
      items[0] as Record<string, unknown>,
      paged,
      { 'contact.mail': 'email' },
      'fallback',
    );
    assert.equal(lead.externalId, '7');
    assert.equal(lead.occurredAt, 1_700_000_000_000);
    const { fields } = assignAnswers(lead.answers, { 'contact.mail': 'email' });
    assert.equal(fields.get('email'), 'a@example.com');
    assert.equal(fields.get('firstName'), 'Ada');
    assert.deepEqual(
      genericItems(body, { ...settings, itemsPath: 'data.missing' }).errors.map((e) => e.message),
      ['has no list of leads at data.missing'],
    );
    const mixed = genericItems([1, { email: 'b@example.com' }], settings);
    assert.deepEqual(
      mixed.errors.map((e) => e.path),
      ['/0'],
    );
    assert.deepEqual(mixed.items, [{ email: 'b@example.com' }], 'the object is still a lead');
    assert.equal(genericLead({ email: 'x' }, settings, {}, 'h:abc').externalId, 'h:abc');
  });
});
