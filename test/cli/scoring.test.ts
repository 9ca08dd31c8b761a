import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import pino from 'pino';
import { parse as parseYaml } from 'yaml';
import { createServices, type Services } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { defaultModel } from '../../src/scoring/model.ts';
import { modelToJson, modelToYaml } from '../../src/scoring/model-format.ts';
import { presets } from '../../src/scoring/presets.ts';
import { type Finished, leadline, tempFolder } from '../support/cli.ts';

/**
 * `leadline scoring export|apply` and `leadline init --preset` as an operator runs them: real
 * processes on a temporary data folder (SQLite), model files on disk. Every CLI start costs
 * about 300 ms of CPU (running the tests concurrently gains nothing on two cores), so leads are
 * set up and stored results read in this process.
 */

/** Runs a command that must succeed. */
async function succeeds(dir: string, args: string[]): Promise<Finished> {
  const result = await leadline(dir, args);
  assert.equal(result.code, 0, `leadline ${args.join(' ')}: ${result.stderr}`);
  return result;
}

/** The `key: value` lines of a summary. */
function summary(stdout: string): Record<string, string> {
  return Object.fromEntries(
    stdout
      .split('\n')
      .map((line) => /^([a-z][a-z ]*): (.*)$/.exec(line))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => [m[1]!, m[2]!]),
  );
}

/** Runs `use` on the services of the data folder `dir`, in this process (setup and checks). */
async function withServices<T>(dir: string, use: (services: Services) => Promise<T>): Promise<T> {
  const config = loadConfig({ LEADLINE_DATA_DIR: path.join(dir, 'data'), LOG_LEVEL: 'silent' });
  const services = await createServices(config, { logger: pino({ level: 'silent' }) });
  try {
    return await use(services);
  } finally {
    await services.close();
  }
}

/** What the workspace `default` holds: its model versions and lifecycle settings. */
function stored(dir: string) {
  return withServices(dir, async (services) => {
    const workspace = await services.workspaces.resolveWorkspace('default');
    return {
      versions: (await services.scoring.versions(workspace.id)).map((v) => [v.version, v.createdBy]),
      lifecycle: workspace.settings.lifecycle,
    };
  });
}

/**
 * Three leads scored by the default model: Ada 10 + 15 + 20 + 5 = 50 (an MQL at once), Ben
 * 15 + 20 + 5 = 40, Cy 10 + 5 = 15. Captured in this process: a CLI start costs more.
 */
function addLeads(dir: string): Promise<void> {
  const leads = [
    {
      email: 'ada@northwind.io',
      jobTitle: 'VP Marketing',
      companySize: 200,
      industry: 'Software',
      country: 'US',
    },
    {
      email: 'ben@northwind.io',
      jobTitle: 'Engineer',
      companySize: 200,
      industry: 'Software',
      country: 'US',
    },
    { email: 'cy@corner-shop.fr', jobTitle: 'CEO', companySize: 5, industry: 'Retail', country: 'FR' },
  ];
  return withServices(dir, async (services) => {
    await services.workspaces.bootstrap();
    const workspace = await services.workspaces.resolveWorkspace('default');
    await services.database.writes.run(async (trx) => {
      for (const lead of leads) await services.leads.captureIn(trx, workspace, lead, 'api');
    });
  });
}

describe('leadline scoring / init', () => {
  it('exports the active model, and applying the export saves a new version of the same model', async () => {
    const dir = tempFolder('leadline-scoring-cli-');
    await addLeads(dir);
    const exported = await succeeds(dir, ['scoring', 'export']);
    assert.equal(exported.stdout, modelToYaml(defaultModel), 'the built-in default, as YAML');
    const file = path.join(dir, 'model.yaml');
    fs.writeFileSync(file, exported.stdout);

    const applied = await succeeds(dir, ['scoring', 'apply', file]);
    assert.match(applied.stdout, /^Applied model\.yaml to workspace "default"\n/);
    assert.deepEqual(
      { ...summary(applied.stdout), seconds: undefined },
      { version: '1', 'leads rescored': '3', 'band changes': '0', 'stage changes': '0', seconds: undefined },
    );

    const json = await succeeds(dir, ['scoring', 'export', '--format', 'json']);
    assert.equal(json.stdout, modelToJson(defaultModel));
    assert.deepEqual(JSON.parse(json.stdout), parseYaml(exported.stdout));
    assert.deepEqual((await stored(dir)).versions, [[1, 'cli']]);
  });

  it('refuses an invalid file with each field path and line, and opens no database', async () => {
    const dir = tempFolder('leadline-scoring-cli-');
    const file = path.join(dir, 'bad.yaml');
    fs.writeFileSync(
      file,
      [
        'halfLifeDays: 30',
        'behaviour:',
        '  - id: pricing',
        '    points: -25',
        '    type: page_view',
        '  - id: webinar',
        '    points: 15',
        '    type: webinar_atended',
      ].join('\n'),
    );
    const result = await leadline(dir, ['scoring', 'apply', file]);
    assert.equal(result.code, 1);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, /bad\.yaml is not a valid scoring model \(2 errors\); nothing was saved/);
    assert.match(result.stderr, /bad\.yaml:4:\d+: \/behaviour\/0\/points: must be > 0/);
    assert.match(result.stderr, /bad\.yaml:8:\d+: \/behaviour\/1\/type: is not a known activity type/);
    assert.ok(!fs.existsSync(path.join(dir, 'data')), 'the file is checked before the database is opened');

    // An empty file (a failed `scoring export > model.yaml`) and a Latin-1 file save nothing either.
    const empty = path.join(dir, 'empty.yaml');
    fs.writeFileSync(empty, '');
    const emptied = await leadline(dir, ['scoring', 'apply', empty]);
    assert.equal(emptied.code, 1, emptied.stderr);
    assert.match(emptied.stderr, /names no rules/);
    const latin1 = path.join(dir, 'latin1.yaml');
    fs.writeFileSync(
      latin1,
      Buffer.from('fit:\n  - id: a\n    points: 5\n    when: { city: { in: [M\xfcnchen] } }\n', 'latin1'),
    );
    const refused = await leadline(dir, ['scoring', 'apply', latin1, '--dry-run']);
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stderr, /FILE: is not UTF-8 text/);
    assert.ok(!fs.existsSync(path.join(dir, 'data')), 'nothing opened the database');
  });

  it('a dry run on a new data folder creates no database and no key, and says what to do', async () => {
    const dir = tempFolder('leadline-scoring-cli-');
    const file = path.join(dir, 'model.json');
    fs.writeFileSync(file, JSON.stringify(defaultModel));
    const dry = await leadline(dir, ['scoring', 'apply', file, '--dry-run']);
    assert.equal(dry.code, 1, dry.stdout);
    assert.equal(dry.stdout, '');
    assert.equal(dry.stderr.includes('ll_'), false, `no admin key: ${dry.stderr}`);
    assert.match(dry.stderr, /There is no workspace to check against yet, and a dry run creates none/);
    assert.equal(fs.existsSync(path.join(dir, 'data')), false, 'no data folder');
  });

  it('a dry run prints how many leads would change band and stage, and saves nothing', async () => {
    const dir = tempFolder('leadline-scoring-cli-');
    await addLeads(dir);
    // Industry worth 40 instead of 20: Ben 40 → 60 changes band and becomes an MQL; Ada 50 → 70
    // stays in her band (50–74); Cy, not in software, is untouched.
    const file = path.join(dir, 'model.json');
    const richer = {
      ...defaultModel,
      fit: defaultModel.fit.map((r) => (r.id === 'target-industry' ? { ...r, points: 40 } : r)),
    };
    fs.writeFileSync(file, JSON.stringify(richer));

    const dry = await succeeds(dir, ['scoring', 'apply', file, '--dry-run']);
    assert.match(dry.stdout, /dry run: nothing was saved/);
    assert.deepEqual(
      { ...summary(dry.stdout), seconds: undefined },
      {
        'active version': '0',
        leads: '3',
        'band changes': '1',
        'stage changes': '1',
        seconds: undefined,
      },
    );
    const after = await succeeds(dir, ['scoring', 'export']);
    assert.equal(after.stdout, modelToYaml(defaultModel));
  });

  it('init --preset sets the preset model and lifecycle settings; an unknown preset names the valid ones', async () => {
    const dir = tempFolder('leadline-scoring-cli-');
    const init = await succeeds(dir, ['init', '--preset', 'b2b-saas']);
    assert.match(init.stdout, /^Applied preset "b2b-saas" \(B2B SaaS\) to workspace "default"\n/);
    assert.match(summary(init.stdout)['scoring model']!, /^version 1 \(replaces the built-in default\)/);
    assert.equal(summary(init.stdout)['leads rescored'], '0');

    const exported = await succeeds(dir, ['scoring', 'export']);
    assert.match(exported.stdout, /- id: demo-request\n/, 'a rule of the preset, not of the default model');
    assert.equal(exported.stdout, modelToYaml(presets['b2b-saas'].model));
    const { stageRules, temperature, qualification } = presets['b2b-saas'];
    assert.deepEqual(await stored(dir), {
      versions: [[1, 'preset:b2b-saas']],
      lifecycle: { stageRules, temperature, qualification },
    });

    const unknown = await leadline(dir, ['init', '--preset', 'crm']);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no preset "crm"; presets: b2b-saas, real-estate, ecommerce, services/);
  });
});
