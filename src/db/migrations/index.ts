import { initial } from './2026-11-23T0600-initial.ts';
import { leanLeadIndexes } from './2026-11-23T0900-lean-lead-indexes.ts';
import { qualification } from './2026-11-23T1000-qualification.ts';
import { scoreStateOnLead } from './2026-11-23T1100-score-state-on-lead.ts';
import { stageHold } from './2026-11-23T1200-stage-hold.ts';
import { sweepByTemperature } from './2026-11-23T1300-sweep-by-temperature.ts';
import { jobs } from './2026-11-23T1400-jobs.ts';
import { usersRouting } from './2026-11-23T1500-users-routing.ts';
import { webhooks } from './2026-11-23T1600-webhooks.ts';
import { mailAlerts } from './2026-11-23T1700-mail-alerts.ts';
import { tasksSla } from './2026-11-23T1800-tasks-sla.ts';
import { forms } from './2026-11-23T1900-forms.ts';
import { quarantineConsents } from './2026-11-23T1910-quarantine-consents.ts';
import { tracking } from './2026-11-23T1920-tracking.ts';
import { landingPages } from './2026-11-23T1930-landing-pages.ts';
import { inboundSources } from './2026-11-23T1940-inbound-sources.ts';
import { formsHardening } from './2026-11-23T1950-forms-hardening.ts';
import { inboundRetention } from './2026-11-23T1960-inbound-retention.ts';
import { leadMagnetFiles } from './2026-11-23T1980-lead-magnet-files.ts';
import { activityHistoryIndex } from './2026-11-23T2000-activity-history-index.ts';
import { ownedDomainIndex } from './2026-11-24T0900-owned-domain-index.ts';
import { slaWarned } from './2026-11-25T0900-sla-warned.ts';
import { flagClears } from './2026-11-25T1600-flag-clears.ts';
import type { Migration } from './types.ts';

/** Every migration, oldest first. Append; never reorder or edit. */
export const migrations: Migration[] = [
  initial,
  leanLeadIndexes,
  qualification,
  scoreStateOnLead,
  stageHold,
  sweepByTemperature,
  jobs,
  usersRouting,
  webhooks,
  mailAlerts,
  tasksSla,
  forms,
  quarantineConsents,
  tracking,
  landingPages,
  inboundSources,
  formsHardening,
  inboundRetention,
  leadMagnetFiles,
  activityHistoryIndex,
  ownedDomainIndex,
  slaWarned,
  flagClears,
];
