import { newId } from '../../src/db/ids.ts';
import { parseLeadInput } from '../../src/leads/input.ts';
import { newLead } from '../../src/leads/model.ts';
import { leadToRow } from '../../src/leads/store.ts';
import { defaultStage } from '../../src/lifecycle/model.ts';
import type { GeneratedEvent } from './data.ts';
import type { Row } from './raw-sqlite.ts';

/**
 * Table rows for the physical-limit runs, built before the clock starts with the product's own
 * parse + row mapping, so the limit writes exactly the bytes the product would write.
 */

export interface TableRows {
  columns: string[];
  rows: Row[];
}

export function leadRows(inputs: readonly unknown[], workspaceId: string, now: number): TableRows {
  let columns: string[] = [];
  const rows: Row[] = [];
  for (const input of inputs) {
    const parsed = parseLeadInput(input, { now });
    if (!parsed.ok) continue;
    const row = leadToRow(
      newLead(newId(), workspaceId, parsed.value, defaultStage, now),
    ) as unknown as Record<string, string | number | null>;
    if (columns.length === 0) columns = Object.keys(row);
    rows.push(columns.map((c) => row[c] ?? null));
  }
  return { columns, rows };
}

export const activityColumns = [
  'workspace_id',
  'id',
  'lead_id',
  'type',
  'occurred_at',
  'properties',
  'created_at',
];

export function activityRows(
  events: readonly (GeneratedEvent & { leadId: string })[],
  workspaceId: string,
  now: number,
): TableRows {
  return {
    columns: activityColumns,
    rows: events.map((e) => [
      workspaceId,
      newId(),
      e.leadId,
      e.type,
      e.occurredAt,
      JSON.stringify(e.properties),
      now,
    ]),
  };
}
