import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { confirmationEmail, confirmPage } from './messages.ts';

describe('double opt-in texts', () => {
  it('the email quotes what was asked for, links once, and escapes in HTML', () => {
    const email = confirmationEmail({
      sender: 'Acme <Tools>',
      firstName: 'Ada',
      grants: [
        {
          purpose: 'newsletter',
          text: 'Send me the <b>monthly</b> newsletter',
          version: 'v1',
          privacyUrl: 'https://acme.example/privacy',
        },
      ],
      link: 'https://leads.acme.example/c/TOKEN',
      expiresAt: Date.UTC(2026, 0, 24),
    });
    assert.equal(email.subject, 'Please confirm your email address for Acme <Tools>');
    assert.match(email.text, /^Hello Ada,/);
    assert.match(email.text, /- Send me the <b>monthly<\/b> newsletter/);
    assert.match(email.text, /https:\/\/leads\.acme\.example\/c\/TOKEN/);
    assert.match(email.text, /until 2026-01-24/);
    assert.match(email.text, /Privacy notice: https:\/\/acme\.example\/privacy/);
    assert.ok(!email.html.includes('<b>monthly'), 'form text is escaped');
    assert.match(email.html, /&lt;b&gt;monthly&lt;\/b&gt;/);
    assert.match(email.html, /Acme &lt;Tools&gt;/);
    assert.equal(email.html.match(/href="https:\/\/leads\.acme\.example\/c\/TOKEN"/g)?.length, 1);
  });

  it('the confirm page says what happened, with no scripts', () => {
    const page = confirmPage('confirmed', { sender: 'Acme', purposes: ['Send me <news>'] });
    assert.match(page, /<h1>Thank you — you are confirmed<\/h1>/);
    assert.match(page, /<li>Send me &lt;news&gt;<\/li>/);
    assert.ok(!page.includes('<script'));
    assert.match(confirmPage('expired'), /expired/);
    assert.match(confirmPage('invalid'), /not valid/);
  });
});
