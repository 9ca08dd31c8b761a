import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { type Lead, newLead } from '../leads/model.ts';
import {
  activityMatches,
  activityValue,
  type Conditions,
  checkConditions,
  compilePattern,
  conditionContext,
  domainKind,
  emptyContext,
  type FieldTest,
  globMatch,
  leadMatches,
  propertiesMatch,
} from './conditions.ts';

const now = Date.UTC(2026, 0, 1);

function lead(fields: Parameters<typeof newLead>[2] = {}): Lead {
  return newLead('l1', 'w1', fields, 'lead', now);
}

function passes(test: FieldTest, value: unknown, context = emptyContext): boolean {
  return propertiesMatch({ x: test }, { x: value }, context);
}

describe('patterns', () => {
  test('a word or phrase matches on word boundaries, in any case', () => {
    const vp = compilePattern('VP');
    assert.equal(vp('vp of sales'), true);
    assert.equal(vp('svp, marketing'), false);
    assert.equal(vp('mvp builder'), false);
    const phrase = compilePattern('vice president');
    assert.equal(phrase('senior vice   president, sales'), true);
    assert.equal(phrase('vice-president'), false);
    assert.equal(compilePattern('c-level')('c-level executive'), true);
  });

  test('a word pattern that starts with punctuation matches inside text', () => {
    const pricing = compilePattern('/pricing');
    assert.equal(pricing('https://acme.com/pricing'), true);
    assert.equal(pricing('https://acme.com/pricing/teams'), true);
    assert.equal(pricing('https://acme.com/pricingfaq'), false);
  });

  test('a glob matches the whole value; one starting with / also a URL path', () => {
    assert.equal(compilePattern('*@acme.com')('jane@acme.com'), true);
    assert.equal(compilePattern('*@acme.com')('jane@acme.com.evil'), false);
    const pricing = compilePattern('/pricing*');
    assert.equal(pricing('/pricing'), true);
    assert.equal(pricing('https://acme.com/pricing?plan=pro'), true);
    assert.equal(pricing('https://acme.com/docs/pricing'), false);
    assert.equal(pricing('not a url /pricing'), false);
  });

  test('regex syntax in a pattern is literal text', () => {
    assert.equal(compilePattern('c++')('c++ developer'), true);
    assert.equal(compilePattern('a.b')('axb'), false);
    assert.equal(compilePattern('(x)')('value (x) here'), true);
  });

  test('a list of patterns matches when one of them does, each with its own boundaries', () => {
    const listed = { matches: ['CTO', 'vice president', '/pricing*', 'c++'] };
    assert.equal(passes(listed, 'Acting CTO'), true);
    assert.equal(passes(listed, 'Director of Sales'), false, '"cto" inside a word');
    assert.equal(passes(listed, 'Senior Vice  President'), true);
    assert.equal(passes(listed, 'https://acme.com/pricing?plan=pro'), true, 'by the glob alone');
    assert.equal(passes(listed, 'https://acme.com/docs/pricing'), false);
    assert.equal(passes(listed, 'c++ developer'), true);
    assert.equal(passes({ matches: ['/pricing*', '/plans*'] }, '/plans/teams'), true, 'globs only');
    // Property: a list agrees with its patterns tested one by one.
    const word = fc.constantFrom('vp', 'head of', 'c-level', '/pricing', 'a.b', '/docs*', '*@acme.com');
    const text = fc.constantFrom(
      'VP of sales',
      'svp',
      'head of growth',
      'c-level',
      'axb',
      'a.b',
      '/docs/x',
      'jo@acme.com',
      'https://acme.com/pricing',
    );
    fc.assert(
      fc.property(fc.array(word, { minLength: 1, maxLength: 4 }), text, (patterns, value) => {
        const oneByOne = patterns.some((p) => compilePattern(p)(value.toLowerCase()));
        assert.equal(passes({ matches: patterns }, value), oneByOne);
      }),
    );
  });

  test('globMatch agrees with an anchored regular expression', () => {
    const alphabet = fc.constantFrom('a', 'b', '*');
    fc.assert(
      fc.property(
        fc.string({ unit: alphabet, maxLength: 8 }),
        fc.string({ unit: fc.constantFrom('a', 'b'), maxLength: 12 }),
        (pattern, text) => {
          const re = new RegExp(`^${pattern.replaceAll('*', '.*')}$`);
          assert.equal(globMatch(pattern, text), re.test(text));
        },
      ),
    );
  });

  test('a pathological glob stays fast on long text', () => {
    const started = performance.now();
    assert.equal(globMatch('*a*a*a*a*a*a*b', 'a'.repeat(2048)), false);
    assert.ok(performance.now() - started < 500);
  });
});

describe('operators', () => {
  test('in compares trimmed, case-insensitive, and numbers with numeric strings', () => {
    assert.equal(passes({ in: ['Software', 'SaaS'] }, ' software '), true);
    assert.equal(passes({ in: ['software'] }, 'hardware'), false);
    assert.equal(passes({ in: [5] }, '5'), true);
    assert.equal(passes({ in: ['5'] }, 5), true);
    assert.equal(passes({ in: [true] }, 'TRUE'), true);
    assert.equal(passes({ in: [true] }, false), false);
  });

  test('notIn and notMatches veto', () => {
    assert.equal(passes({ notIn: ['gmail.com'] }, 'acme.com'), true);
    assert.equal(passes({ notIn: ['gmail.com'] }, 'GMAIL.com'), false);
    assert.equal(
      passes({ matches: ['director'], notMatches: ['assistant'] }, 'Assistant to the Director'),
      false,
    );
    assert.equal(passes({ matches: ['director'], notMatches: ['assistant'] }, 'Director of Sales'), true);
  });

  test('min and max are inclusive and accept numeric strings', () => {
    assert.equal(passes({ min: 50, max: 1000 }, 50), true);
    assert.equal(passes({ min: 50, max: 1000 }, 1000), true);
    assert.equal(passes({ min: 50, max: 1000 }, '200'), true);
    assert.equal(passes({ min: 50, max: 1000 }, 1001), false);
    assert.equal(passes({ min: 50 }, 'many'), false);
  });

  test('region looks the country code up', () => {
    assert.equal(passes({ region: ['EMEA'] }, 'de'), true);
    assert.equal(passes({ region: ['NA'] }, 'DE'), false);
    assert.equal(passes({ region: ['NA', 'LATAM'] }, 'BR'), true);
  });

  test('domainType tells disposable, free-mail, competitor and business domains apart', () => {
    const context = conditionContext(['Rival.io']);
    assert.equal(domainKind('x@mailinator.com', context), 'disposable');
    assert.equal(domainKind('x@gmail.com', context), 'freemail');
    assert.equal(domainKind('x@eu.rival.io', context), 'competitor');
    assert.equal(domainKind('https://www.rival.io/about', context), 'competitor');
    assert.equal(domainKind('x@acme.com', context), 'business');
    assert.equal(domainKind('not an email', context), null);
    assert.equal(passes({ domainType: ['freemail', 'disposable'] }, 'jane@gmail.com', context), true);
  });

  test('a missing value fails every operator but exists: false', () => {
    for (const value of [null, undefined, '', []]) {
      assert.equal(passes({ in: ['a'] }, value), false);
      assert.equal(passes({ notIn: ['a'] }, value), false);
      assert.equal(passes({ exists: true }, value), false);
      assert.equal(passes({ exists: false }, value), true);
    }
    assert.equal(passes({ exists: true }, 0), true);
  });

  test('an array value passes when one item does and none is vetoed', () => {
    assert.equal(passes({ in: ['b'] }, ['a', 'b']), true);
    assert.equal(passes({ in: ['c'] }, ['a', 'b']), false);
    assert.equal(passes({ notIn: ['b'] }, ['a', 'b']), false);
  });

  test('a value that is neither text, number nor boolean fails every test but a veto, as an array of it does', () => {
    for (const value of [{ url: '/pricing' }, Number.NaN, [{ url: '/pricing' }]]) {
      assert.equal(passes({ matches: ['/pricing'] }, value), false);
      assert.equal(passes({ min: 0 }, value), false);
      assert.equal(passes({ notMatches: ['/pricing'] }, value), true);
      assert.equal(passes({ notIn: ['x'] }, value), true);
      assert.equal(passes({ notIn: ['x'], in: ['x'] }, value), false);
    }
  });
});

describe('fields', () => {
  test('a lead field or custom property', () => {
    const jane = lead({ jobTitle: 'Head of Growth', companySize: 120, properties: { plan: 'trial' } });
    const conditions: Conditions = {
      jobTitle: { matches: ['head'] },
      companySize: { min: 50 },
      'properties.plan': { in: ['trial'] },
    };
    assert.equal(leadMatches(conditions, jane, emptyContext), true);
    assert.equal(
      leadMatches({ ...conditions, 'properties.plan': { in: ['paid'] } }, jane, emptyContext),
      false,
    );
  });

  test('an activity property by name, or by a dotted path', () => {
    assert.equal(activityValue({ 'page.url': 'a', page: { url: 'b' } }, 'page.url'), 'a');
    assert.equal(activityValue({ page: { url: 'b' } }, 'page.url'), 'b');
    assert.equal(activityValue({ page: ['x'] }, 'page.0'), undefined);
    assert.equal(
      activityMatches(
        { type: 'page_view', where: { url: { matches: ['/pricing*'] } } },
        { type: 'page_view', properties: { url: 'https://a.io/pricing' } },
      ),
      true,
    );
    assert.equal(activityMatches({ type: 'page_view' }, { type: 'form_submitted', properties: {} }), false);
  });
});

describe('checkConditions', () => {
  test('names the field and operator at fault', () => {
    const errors = checkConditions(
      {
        jobtitle: { matches: ['vp'] },
        'properties.x': { in: [{}] as never, min: 10, max: 5 },
        country: { region: ['MARS' as never] },
        email: { domainType: ['corporate' as never], exists: false },
        industry: {},
        'a/b': { matches: ['**'] },
      },
      '/fit/0/when',
      'lead',
    );
    assert.deepEqual(
      errors.map((e) => e.path),
      [
        '/fit/0/when/jobtitle',
        '/fit/0/when/properties.x/in/0',
        '/fit/0/when/properties.x/max',
        '/fit/0/when/country/region/0',
        '/fit/0/when/email/domainType/0',
        '/fit/0/when/email/exists',
        '/fit/0/when/industry',
        '/fit/0/when/a~1b',
        '/fit/0/when/a~1b/matches/0',
      ],
    );
  });

  test('any property name is fine on an activity', () => {
    assert.deepEqual(checkConditions({ 'page.url': { matches: ['/x'] } }, '/w', 'activity'), []);
  });
});
