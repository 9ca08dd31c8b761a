import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  chooseVariant,
  embeddedForms,
  isSafeImageUrl,
  isSafeLink,
  type LandingPage,
  type LandingVariant,
  prepareLandingPage,
  variantCookieName,
} from './model.ts';

const ids = { id: 'p1', workspaceId: 'w1' };
const now = Date.UTC(2026, 0, 1);

const variant = (key: string, weight: number, extra: Partial<LandingVariant> = {}): LandingVariant => ({
  key,
  weight,
  headline: `Headline ${key}`,
  body: '',
  imageUrl: null,
  imageAlt: null,
  formSlug: null,
  cta: null,
  ...extra,
});

function prepared(result: ReturnType<typeof prepareLandingPage>): LandingPage {
  assert.ok(result.ok, JSON.stringify(!result.ok && result.errors));
  return result.page;
}

describe('prepareLandingPage', () => {
  it('makes a published page with defaults: weight 1, nulls for what is not given, trimmed text', () => {
    const page = prepared(
      prepareLandingPage(
        null,
        { slug: 'spring-offer', name: ' Spring offer ', variants: [{ key: 'a', headline: ' Save 20% ' }] },
        ids,
        now,
      ),
    );
    assert.deepEqual(page, {
      id: 'p1',
      workspaceId: 'w1',
      slug: 'spring-offer',
      name: 'Spring offer',
      status: 'published',
      variants: [variant('a', 1, { headline: 'Save 20%' })],
      createdAt: now,
      updatedAt: now,
    });
  });

  it('names every bad field with its JSON Pointer', () => {
    const result = prepareLandingPage(
      null,
      {
        slug: 'Bad Slug',
        name: ' ',
        variants: [
          { key: 'a', headline: 'A', imageUrl: 'javascript:alert(1)' },
          { key: 'a', headline: ' ', weight: -1, imageUrl: 'https://cdn.example.com/x.png' },
          { key: '-x', headline: 'C', cta: { label: 'Go', url: 'javascript:alert(1)' } },
          { key: 'd', headline: 'D', cta: { label: 'Go' } },
          { key: 'e', headline: 'E', formSlug: 'Not A Slug' },
        ],
      },
      ids,
      now,
    );
    assert.equal(result.ok, false);
    assert.deepEqual(!result.ok && result.errors.map((e) => e.path), [
      '/slug',
      '/name',
      '/variants/0/imageUrl',
      '/variants/0/imageAlt',
      '/variants/1/key',
      '/variants/1/weight',
      '/variants/1/headline',
      '/variants/1/imageAlt',
      '/variants/2/key',
      '/variants/2/cta/url',
      '/variants/3/cta/url',
      '/variants/4/formSlug',
    ]);
  });

  it('needs variants on create, and a weighted one on a published page (a draft may have none weighted)', () => {
    const none = prepareLandingPage(null, { slug: 'x', name: 'X' }, ids, now);
    assert.deepEqual(!none.ok && none.errors, [
      { path: '/variants', message: 'must have at least one variant' },
    ]);
    const unweighted = prepareLandingPage(
      null,
      { slug: 'x', name: 'X', variants: [{ key: 'a', headline: 'A', weight: 0 }] },
      ids,
      now,
    );
    assert.deepEqual(!unweighted.ok && unweighted.errors.map((e) => e.path), ['/variants']);
    prepared(
      prepareLandingPage(
        null,
        { slug: 'x', name: 'X', status: 'draft', variants: [{ key: 'a', headline: 'A', weight: 0 }] },
        ids,
        now,
      ),
    );
  });

  it('keeps what a change does not name, replaces the variant list when given, keeps createdAt', () => {
    const first = prepared(
      prepareLandingPage(
        null,
        {
          slug: 'x',
          name: 'X',
          variants: [
            { key: 'a', headline: 'A' },
            { key: 'b', headline: 'B' },
          ],
        },
        ids,
        now,
      ),
    );
    const renamed = prepared(prepareLandingPage(first, { name: 'Y' }, ids, now + 1000));
    assert.equal(renamed.name, 'Y');
    assert.equal(renamed.slug, 'x');
    assert.deepEqual(renamed.variants, first.variants);
    assert.equal(renamed.createdAt, now);
    assert.equal(renamed.updatedAt, now + 1000);
    const replaced = prepared(
      prepareLandingPage(first, { variants: [{ key: 'c', headline: 'C', formSlug: 'demo' }] }, ids, now),
    );
    assert.deepEqual(
      replaced.variants.map((v) => [v.key, v.formSlug]),
      [['c', 'demo']],
    );
  });

  it('accepts an image with a described or decorative alt, and a call to action to the form', () => {
    const page = prepared(
      prepareLandingPage(
        null,
        {
          slug: 'x',
          name: 'X',
          variants: [
            {
              key: 'a',
              headline: 'A',
              imageUrl: '/static/hero.png',
              imageAlt: '',
              formSlug: 'demo',
              cta: { label: 'Get the guide' },
            },
          ],
        },
        ids,
        now,
      ),
    );
    assert.deepEqual(page.variants[0]?.cta, { label: 'Get the guide', url: null });
    assert.equal(page.variants[0]?.imageAlt, '');
  });
});

describe('safe addresses', () => {
  it('allows web, mail and phone links, site paths and anchors; refuses script and data URLs', () => {
    for (const url of [
      'https://a.example/x',
      'http://a.example',
      'mailto:a@b.c',
      'tel:+4930123',
      '/pricing',
      '#form',
    ])
      assert.equal(isSafeLink(url), true, url);
    for (const url of [
      'javascript:alert(1)',
      ' JavaScript:alert(1)',
      'data:text/html,x',
      '//evil.example',
      // Browsers read a backslash as a slash and drop tabs: these leave the site too.
      '/\\evil.example/',
      '/\\\\evil.example/login',
      '/\t/evil.example',
      'vbscript:x',
    ])
      assert.equal(isSafeLink(url), false, url);
    assert.equal(isSafeImageUrl('/\\evil.example/x.png'), false);
    assert.equal(isSafeImageUrl('https://cdn.example/x.png'), true);
    assert.equal(isSafeImageUrl('/img/x.png'), true);
    assert.equal(isSafeImageUrl('data:image/png;base64,AAAA'), false);
    assert.equal(isSafeImageUrl('mailto:a@b.c'), false);
  });
});

describe('embeddedForms', () => {
  it('lists each form once, with the path of its first mention', () => {
    assert.deepEqual(
      embeddedForms([
        { formSlug: 'demo' },
        { formSlug: null },
        { formSlug: ' demo ' },
        { formSlug: 'guide' },
      ]),
      [
        { slug: 'demo', path: '/variants/0/formSlug' },
        { slug: 'guide', path: '/variants/3/formSlug' },
      ],
    );
  });
});

describe('chooseVariant', () => {
  const variants = [variant('a', 1), variant('b', 3), variant('off', 0)];

  it('picks by weight: the random point falls into each variant in proportion to its weight', () => {
    const counts = new Map<string, number>();
    for (let i = 0; i < 400; i++) {
      const choice = chooseVariant(variants, { random: i / 400 });
      assert.ok(choice?.remember);
      counts.set(choice.variant.key, (counts.get(choice.variant.key) ?? 0) + 1);
    }
    assert.deepEqual(Object.fromEntries(counts), { a: 100, b: 300 });
    assert.equal(chooseVariant(variants, { random: 0.999999999999 })?.variant.key, 'b');
  });

  it('keeps the remembered variant while it has a weight; a paused or removed one is picked anew', () => {
    assert.deepEqual(chooseVariant(variants, { remembered: 'a', random: 0.99 }), {
      variant: variants[0],
      remember: false,
    });
    assert.deepEqual(chooseVariant(variants, { remembered: 'off', random: 0.99 }), {
      variant: variants[1],
      remember: true,
    });
    assert.deepEqual(chooseVariant(variants, { remembered: 'gone', random: 0 }), {
      variant: variants[0],
      remember: true,
    });
  });

  it('shows a previewed variant (even a paused one) without remembering it', () => {
    assert.deepEqual(chooseVariant(variants, { preview: 'off', remembered: 'a', random: 0 }), {
      variant: variants[2],
      remember: false,
    });
    assert.equal(chooseVariant(variants, { preview: 'nope', remembered: 'a', random: 0 })?.variant.key, 'a');
  });

  it('shows the first variant of a page with no weights (a draft) and nothing for no variants', () => {
    assert.equal(chooseVariant([variant('x', 0), variant('y', 0)], { random: 0.5 })?.variant.key, 'x');
    assert.equal(chooseVariant([], { random: 0.5 }), undefined);
  });

  it('remembers nothing when only one variant has a weight', () => {
    assert.deepEqual(chooseVariant([variant('only', 2), variant('off', 0)], { random: 0.5 }), {
      variant: variant('only', 2),
      remember: false,
    });
  });

  it('names the cookie after the page', () => {
    assert.equal(variantCookieName('spring-offer'), 'll_lp_spring-offer');
  });
});
