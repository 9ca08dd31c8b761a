import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultSpamSettings } from './model.ts';
import { fieldLabel, renderFormHtml } from './render.ts';

const form = {
  slug: 'demo',
  name: 'Book a demo',
  submitLabel: 'Book it',
  progressive: null,
  spam: defaultSpamSettings,
  fields: [
    {
      name: 'email',
      type: 'email' as const,
      label: 'Work email',
      required: true,
      maps: 'email',
      help: 'We reply within a day.',
    },
    { name: 'first_name', type: 'text' as const, maps: 'firstName', placeholder: 'Ada' },
    {
      name: 'size',
      type: 'select' as const,
      options: [
        { value: '1-10', label: '1–10' },
        { value: '11+', label: '11+' },
      ],
    },
    {
      name: 'topics',
      type: 'multi-select' as const,
      options: [
        { value: 'crm', label: 'CRM' },
        { value: 'ai', label: 'AI' },
      ],
    },
    { name: 'country', type: 'country' as const, maps: 'country' },
    { name: 'note', type: 'textarea' as const },
    { name: 'campaign', type: 'hidden' as const, defaultValue: 'q3' },
  ],
  consents: [
    {
      purpose: 'marketing',
      text: 'Send me news & offers',
      version: '1',
      privacyUrl: 'https://x.io/privacy',
      required: true,
    },
  ],
};

describe('renderFormHtml', () => {
  it('labels every control, wires help text, hides the honeypot and carries the token', () => {
    const html = renderFormHtml(form, {
      token: 'tok.en',
      hidden: { pageUrl: 'https://x.io/?a=1&b=2', variant: 'b' },
    });
    assert.match(
      html,
      /^<form class="ll-form" method="post" action="\/f\/demo" accept-charset="utf-8" novalidate id="ll-demo" aria-label="Book a demo">/,
    );
    assert.match(
      html,
      /<label for="ll-demo-email">Work email <span class="ll-required" aria-hidden="true">\*<\/span><\/label>/,
    );
    assert.match(
      html,
      /<input type="email" id="ll-demo-email" name="email" maxlength="2000" inputmode="email" required aria-required="true" aria-describedby="ll-demo-email-help" autocomplete="email">/,
    );
    assert.match(html, /<p class="ll-help" id="ll-demo-email-help">We reply within a day\.<\/p>/);
    assert.match(
      html,
      /<label for="ll-demo-first_name">First name<\/label><input type="text"[^>]*autocomplete="given-name"/,
    );
    assert.match(html, /<fieldset class="ll-field" id="ll-demo-topics"><legend>Topics<\/legend>/);
    assert.match(html, /<option value="DE">Germany<\/option>/);
    assert.match(html, /<input type="hidden" name="campaign" value="q3">/);
    assert.match(html, /<input type="hidden" name="_ll_ts" value="tok.en">/);
    assert.match(html, /<input type="hidden" name="_ll_page" value="https:\/\/x\.io\/\?a=1&amp;b=2">/);
    assert.match(html, /<input type="hidden" name="_ll_variant" value="b">/);
    assert.match(html, /<div class="ll-hp" aria-hidden="true">.*tabindex="-1" autocomplete="off"><\/div>/);
    assert.match(html, /<label for="ll-demo-_ll_consent_marketing">Send me news &amp; offers/);
    assert.match(
      html,
      /<a href="https:\/\/x\.io\/privacy" target="_blank" rel="noopener noreferrer">Privacy notice<\/a>/,
    );
    assert.match(html, /<button type="submit">Book it<\/button>/);
    assert.doesNotMatch(html, /ll-summary/);
  });

  it('shows errors next to their fields and in an alert summary linking to them; keeps the values, escaped', () => {
    const html = renderFormHtml(form, {
      token: 't',
      values: {
        email: 'a"b',
        first_name: '<script>x</script>',
        size: '11+',
        topics: ['ai'],
        note: '</textarea>',
      },
      errors: [
        { path: '/fields/email', message: 'Enter a valid email address.' },
        { path: '/fields/_ll_consent_marketing', message: 'Tick this box to continue.' },
        { path: '/fields', message: 'Something else.' },
      ],
    });
    assert.match(html, /aria-describedby="ll-demo-summary">/);
    assert.match(
      html,
      /<div class="ll-summary" role="alert" tabindex="-1" id="ll-demo-summary"><h2>There is a problem<\/h2><ul>/,
    );
    assert.match(html, /<li><a href="#ll-demo-email">Work email: Enter a valid email address\.<\/a><\/li>/);
    assert.match(
      html,
      /<li><a href="#ll-demo-_ll_consent_marketing">Send me news &amp; offers: Tick this box to continue\.<\/a><\/li>/,
    );
    assert.match(html, /<li>Something else\.<\/li>/);
    assert.match(
      html,
      /value="a&quot;b"[^>]*aria-describedby="ll-demo-email-help ll-demo-email-error" aria-invalid="true"/,
    );
    assert.match(html, /<p class="ll-error" id="ll-demo-email-error">Enter a valid email address\.<\/p>/);
    assert.match(html, /value="&lt;script&gt;x&lt;\/script&gt;"/);
    assert.match(html, /<option value="11\+" selected>11\+<\/option>/);
    assert.match(html, /value="ai" checked>/);
    assert.match(html, /&lt;\/textarea&gt;<\/textarea>/);
    assert.doesNotMatch(html, /<script>/);
  });

  it('leaves the honeypot out when the form does not use one, and labels unnamed fields readably', () => {
    const html = renderFormHtml(
      { ...form, spam: { ...defaultSpamSettings, honeypot: false } },
      { token: 't' },
    );
    assert.doesNotMatch(html, /_ll_hp/);
    assert.equal(fieldLabel({ name: 'job_title' }), 'Job title');
    assert.equal(fieldLabel({ name: 'companySize' }), 'Company size');
  });
});
