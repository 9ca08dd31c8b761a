import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { markdownToHtml, unrenderableBody } from './markdown.ts';
import { plainSummary } from './render.ts';

describe('markdownToHtml', () => {
  it('renders GitHub-flavoured Markdown, headings one level down (the headline is the h1)', () => {
    const html = markdownToHtml(
      '# Why\n\nRead **this** and _that_.\n\n- one\n- two\n\n| a | b |\n| - | - |\n| 1 | 2 |',
    );
    assert.ok(html.includes('<h2>Why</h2>'));
    assert.ok(html.includes('<strong>this</strong>'));
    assert.ok(html.includes('<em>that</em>'));
    assert.ok(html.includes('<li>one</li>'));
    assert.ok(html.includes('<table>'));
    assert.ok(markdownToHtml('###### Deep').includes('<h6>Deep</h6>'));
  });

  it('shows raw HTML as text, block and inline', () => {
    for (const source of [
      '<script>alert(1)</script>',
      '<img src=x onerror=alert(1)>',
      'Hello <b onmouseover="alert(1)">you</b>',
      '<iframe src="https://evil.example"></iframe>',
      '<form action="https://evil.example"><input name=password></form>',
    ]) {
      const html = markdownToHtml(source);
      assert.ok(!/<(script|img|b|iframe|form|input)[\s>]/i.test(html), `${source} -> ${html}`);
      assert.ok(html.includes('&lt;'), html);
    }
  });

  it('keeps safe links and images, drops the address of unsafe ones (their text stays)', () => {
    assert.equal(
      markdownToHtml('[site](https://example.com "Our site")').trim(),
      '<p><a href="https://example.com" title="Our site" rel="noopener noreferrer">site</a></p>',
    );
    assert.equal(markdownToHtml('[pricing](/pricing)').trim(), '<p><a href="/pricing">pricing</a></p>');
    assert.equal(
      markdownToHtml('[mail](mailto:sales@acme.io)').trim(),
      '<p><a href="mailto:sales@acme.io">mail</a></p>',
    );
    for (const source of [
      '[click](javascript:alert(1))',
      '[click](JAVASCRIPT:alert(1))',
      '[click](data:text/html;base64,PHNjcmlwdD4=)',
      '[click][ref]\n\n[ref]: javascript:alert(1)',
      '<javascript:alert(1)>',
    ]) {
      const html = markdownToHtml(source);
      assert.ok(!/<a[\s>]|href=/.test(html), `${source} -> ${html}`);
    }
    assert.equal(
      markdownToHtml('![Cover](https://cdn.example.com/c.png)').trim(),
      '<p><img src="https://cdn.example.com/c.png" alt="Cover" loading="lazy"></p>',
    );
    assert.equal(markdownToHtml('![Cover](data:image/png;base64,AAAA)').trim(), '<p>Cover</p>');
  });

  it('escapes quotes in addresses and titles so they cannot leave the attribute', () => {
    const html = markdownToHtml('[x](https://example.com/?q="onmouseover=alert(1) "t\\"itle")');
    assert.ok(!/" onmouseover/.test(html), html);
  });
});

describe('unrenderableBody', () => {
  it('refuses quotes or lists nested thousands deep (marked overflows its stack on them)', () => {
    const refusal = 'is nested too deeply to show (quotes or lists inside each other)';
    assert.equal(unrenderableBody(`${'> '.repeat(5000)}hi`), refusal);
    assert.equal(unrenderableBody(`${'- '.repeat(5000)}x`), refusal);
    assert.equal(unrenderableBody(`${'> '.repeat(20)}a quote in a quote`), undefined);
  });

  it('refuses a body that takes longer than the budget to render (here none)', () => {
    assert.match(unrenderableBody('_a'.repeat(3000), -1) ?? '', /^takes too long to show \(\d+ ms\)/);
    assert.equal(unrenderableBody('# Title\n\nSome *text*.'), undefined);
  });
});

describe('plainSummary', () => {
  it('is the body as plain text, cut at a word near the limit', () => {
    assert.equal(
      plainSummary('# Title\n\nRead **this** [guide](https://x.example).'),
      'Title Read this guide.',
    );
    const long = plainSummary('word '.repeat(100), 30);
    assert.ok(long.length <= 30, long);
    assert.ok(long.endsWith('…'));
  });

  it('is made from the start of the body only, however long the markup that follows', () => {
    // Its expressions are quadratic on some markup ("<a" or "[" repeated): the start bounds them.
    const long = `Intro words here. ${'<a'.repeat(49_000)}`;
    assert.equal(plainSummary(long), plainSummary(long.slice(0, 2000)));
    assert.ok(plainSummary('['.repeat(99_000)).length <= 160);
  });
});
