import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isDomainError } from '../errors.ts';
import { newLead } from '../leads/model.ts';
import { parseQualificationRule } from '../lifecycle/qualification.ts';
import { nextStage, parseStageRules } from '../lifecycle/stage-rules.ts';
import { parseTemperatureConfig, temperatureAt } from '../lifecycle/temperature.ts';
import { DAY_MS } from './decay.ts';
import { applyActivities, applyActivity, emptyState, scoreAt } from './engine.ts';
import { defaultModel } from './model.ts';
import { modelToYaml, parseModelText, validateModel } from './model-format.ts';
import { presetNamed, presetNames, presets } from './presets.ts';

const t0 = Date.UTC(2026, 5, 1);

describe('presets', () => {
  for (const name of presetNames) {
    test(`${name}: model, stage rules, temperature and qualification are valid`, () => {
      const preset = presets[name];
      assert.equal(preset.name, name);
      const model = validateModel(preset.model);
      assert.ok(model.ok, JSON.stringify(!model.ok && model.errors));
      assert.deepEqual(model.model, preset.model);
      const yaml = parseModelText(modelToYaml(preset.model));
      assert.ok(yaml.ok);
      assert.deepEqual(yaml.model, preset.model);
      const rules = parseStageRules(preset.stageRules);
      assert.ok(rules.ok, JSON.stringify(!rules.ok && rules.errors));
      assert.deepEqual(rules.value, preset.stageRules);
      const temperature = parseTemperatureConfig(preset.temperature);
      assert.ok(temperature.ok, JSON.stringify(!temperature.ok && temperature.errors));
      const qualification = parseQualificationRule(preset.qualification);
      assert.ok(qualification.ok);
      assert.deepEqual(qualification.value, preset.qualification);
      assert.ok(preset.description.length > 50);
    });
  }

  test('an unknown preset is PRESET_NOT_FOUND', () => {
    assert.equal(presetNamed('b2b-saas'), presets['b2b-saas']);
    assert.throws(
      () => presetNamed('crypto'),
      (error) => isDomainError(error) && error.code === 'PRESET_NOT_FOUND',
    );
  });

  test('b2b-saas keeps the published example rule for rule', () => {
    const { model } = presets['b2b-saas'];
    for (const rule of [...defaultModel.fit, ...defaultModel.behaviour]) {
      assert.ok(
        [...model.fit, ...model.behaviour].some((r) => JSON.stringify(r) === JSON.stringify(rule)),
        rule.id,
      );
    }
  });

  test('b2b-saas: a competitor scores 0 however senior; a student is marked down', () => {
    const model = { ...presets['b2b-saas'].model, competitorDomains: ['rival.io'] };
    const rival = newLead('l', 'w', { email: 'ceo@rival.io', jobTitle: 'CEO', companySize: 100 }, 'lead', t0);
    assert.equal(scoreAt(model, null, rival, t0).score, 0);
    const student = newLead('l', 'w', { email: 'a@uni.edu', jobTitle: 'Student' }, 'lead', t0);
    assert.equal(scoreAt(model, null, student, t0).negativeScore, -30);
  });

  test('real-estate: a viewing request makes an MQL and a hot lead', () => {
    const preset = presets['real-estate'];
    const viewing = {
      id: 'v',
      type: 'form_submitted',
      occurredAt: t0,
      properties: { form: 'Book a viewing' },
    };
    const state = applyActivity(preset.model, emptyState(preset.model), viewing, t0).state;
    const lead = newLead('l', 'w', { phone: '+442071838750' }, 'lead', t0);
    const score = scoreAt(preset.model, state, lead, t0);
    assert.equal(score.score, 40);
    assert.deepEqual(nextStage(preset.stageRules, 'lead', score.score, viewing)?.stage, 'mql');
    const reading = temperatureAt(preset.temperature, { ...state, lastHighIntentAt: t0 }, t0);
    assert.equal(reading.temperature, 'hot');
  });

  test('ecommerce: an order makes a customer; behaviour halves in a week', () => {
    const preset = presets.ecommerce;
    const order = { id: 'o', type: 'custom', occurredAt: t0, properties: { name: 'order_placed' } };
    assert.equal(nextStage(preset.stageRules, 'subscriber', 0, order)?.stage, 'customer');
    const cart = { id: 'c', type: 'custom', occurredAt: t0, properties: { name: 'add_to_cart' } };
    const state = applyActivities(preset.model, emptyState(preset.model), [cart], t0);
    const lead = newLead('l', 'w', {}, 'lead', t0);
    assert.equal(scoreAt(preset.model, state, lead, t0 + 7 * DAY_MS).behaviourScore, 5);
  });

  test('services: a careers-page visitor loses points; qualification uses CHAMP', () => {
    const preset = presets.services;
    const careers = {
      id: 'c',
      type: 'page_view',
      occurredAt: t0,
      properties: { url: 'https://agency.io/careers/designer' },
    };
    const state = applyActivity(preset.model, emptyState(preset.model), careers, t0).state;
    assert.equal(state.negative, -10);
    assert.equal(preset.qualification.framework, 'champ');
  });
});
