import path from 'node:path';
import pino from 'pino';
import { registerAlertRoutes } from './alerts/routes.ts';
import { createAlertService } from './alerts/service.ts';
import type { Config } from './config.ts';
import { type Database, type DatabaseOptions, openDatabase } from './db/database.ts';
import { migrateToLatest } from './db/migrate.ts';
import { registerMailboxRoutes } from './email/mailbox-routes.ts';
import { createMailService } from './email/service.ts';
import { registerHealthRoutes } from './http/health.ts';
import { createHttpServer } from './http/server.ts';
import type { HttpApp } from './http/types.ts';
import { createIdempotencyService } from './idempotency/service.ts';
import { registerImportRoutes } from './imports/routes.ts';
import { createImportService } from './imports/service.ts';
import { registerJobRoutes } from './jobs/routes.ts';
import { createJobService } from './jobs/service.ts';
import { registerEventRoutes } from './leads/events-routes.ts';
import { createEventService } from './leads/events-service.ts';
import { LeadReactions } from './leads/reactions.ts';
import { registerLeadRoutes } from './leads/routes.ts';
import { createLeadService } from './leads/service.ts';
import { registerLifecycleRoutes } from './lifecycle/routes.ts';
import { createLifecycleService } from './lifecycle/service.ts';
import { registerPropertyRoutes } from './properties/routes.ts';
import { createPropertyService } from './properties/service.ts';
import { registerRoutingRoutes } from './routing/routes.ts';
import { createRoutingService } from './routing/service.ts';
import { leadScore } from './scoring/qualify.ts';
import { createRescoreService } from './scoring/rescore.ts';
import { registerScoringRoutes } from './scoring/routes.ts';
import { createScoringService } from './scoring/service.ts';
import { Signals } from './signals/bus.ts';
import { defaultScoreThresholds, signalsFromChanges } from './signals/from-changes.ts';
import { registerSlaRoutes } from './sla/routes.ts';
import { createSlaService } from './sla/service.ts';
import { registerTaskRoutes } from './tasks/routes.ts';
import { createTaskService } from './tasks/service.ts';
import { registerUserRoutes } from './users/routes.ts';
import { createUserService } from './users/service.ts';
import { createTeamService } from './users/teams-service.ts';
import { registerWebhookRoutes } from './webhooks/routes.ts';
import { createWebhookService } from './webhooks/service.ts';
import { registerWorkspaceRoutes } from './workspaces/routes.ts';
import { createWorkspaceService } from './workspaces/service.ts';

export interface AppOptions {
  /** Overrides for tests: their own SQLite file or PostgreSQL schema. */
  database?: DatabaseOptions;
  /** The clock every service reads. (Default: Date.now) */
  clock?: () => number;
  logger?: pino.Logger;
}

/** Composition root: config -> database -> services; `http` is built on demand. */
export async function createServices(config: Config, options: AppOptions = {}) {
  const clock = options.clock ?? Date.now;
  const logger = options.logger ?? pino({ level: config.logLevel });
  const database: Database = openDatabase(
    options.database ?? {
      databaseUrl: config.databaseUrl,
      sqliteFile: path.join(config.dataDir, 'leadline.db'),
    },
  );
  const migration = await migrateToLatest(database);
  if (migration.error) {
    await database.close();
    throw migration.error;
  }
  const workspaces = createWorkspaceService({ database, clock });
  const properties = createPropertyService({ database, clock });
  const scoring = createScoringService({ database, clock });
  const jobs = createJobService({ database, clock, logger });
  const mail = createMailService({ database, jobs, config, clock, logger });
  // Filled below, once the domains that react to lead changes exist.
  const reactions = new LeadReactions();
  // Business signals (webhook event types): emitted by domains, subscribed by webhooks and alerts.
  const signals = new Signals();
  const leads = createLeadService({ database, properties, scoring, reactions, clock });
  const rescore = createRescoreService({ database, leads, scoring, clock });
  const lifecycle = createLifecycleService({ database, leads, scoring, workspaces, clock });
  const idempotency = createIdempotencyService({ database, clock });
  const events = createEventService({ database, leads, clock, config });
  const imports = createImportService({ database, leads, properties, clock });
  const webhooks = createWebhookService({ database, clock, jobs, signals, workspaces, leads, scoring });
  // Lead changes become business signals, derived only when a subscriber wants the workspace's.
  reactions.register('signals', async (trx, workspace, changes, now) => {
    if (!(await signals.interestedIn(trx, workspace.id))) return;
    const { model } = await scoring.activeModelIn(trx, workspace.id);
    const derived = signalsFromChanges(changes, {
      scoreOf: (lead) => leadScore(model, lead.scoring, now),
      thresholds: workspace.settings.scoreThresholds ?? defaultScoreThresholds,
      now,
    });
    await signals.emitIn(trx, workspace.id, derived, now);
  });
  const users = createUserService({ database, clock });
  const teams = createTeamService({ database, clock });
  const routing = createRoutingService({ database, leads, scoring, users, teams, signals, clock, logger });
  // After 'signals': a new lead's lead.created comes before its lead.assigned.
  reactions.register('routing', routing.react);
  // Before any capture is written: an ownerId must be an active user (a bad batch item, not a failed batch).
  reactions.registerCheck('routing', routing.checkCaptures);
  const tasks = createTaskService({ database, jobs, signals, leads, users, clock });
  const sla = createSlaService({
    database,
    jobs,
    signals,
    leads,
    tasks,
    users,
    routing,
    mail,
    workspaces,
    clock,
  });
  // After 'routing': a timer started by this write sees the owner routing just gave the lead.
  reactions.register('sla', sla.react);
  const alerts = createAlertService({
    database,
    jobs,
    mail,
    leads,
    users,
    workspaces,
    scoring,
    config,
    clock,
    logger,
  });
  // Owner alerts: activities and 'became hot' from lead changes; score crossings, SLA warnings from signals.
  reactions.register('alerts', alerts.react);
  signals.subscribe('alerts', alerts.onSignals, alerts.interested);
  return {
    config,
    clock,
    logger,
    database,
    jobs,
    reactions,
    mail,
    signals,
    workspaces,
    properties,
    scoring,
    rescore,
    leads,
    lifecycle,
    idempotency,
    events,
    imports,
    webhooks,
    users,
    teams,
    routing,
    tasks,
    sla,
    alerts,
  };
}

export type Services = Awaited<ReturnType<typeof createServices>>;

export async function createHttpApp(services: Services): Promise<HttpApp> {
  const { config, logger, database, workspaces, properties, scoring, leads, idempotency } = services;
  const app = await createHttpServer({ config, logger, workspaces });
  registerHealthRoutes(app, database);
  registerJobRoutes(app, services.jobs);
  registerMailboxRoutes(app, services.mail);
  registerWorkspaceRoutes(app, workspaces);
  registerPropertyRoutes(app, properties);
  registerLeadRoutes(app, { leads, scoring, workspaces, idempotency });
  registerEventRoutes(app, { events: services.events, workspaces, idempotency });
  registerImportRoutes(app, { imports: services.imports, workspaces });
  registerWebhookRoutes(app, services.webhooks);
  registerUserRoutes(app, { users: services.users, teams: services.teams });
  registerRoutingRoutes(app, { routing: services.routing, workspaces, idempotency });
  registerTaskRoutes(app, services.tasks, services.clock);
  registerSlaRoutes(app, services.sla, services.clock);
  registerAlertRoutes(app, services.alerts);
  registerScoringRoutes(app, { scoring, rescore: services.rescore, leads, workspaces });
  registerLifecycleRoutes(app, {
    lifecycle: services.lifecycle,
    rescore: services.rescore,
    workspaces,
    idempotency,
  });
  app.addHook('onClose', async () => services.mail.close());
  app.addHook('onClose', async () => database.close());
  await app.ready();
  return app;
}
