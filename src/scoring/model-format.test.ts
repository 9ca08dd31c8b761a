import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { defaultGrades, defaultModel, type ScoringModel } from './model.ts';
import {
  detectFormat,
  MAX_MODEL_TEXT,
  modelToJson,
  modelToYaml,
  parseModelText,
  validateModel,
} from './model-format.ts';

function errorsOf(raw: unknown) {
  const result = validateModel(raw);
  assert.equal(result.ok, false);
  return result.ok ? [] : result.errors;
}

describe('validateModel', () => {
  test('fills the defaults of a minimal model', () => {
    const result = validateModel({ behaviour: [{ id: 'demo', points: 30, type: 'demo_requested' }] });
    assert.ok(result.ok);
    assert.deepEqual(result.model, {
      halfLifeDays: 30,
      grades: defaultGrades,
      competitorDomains: [],
      fit: [],
      behaviour: [{ id: 'demo', label: 'demo', points: 30, type: 'demo_requested' }],
      negative: [],
    });
  });

  test('reports schema errors by field path', () => {
    const errors = errorsOf({
      halfLifeDays: 0,
      behaviour: [
        { id: 'a', points: 5, type: 'page_view' },
        { id: 'b', points: 5, type: 'page_view', once: 'yes' },
        { id: 'c', points: 'lots', type: 'page_view' },
      ],
      colour: 'blue',
    });
    assert.deepEqual(errors.map((e) => e.path).sort(), [
      '/behaviour/1/once',
      '/behaviour/2/points',
      '/colour',
      '/halfLifeDays',
    ]);
    assert.equal(errors.find((e) => e.path === '/colour')?.message, 'is not a known field');
  });

  test('reports what the schema cannot see', () => {
    const errors = errorsOf({
      grades: { fit: { A: 10, B: 20, C: 5 } },
      competitorDomains: ['not a domain'],
      fit: [{ id: 'x', points: 0, when: { jobTitel: { matches: ['vp'] } } }],
      behaviour: [
        { id: 'x', points: 5, type: 'page_veiw' },
        { id: 'neg', points: -5, type: 'page_view' },
        { id: 'win', points: 5, type: 'page_view', frequency: { atLeast: 1, withinDays: 7 } },
      ],
      negative: [
        { id: 'pos', points: 5, type: 'email_bounced' },
        { id: 'both', points: -5, type: 'email_bounced', when: { email: { exists: true } } },
        { id: 'neither', points: -5 },
        { id: 'profile-cap', points: -5, when: { email: { exists: true } }, cap: 10 },
      ],
    });
    assert.deepEqual(
      errors.map((e) => e.path),
      [
        '/fit/0/points',
        '/fit/0/when/jobTitel',
        '/behaviour/0/id',
        '/behaviour/0/type',
        '/behaviour/1/points',
        '/behaviour/2/frequency/withinDays',
        '/negative/0/points',
        '/negative/1/type',
        '/negative/2',
        '/negative/3/cap',
        '/grades/fit',
        '/competitorDomains/0',
      ],
    );
    assert.equal(errors.find((e) => e.path === '/behaviour/0/id')?.message, 'is already used by /fit/0');
  });

  test('keeps negative rules of both kinds apart', () => {
    const result = validateModel({
      negative: [
        { id: 'student', label: 'Student', points: -30, when: { jobTitle: { matches: ['student'] } } },
        { id: 'bounce', points: -10, type: 'email_bounced', once: true },
      ],
    });
    assert.ok(result.ok);
    assert.deepEqual(result.model.negative, [
      { id: 'student', label: 'Student', points: -30, when: { jobTitle: { matches: ['student'] } } },
      { id: 'bounce', label: 'bounce', points: -10, type: 'email_bounced', once: true },
    ]);
  });
});

describe('parseModelText', () => {
  test('reads YAML', () => {
    const result = parseModelText(
      [
        'halfLifeDays: 14',
        'fit:',
        '  - id: size',
        '    points: 15',
        '    when: { companySize: { min: 50, max: 1000 } }',
        'behaviour:',
        '  - id: pricing',
        '    points: 25',
        '    type: page_view',
        "    where: { url: { matches: ['/pricing*'] } }",
      ].join('\n'),
    );
    assert.ok(result.ok, JSON.stringify(result));
    assert.equal(result.model.halfLifeDays, 14);
    assert.deepEqual(result.model.behaviour[0]?.where, { url: { matches: ['/pricing*'] } });
  });

  test('a YAML syntax error has its line and column', () => {
    const result = parseModelText('fit:\n  - id: a\n\tpoints: 1\n');
    assert.equal(result.ok, false);
    if (result.ok) return;
    assert.deepEqual(result.errors, [
      { path: '/', message: 'Tabs are not allowed as indentation', line: 3, column: 1 },
    ]);
  });

  test('a duplicate YAML key is an error', () => {
    const result = parseModelText('halfLifeDays: 10\nhalfLifeDays: 20\n');
    assert.equal(result.ok, false);
    if (!result.ok) assert.equal(result.errors[0]?.line, 2);
  });

  test('a validation error has its path and the line of that field', () => {
    const result = parseModelText(
      'fit: []\nbehaviour:\n  - id: a\n    type: page_view\n    points: 5\n  - id: b\n    type: page_view\n    points: -5\n',
    );
    assert.equal(result.ok, false);
    if (result.ok) return;
    assert.deepEqual(result.errors, [
      { path: '/behaviour/1/points', message: result.errors[0]!.message, line: 8, column: 13 },
    ]);
  });

  test('a missing field points at its parent', () => {
    const result = parseModelText('behaviour:\n  - id: a\n    type: page_view\n');
    assert.equal(result.ok, false);
    if (!result.ok)
      assert.deepEqual([result.errors[0]?.path, result.errors[0]?.line], ['/behaviour/0/points', 2]);
  });

  test('reads JSON, with the line of a syntax error', () => {
    assert.equal(detectFormat('  {"fit": []}'), 'json');
    assert.equal(detectFormat('fit: []'), 'yaml');
    assert.ok(parseModelText('{"halfLifeDays": 7, "fit": []}').ok);
    const bad = parseModelText('{\n  "halfLifeDays": 7,\n  fit: []\n}');
    assert.equal(bad.ok, false);
    if (!bad.ok) assert.equal(bad.errors[0]?.line, 3);
    const invalid = parseModelText('{\n  "halfLifeDays": "soon"\n}');
    assert.equal(invalid.ok, false);
    if (!invalid.ok)
      assert.deepEqual([invalid.errors[0]?.path, invalid.errors[0]?.line], ['/halfLifeDays', 2]);
  });

  test('an empty document, or one naming no rule list, is refused: it would wipe every rule', () => {
    for (const text of ['', '{}', 'halfLifeDays: 7', '# exported model\n']) {
      const result = parseModelText(text);
      assert.equal(result.ok, false, JSON.stringify(text));
      if (!result.ok)
        assert.deepEqual(
          result.errors.map((e) => e.path),
          ['/'],
        );
    }
    const empty = parseModelText('fit: []');
    assert.ok(empty.ok);
    assert.deepEqual([empty.model.fit, empty.model.behaviour, empty.model.negative], [[], [], []]);
  });

  test('keeps text in NFC, as lead text is stored, and competitor domains in punycode', () => {
    const decomposed = 'e\u0301nergie';
    const result = parseModelText(
      JSON.stringify({
        fit: [
          {
            id: 'energy',
            points: 20,
            when: { industry: { in: [decomposed] }, city: { matches: ['Zu\u0308rich'] } },
          },
        ],
        competitorDomains: ['Müller.de'],
      }),
    );
    assert.ok(result.ok, JSON.stringify(!result.ok && result.errors));
    assert.deepEqual(result.model.fit[0]!.when, {
      industry: { in: ['énergie'] },
      city: { matches: ['Zürich'] },
    });
    assert.deepEqual(result.model.competitorDomains, ['xn--mller-kva.de']);
  });

  test('refuses oversized text and alias bombs', () => {
    assert.equal(parseModelText(`# ${'x'.repeat(MAX_MODEL_TEXT)}`).ok, false);
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]', 'b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]']
      .concat([
        'c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]',
        'd: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]',
      ])
      .join('\n');
    const result = parseModelText(bomb);
    assert.equal(result.ok, false);
  });
});

describe('round trip', () => {
  test('YAML and JSON give back the same model', () => {
    for (const text of [modelToYaml(defaultModel), modelToJson(defaultModel)]) {
      const result = parseModelText(text);
      assert.ok(result.ok, text);
      assert.deepEqual(result.model, defaultModel);
    }
    assert.match(modelToYaml(defaultModel), /^# Leadline scoring model/);
    assert.match(modelToYaml(defaultModel), /region: \[ NA, EMEA \]/);
  });

  test('any valid model survives YAML and JSON (property)', () => {
    const awkward = fc.constantFrom(
      'yes',
      'no',
      'null',
      '~',
      '1e3',
      '0x10',
      'a: b',
      '#hash',
      '- dash',
      "it's",
      '"q"',
      'ü ✓',
      ' ',
      '*',
      '&x',
    );
    const text = fc.oneof(fc.string({ minLength: 1, maxLength: 20 }), awkward);
    const label = text.filter((s) => s.length >= 1 && s.length <= 200);
    const pattern = text.filter((s) => s.trim() !== '' && !/^\*+$/.test(s.trim()));
    const model = fc
      .record({
        halfLifeDays: fc.double({ min: 0.1, max: 3650, noNaN: true }),
        fitLabel: label,
        values: fc.array(fc.oneof(text, fc.integer(), fc.boolean()), { minLength: 1, maxLength: 4 }),
        patterns: fc.array(pattern, { minLength: 1, maxLength: 4 }),
        points: fc.integer({ min: 1, max: 100 }),
      })
      .map(
        ({ halfLifeDays, fitLabel, values, patterns, points }): ScoringModel => ({
          halfLifeDays,
          grades: defaultGrades,
          competitorDomains: ['acme.com'],
          fit: [{ id: 'f', label: fitLabel, points, when: { 'properties.x y': { in: values } } }],
          behaviour: [
            {
              id: 'b',
              label: 'b',
              points,
              type: 'custom',
              where: { name: { matches: patterns } },
              once: true,
            },
          ],
          negative: [{ id: 'n', label: 'n', points: -points, type: 'email_bounced', cap: points }],
        }),
      );
    fc.assert(
      fc.property(model, (m) => {
        assert.ok(validateModel(m).ok);
        for (const text of [modelToYaml(m), modelToJson(m)]) {
          const result = parseModelText(text);
          assert.ok(result.ok, text);
          assert.deepEqual(result.model, m);
        }
      }),
    );
  });
});
