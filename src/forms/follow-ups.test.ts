import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Lead } from '../leads/model.ts';
import { leadMagnetEmail, notificationEmail, notificationRows } from './follow-ups.ts';
import type { Form } from './model.ts';

const form: Pick<Form, 'name' | 'fields' | 'consents'> = {
  name: 'Demo request',
  fields: [
    { name: 'email', type: 'email', label: 'Work email', maps: 'email' },
    { name: 'team', type: 'multi-select', label: 'Teams', options: [{ value: 'sales', label: 'Sales' }] },
    { name: 'notes', type: 'textarea' },
    { name: 'campaign', type: 'hidden', label: 'Campaign' },
  ],
  consents: [
    { purpose: 'newsletter', text: 'News', version: 'v1' },
    { purpose: 'partners', text: 'Partners', version: 'v1' },
  ],
};

const lead = {
  id: 'lead-1',
  email: 'ada@example.com',
  firstName: 'Ada',
  lastName: 'Lovelace',
  company: null,
  phone: null,
} as unknown as Lead;

describe('follow-up emails', () => {
  it('a notification lists the answers by label, skipping empty ones, then page, UTM and consents', () => {
    const rows = notificationRows({
      form,
      lead,
      submission: {
        values: {
          email: 'ada@example.com',
          team: ['sales', 'marketing'],
          notes: '  ',
          campaign: 'spring',
          utm_campaign: 'q2',
          _ll_consent_newsletter: 'on',
          _ll_consent_partners: '',
          _ll_hp: 'ignored',
        },
        pageUrl: 'https://acme.example/demo',
        receivedAt: Date.UTC(2026, 0, 2, 9, 30),
      },
      link: 'https://leads.example/leads/lead-1',
    });
    assert.deepEqual(rows, [
      ['Work email', 'ada@example.com'],
      ['Teams', 'sales, marketing'],
      ['Campaign', 'spring'],
      ['Page', 'https://acme.example/demo'],
      ['utm_campaign', 'q2'],
      ['Consent', 'newsletter'],
    ]);
    const email = notificationEmail({
      form,
      lead,
      submission: {
        values: { email: 'ada@example.com' },
        pageUrl: null,
        receivedAt: Date.UTC(2026, 0, 2, 9, 30),
      },
      link: 'https://leads.example/leads/lead-1',
    });
    assert.equal(email.subject, 'New submission of Demo request: Ada Lovelace');
    assert.match(email.text, /^Ada Lovelace submitted Demo request at 2026-01-02 09:30 UTC\./);
  });

  it('the lead magnet email links the download and escapes its title in HTML', () => {
    const email = leadMagnetEmail({
      sender: 'Acme',
      firstName: null,
      title: 'Guide <2026>',
      url: 'https://cdn.example.com/g.pdf?a=1&b=2',
    });
    assert.equal(email.subject, 'Your download: Guide <2026>');
    assert.match(email.text, /^Hello,\n/);
    assert.match(email.text, /https:\/\/cdn\.example\.com\/g\.pdf\?a=1&b=2/);
    assert.match(email.html, /href="https:\/\/cdn\.example\.com\/g\.pdf\?a=1&amp;b=2"/);
    assert.match(email.html, /Guide &lt;2026&gt;/);
    assert.doesNotMatch(email.text, /link works/, 'a URL of the form owner’s does not expire');
  });

  it('says how long a hosted file’s link works', () => {
    const email = leadMagnetEmail({
      sender: 'Acme',
      firstName: 'Ada',
      title: 'Guide',
      url: 'https://leads.example/f/guide/magnet/token',
      validDays: 30,
    });
    assert.match(
      email.text,
      /\nhttps:\/\/leads\.example\/f\/guide\/magnet\/token\n\nThe link works for 30 days\.\n/,
    );
    assert.match(email.html, /<p>The link works for 30 days\.<\/p>/);
  });
});
