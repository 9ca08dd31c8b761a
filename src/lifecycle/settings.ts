import type { FieldError } from '../errors.ts';
import type { LifecycleSettings, WorkspaceSettings } from '../workspaces/model.ts';
import { defaultQualificationRule, parseQualificationRule } from './qualification.ts';
import { defaultStageRules, parseStageRules } from './stage-rules.ts';
import { defaultTemperatureConfig, parseTemperatureConfig } from './temperature.ts';

/**
 * A workspace's lifecycle settings as one document (`/api/v1/lifecycle/settings`): stage rules,
 * temperature thresholds and the qualification rule. A workspace that never set them runs on
 * the defaults (MQL at 50 or on a demo request; BANT, all four confirmed).
 */

export function lifecycleSettingsOf(settings: WorkspaceSettings): LifecycleSettings {
  return (
    settings.lifecycle ?? {
      stageRules: defaultStageRules,
      temperature: defaultTemperatureConfig,
      qualification: defaultQualificationRule,
    }
  );
}

export type LifecycleSettingsResult =
  | { ok: true; value: LifecycleSettings }
  | { ok: false; errors: FieldError[] };

/**
 * Validates the three parts of a settings document; every error of every part is reported,
 * its path prefixed with the part's name (`/stageRules/moves/0/minScore`).
 */
export function parseLifecycleSettings(raw: {
  stageRules: unknown;
  temperature: unknown;
  qualification: unknown;
}): LifecycleSettingsResult {
  const stageRules = parseStageRules(raw.stageRules);
  const temperature = parseTemperatureConfig(raw.temperature);
  const qualification = parseQualificationRule(raw.qualification);
  const prefixed = (part: string, errors: FieldError[]) =>
    errors.map((e) => ({ path: `/${part}${e.path === '/' ? '' : e.path}`, message: e.message }));
  const errors = [
    ...(stageRules.ok ? [] : prefixed('stageRules', stageRules.errors)),
    ...(temperature.ok ? [] : prefixed('temperature', temperature.errors)),
    ...(qualification.ok ? [] : prefixed('qualification', qualification.errors)),
  ];
  if (!stageRules.ok || !temperature.ok || !qualification.ok) return { ok: false, errors };
  return {
    ok: true,
    value: {
      stageRules: stageRules.value,
      temperature: temperature.value,
      qualification: qualification.value,
    },
  };
}
