import { validationError } from '../errors.ts';
import { criteriaOf } from '../lifecycle/qualification.ts';
import { presetNamed, presetNames } from '../scoring/presets.ts';
import { commandArgs, USAGE_EXIT } from './arguments.ts';
import { withServices } from './context.ts';
import { rescoreEntries, rescoreInForeground, summaryLines } from './rescore-progress.ts';

/** A temperature level in words: "behaviour ≥ 50 or high intent within 3 days". */
function level(l: { minBehaviour?: number; highIntentWithinDays?: number }): string {
  const parts = [
    ...(l.minBehaviour !== undefined ? [`behaviour ≥ ${l.minBehaviour}`] : []),
    ...(l.highIntentWithinDays !== undefined ? [`high intent within ${l.highIntentWithinDays} days`] : []),
  ];
  return parts.join(' or ') || 'never';
}

/**
 * `leadline init --preset b2b-saas|real-estate|ecommerce|services [--workspace W]`: sets the
 * workspace's scoring model, stage rules, temperature thresholds and qualification rule from a
 * preset, then rescores every lead in the foreground. The model replaced stays in the version
 * history; the lifecycle settings replaced are not kept.
 */
export async function runInit(args: string[]): Promise<number> {
  const parsed = commandArgs('init', `--preset ${presetNames.join('|')} [--workspace W]`, {
    args,
    allowPositionals: true,
    options: {
      preset: { type: 'string' },
      workspace: { type: 'string', default: 'default' },
    },
  });
  if (!parsed) return USAGE_EXIT;
  const { values, positionals } = parsed;
  if (positionals.length > 0)
    throw validationError([
      { path: 'command', message: `unexpected "${positionals[0]}": use init --preset NAME` },
    ]);
  if (values.preset === undefined)
    throw validationError([{ path: '--preset', message: `is required: one of ${presetNames.join(', ')}` }]);
  // PRESET_NOT_FOUND, naming the valid ones, before the database is opened.
  const preset = presetNamed(values.preset);

  return withServices(async (services) => {
    const found = await services.workspaces.resolveWorkspace(values.workspace!);
    const started = performance.now();
    const previous = await services.scoring.activeModel(found.id);
    const { version, workspace } = await services.lifecycle.applyPreset(
      found,
      preset.name,
      `preset:${preset.name}`,
    );
    const progress = await rescoreInForeground(services, workspace);
    if (progress.status === 'failed') {
      process.stderr.write(
        `leadline: preset "${preset.name}" was applied (model version ${version}), but rescoring failed ` +
          `after ${progress.done} of ${progress.total} leads: ${progress.error}\n` +
          'Run `leadline scoring rescore` to finish it.\n',
      );
      return 1;
    }
    const { model, stageRules, temperature, qualification } = preset;
    const replaced = previous.version === 0 ? 'the built-in default' : `version ${previous.version}`;
    process.stdout.write(
      summaryLines(`Applied preset "${preset.name}" (${preset.label}) to workspace "${workspace.slug}"`, [
        [
          'scoring model',
          `version ${version} (replaces ${replaced}): ${model.fit.length} fit, ` +
            `${model.behaviour.length} behaviour, ${model.negative.length} negative rules; ` +
            `behaviour halves every ${model.halfLifeDays} days`,
        ],
        ['stage rules', stageRules.moves.map((m) => `${m.label ?? m.id} → ${m.to}`).join('; ')],
        ['flags', stageRules.flags.map((f) => `${f.flag}: ${f.label ?? f.id}`).join('; ') || 'none'],
        ['temperature', `hot: ${level(temperature.hot)}; warm: ${level(temperature.warm)}`],
        [
          'qualification',
          `${qualification.framework.toUpperCase()}, ${qualification.minConfirmed} of ` +
            `${criteriaOf[qualification.framework].length} confirmed` +
            (qualification.required.length > 0 ? ` incl. ${qualification.required.join(', ')}` : ''),
        ],
        ...rescoreEntries(progress, 'leads rescored', started),
      ]),
    );
    return 0;
  });
}
