import pino from 'pino';
import { registerAlertRoutes } from './alerts/routes.ts';
import { createAlertService } from './alerts/service.ts';
import { type Config, sqliteFileOf } from './config.ts';
import { registerConsentRoutes } from './consent/routes.ts';
import { createConsentService } from './consent/service.ts';
import { listenForConfigChanges } from './db/config-cache.ts';
import { type Database, type DatabaseOptions, openDatabase } from './db/database.ts';
import { migrateToLatest } from './db/migrate.ts';
import { registerMailboxRoutes } from './email/mailbox-routes.ts';
import { createMailService } from './email/service.ts';
import { createFollowUps } from './forms/follow-ups.ts';
import { registerFormPublicRoutes } from './forms/public-routes.ts';
import { registerQuarantineRoutes } from './forms/quarantine-routes.ts';
import { createQuarantineService } from './forms/quarantine-service.ts';
import { registerFormRoutes } from './forms/routes.ts';
import { createFormService } from './forms/service.ts';
import { registerHealthRoutes } from './http/health.ts';
import { createHttpServer } from './http/server.ts';
import type { HttpApp } from './http/types.ts';
import { createIdempotencyService } from './idempotency/service.ts';
import { registerImportRoutes } from './imports/routes.ts';
import { createImportService } from './imports/service.ts';
import { registerInboundPublicRoutes } from './inbound/public-routes.ts';
import { registerInboundRoutes } from './inbound/routes.ts';
import { createInboundService } from './inbound/service.ts';
import { registerJobRoutes } from './jobs/routes.ts';
import { createJobService } from './jobs/service.ts';
import { createPageHtml } from './landing/page-html.ts';
import { registerLandingPublicRoutes } from './landing/public-routes.ts';
import { registerLandingRoutes } from './landing/routes.ts';
import { createLandingService } from './landing/service.ts';
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
import { registerTrackingRoutes } from './tracking/routes.ts';
import { createTrackingService } from './tracking/service.ts';
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
  const database: Database = openDatabase({
    ...(options.database ?? {
      databaseUrl: config.databaseUrl,
      sqliteFile: sqliteFileOf(config),
    }),
    onConnectionLost: (error) =>
      logger.warn(
        { err: error },
        'PostgreSQL ended an idle connection; the pool opens a new one when needed',
      ),
    onStatisticsRefreshed: (tables, ms) =>
      logger.info({ tables, ms: Math.round(ms) }, 'analyzed tables that grew (planner statistics)'),
  });
  const migrationStarted = performance.now();
  const migration = await migrateToLatest(database, {
    onPending: (names) =>
      logger.info({ migrations: names }, `applying ${names.length} database migration(s)…`),
  });
  if (migration.error) {
    // Closed, or its connections would keep a process that cannot start alive for good.
    await database.close();
    const reason = migration.error instanceof Error ? migration.error.message : String(migration.error);
    throw new Error(`the database could not be migrated: ${reason}`, { cause: migration.error });
  }
  if ((migration.results ?? []).length > 0)
    logger.info(
      { applied: migration.results!.length, ms: Math.round(performance.now() - migrationStarted) },
      'database migrated',
    );
  const workspaces = createWorkspaceService({ database, clock });
  const properties = createPropertyService({ database, clock });
  const scoring = createScoringService({ database, clock });
  const stopModelListening = await scoring.listenForModelChanges();
  const jobs = createJobService({ database, clock, logger });
  const mail = createMailService({ database, jobs, config, clock, logger });
  // Filled below, once the domains that react to lead changes exist.
  const reactions = new LeadReactions();
  // Business signals (webhook event types): emitted by domains, subscribed by webhooks and alerts.
  const signals = new Signals();
  const leads = createLeadService({ database, properties, scoring, reactions, clock });
  const rescore = createRescoreService({ database, leads, scoring, clock, logger });
  const lifecycle = createLifecycleService({ database, leads, scoring, workspaces, clock });
  const idempotency = createIdempotencyService({ database, clock });
  const events = createEventService({ database, leads, clock, config });
  const imports = createImportService({ database, leads, properties, captureChecks: reactions, clock });
  const tracking = createTrackingService({ database, workspaces, events, scoring, config, clock });
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
  reactions.registerMerge('tasks', tasks.moveOnMergeIn);
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
  // Consent ledger and double opt-in; the emails a form submission causes.
  const consent = createConsentService({ database, leads, mail, workspaces, config, clock });
  const followUps = createFollowUps({ mail, config });
  // Forms quarantine suspect submissions, and a release submits them through the forms
  // service: each needs the other, so the quarantine reaches forms through late-bound calls.
  const quarantine = createQuarantineService({
    database,
    workspaces,
    clock,
    forms: {
      get: (workspaceId, formId) => forms.get(workspaceId, formId),
      submitIn: (trx, workspace, form, submission, options) =>
        forms.submitIn(trx, workspace, form, submission, options),
    },
  });
  const forms = createFormService({
    database,
    workspaces,
    leads,
    properties,
    events,
    consent,
    quarantine,
    followUps,
    clock,
  });
  // Landing pages embed forms of their workspace (`/l/{slug}`).
  const landing = createLandingService({ database, forms, workspaces, clock });
  // Ad-platform lead forms and generic JSON senders posting to `/in/{id}`.
  const inbound = createInboundService({
    database,
    consent,
    jobs,
    leads,
    events,
    workspaces,
    config,
    clock,
    logger,
    forms,
  });
  // What another process changes of what these services cache is forgotten here as it commits.
  const stopConfigListening = await listenForConfigChanges(database, {
    workspace: workspaces.forgetCachedWorkspace,
    apiKeys: workspaces.forgetCachedKeys,
    properties: properties.forgetCached,
    routing: routing.forgetCached,
    webhooks: webhooks.forgetCached,
    alerts: alerts.forgetCached,
    sla: sla.forgetCached,
    tracking: tracking.forgetCached,
    forms: forms.forgetCached,
  });
  return {
    config,
    clock,
    logger,
    database,
    /** Ends what the services hold open (mail transports, database connections). */
    async close(): Promise<void> {
      await stopModelListening();
      await stopConfigListening();
      await mail.close();
      await database.close();
    },
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
    tracking,
    webhooks,
    users,
    teams,
    routing,
    tasks,
    sla,
    alerts,
    consent,
    followUps,
    quarantine,
    forms,
    landing,
    inbound,
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
  registerTrackingRoutes(app, services.tracking);
  registerWebhookRoutes(app, services.webhooks);
  registerUserRoutes(app, { users: services.users, teams: services.teams });
  registerRoutingRoutes(app, { routing: services.routing, workspaces, idempotency });
  registerTaskRoutes(app, services.tasks, services.clock);
  registerSlaRoutes(app, services.sla, services.clock);
  registerAlertRoutes(app, services.alerts);
  registerConsentRoutes(app, { consent: services.consent, workspaces, idempotency });
  registerFormRoutes(app, services.forms, config);
  registerQuarantineRoutes(app, services.quarantine);
  registerFormPublicRoutes(app, {
    forms: services.forms,
    publicUrl: config.publicUrl,
    clock: services.clock,
  });
  // One renderer for the public landing pages and their API preview.
  const pageHtml = createPageHtml({ forms: services.forms, publicUrl: config.publicUrl });
  registerLandingRoutes(app, { landing: services.landing, pageHtml, publicUrl: config.publicUrl });
  registerLandingPublicRoutes(app, { landing: services.landing, pageHtml, publicUrl: config.publicUrl });
  registerInboundRoutes(app, services.inbound);
  registerInboundPublicRoutes(app, services.inbound);
  registerScoringRoutes(app, { scoring, rescore: services.rescore, leads, workspaces });
  registerLifecycleRoutes(app, {
    lifecycle: services.lifecycle,
    rescore: services.rescore,
    workspaces,
    idempotency,
  });
  app.addHook('onClose', async () => services.close());
  await app.ready();
  return app;
}
