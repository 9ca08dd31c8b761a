import type { Kysely } from 'kysely';
import { parseJson, toJson } from '../db/json.ts';
import { deleteOlderThan } from '../db/prune.ts';
import type { AlertRow, AlertRuleRow, DB } from '../db/schema.ts';
import {
  type Alert,
  type AlertChannel,
  type AlertFacts,
  type AlertRule,
  type AlertStatus,
  type AlertTrigger,
  ruleLeadKey,
} from './model.ts';

const ruleColumns = [
  'id',
  'name',
  'enabled',
  'trigger',
  'channels',
  'fallback_email',
  'created_at',
  'updated_at',
] as const;

function toRule(row: Pick<AlertRuleRow, (typeof ruleColumns)[number]>): AlertRule {
  return {
    id: row.id,
    name: row.name,
    enabled: Boolean(row.enabled),
    trigger: parseJson<AlertTrigger>(row.trigger, { type: 'became_hot' }),
    channels: parseJson<AlertChannel[]>(row.channels, []),
    fallbackEmail: row.fallback_email,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function ruleRow(workspaceId: string, rule: AlertRule): AlertRuleRow {
  return {
    workspace_id: workspaceId,
    id: rule.id,
    name: rule.name,
    enabled: rule.enabled ? 1 : 0,
    trigger: toJson(rule.trigger),
    channels: toJson(rule.channels),
    fallback_email: rule.fallbackEmail,
    created_at: rule.createdAt,
    updated_at: rule.updatedAt,
  };
}

/** Oldest first: the order they were made in. */
export async function listRules(db: Kysely<DB>, workspaceId: string): Promise<AlertRule[]> {
  const rows = await db
    .selectFrom('alert_rules')
    .select(ruleColumns)
    .where('workspace_id', '=', workspaceId)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  return rows.map(toRule);
}

/**
 * The rule; with `lock` (PostgreSQL, in a write that stores it back) its row stays locked until
 * the transaction ends, so another process's change to it waits instead of being undone.
 */
export async function findRule(
  db: Kysely<DB>,
  workspaceId: string,
  id: string,
  lock = false,
): Promise<AlertRule | undefined> {
  const select = db
    .selectFrom('alert_rules')
    .select(ruleColumns)
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', id);
  const row = await (lock ? select.forUpdate() : select).executeTakeFirst();
  return row && toRule(row);
}

export async function countRules(db: Kysely<DB>, workspaceId: string): Promise<number> {
  const row = await db
    .selectFrom('alert_rules')
    .select((eb) => eb.fn.countAll<number | string>().as('n'))
    .where('workspace_id', '=', workspaceId)
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}

export async function insertRules(
  db: Kysely<DB>,
  workspaceId: string,
  rules: readonly AlertRule[],
): Promise<void> {
  if (rules.length === 0) return;
  await db
    .insertInto('alert_rules')
    .values(rules.map((r) => ruleRow(workspaceId, r)))
    .execute();
}

export async function updateRule(db: Kysely<DB>, workspaceId: string, rule: AlertRule): Promise<void> {
  const { workspace_id: _w, id: _id, created_at: _c, ...changes } = ruleRow(workspaceId, rule);
  await db
    .updateTable('alert_rules')
    .set(changes)
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', rule.id)
    .execute();
}

export async function deleteRule(db: Kysely<DB>, workspaceId: string, id: string): Promise<boolean> {
  const result = await db
    .deleteFrom('alert_rules')
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', id)
    .executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

export async function defaultsSeeded(db: Kysely<DB>, workspaceId: string): Promise<boolean> {
  const row = await db
    .selectFrom('alert_settings')
    .select('workspace_id')
    .where('workspace_id', '=', workspaceId)
    .executeTakeFirst();
  return row !== undefined;
}

/**
 * Claims the writing of the workspace's default rules: true for exactly one caller, also
 * when two processes try at once (the other waits on the row, then finds it taken).
 */
export async function claimDefaults(db: Kysely<DB>, workspaceId: string, now: number): Promise<boolean> {
  const result = await db
    .insertInto('alert_settings')
    .values({ workspace_id: workspaceId, defaults_seeded_at: now })
    .onConflict((oc) => oc.column('workspace_id').doNothing())
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0n) > 0;
}

/**
 * When each rule last fired for each lead (epoch ms), keyed `ruleId:leadId`; pairs that never
 * fired are absent. One grouped query over the (workspace, lead, rule, fired_at) index per 500
 * leads, whatever the number of pairs.
 */
export async function lastFiredAt(
  db: Kysely<DB>,
  workspaceId: string,
  pairs: ReadonlyArray<{ ruleId: string; leadId: string }>,
): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const leadIds = [...new Set(pairs.map((p) => p.leadId))];
  const ruleIds = [...new Set(pairs.map((p) => p.ruleId))];
  for (let i = 0; i < leadIds.length; i += 500) {
    const rows = await db
      .selectFrom('alerts')
      .select((eb) => ['lead_id', 'rule_id', eb.fn.max('fired_at').as('at')])
      .where('workspace_id', '=', workspaceId)
      .where('lead_id', 'in', leadIds.slice(i, i + 500))
      .where('rule_id', 'in', ruleIds)
      .groupBy(['lead_id', 'rule_id'])
      .execute();
    for (const row of rows)
      if (row.at !== null) out.set(ruleLeadKey(row.rule_id, row.lead_id), Number(row.at));
  }
  return out;
}

/** Deletes up to `limit` of a workspace's alerts fired before `before`; returns how many. */
export function pruneAlerts(
  db: Kysely<DB>,
  workspaceId: string,
  before: number,
  limit: number,
): Promise<number> {
  return deleteOlderThan(db, { table: 'alerts', timeColumn: 'fired_at' }, workspaceId, before, limit);
}

const alertColumns = [
  'id',
  'rule_id',
  'rule_name',
  'lead_id',
  'trigger',
  'channel',
  'status',
  'target',
  'error',
  'fired_at',
  'sent_at',
] as const;

function toAlert(row: Pick<AlertRow, (typeof alertColumns)[number]>): Alert {
  return {
    id: row.id,
    ruleId: row.rule_id,
    ruleName: row.rule_name,
    leadId: row.lead_id,
    trigger: parseJson<AlertFacts>(row.trigger, { type: 'became_hot', at: row.fired_at }),
    channel: parseJson<AlertChannel>(row.channel, { type: 'email' }),
    status: row.status as AlertStatus,
    target: row.target,
    error: row.error,
    firedAt: row.fired_at,
    sentAt: row.sent_at === null ? null : Number(row.sent_at),
  };
}

export interface NewAlert {
  id: string;
  key: string;
  ruleId: string;
  ruleName: string;
  leadId: string;
  trigger: AlertFacts;
  channel: AlertChannel;
  firedAt: number;
  /** Recorded as decided already (skipped: covered by another alert). (Default: pending) */
  status?: AlertStatus | undefined;
  error?: string | null | undefined;
}

/** Records pending alerts; one whose key is already recorded is left out. Returns the ids recorded. */
export async function insertAlerts(
  db: Kysely<DB>,
  workspaceId: string,
  alerts: readonly NewAlert[],
): Promise<string[]> {
  if (alerts.length === 0) return [];
  const rows = await db
    .insertInto('alerts')
    .values(
      alerts.map((a) => ({
        workspace_id: workspaceId,
        id: a.id,
        key: a.key,
        rule_id: a.ruleId,
        rule_name: a.ruleName,
        lead_id: a.leadId,
        trigger: toJson(a.trigger),
        channel: toJson(a.channel),
        status: a.status ?? 'pending',
        target: null,
        error: a.error ?? null,
        fired_at: a.firedAt,
        sent_at: null,
      })),
    )
    .onConflict((oc) => oc.columns(['workspace_id', 'key']).doNothing())
    .returning('id')
    .execute();
  return rows.map((r) => r.id);
}

export async function findAlert(db: Kysely<DB>, workspaceId: string, id: string): Promise<Alert | undefined> {
  const row = await db
    .selectFrom('alerts')
    .select(alertColumns)
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', id)
    .executeTakeFirst();
  return row && toAlert(row);
}

export async function markAlert(
  db: Kysely<DB>,
  workspaceId: string,
  id: string,
  outcome: { status: AlertStatus; target?: string | null; error?: string | null; sentAt?: number | null },
): Promise<void> {
  await db
    .updateTable('alerts')
    .set({
      status: outcome.status,
      ...(outcome.target !== undefined ? { target: outcome.target } : {}),
      error: outcome.error ?? null,
      ...(outcome.sentAt !== undefined ? { sent_at: outcome.sentAt } : {}),
    })
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', id)
    .execute();
}

/** The alerts one write fired for a lead (they share its moment). */
export async function alertsFiredAt(
  db: Kysely<DB>,
  workspaceId: string,
  leadId: string,
  firedAt: number,
): Promise<Alert[]> {
  const rows = await db
    .selectFrom('alerts')
    .select(alertColumns)
    .where('workspace_id', '=', workspaceId)
    .where('lead_id', '=', leadId)
    .where('fired_at', '=', firedAt)
    .execute();
  return rows.map(toAlert);
}

export interface AlertFilter {
  leadId?: string | undefined;
  ruleId?: string | undefined;
  status?: AlertStatus | undefined;
  limit: number;
  /** The last alert of the previous page. */
  before?: { value: number; id: string } | undefined;
}

/** Newest first. */
export async function listAlerts(db: Kysely<DB>, workspaceId: string, filter: AlertFilter): Promise<Alert[]> {
  let select = db.selectFrom('alerts').select(alertColumns).where('workspace_id', '=', workspaceId);
  if (filter.leadId !== undefined) select = select.where('lead_id', '=', filter.leadId);
  if (filter.ruleId !== undefined) select = select.where('rule_id', '=', filter.ruleId);
  if (filter.status !== undefined) select = select.where('status', '=', filter.status);
  const before = filter.before;
  if (before) {
    select = select.where((eb) =>
      eb.or([
        eb('fired_at', '<', before.value),
        eb.and([eb('fired_at', '=', before.value), eb('id', '<', before.id)]),
      ]),
    );
  }
  const rows = await select.orderBy('fired_at', 'desc').orderBy('id', 'desc').limit(filter.limit).execute();
  return rows.map(toAlert);
}
