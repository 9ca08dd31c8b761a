import type { Kysely } from 'kysely';
import { parseJson, toJson } from '../db/json.ts';
import { deleteOlderThan } from '../db/prune.ts';
import type { DB, MailboxMessageRow } from '../db/schema.ts';
import type { MailboxMessage } from './model.ts';

const columns = [
  'id',
  'from_address',
  'to_addresses',
  'reply_to',
  'subject',
  'text_body',
  'html_body',
  'headers',
  'created_at',
] as const;

function toMessage(row: Pick<MailboxMessageRow, (typeof columns)[number]>): MailboxMessage {
  return {
    id: row.id,
    from: row.from_address,
    to: parseJson<string[]>(row.to_addresses, []),
    replyTo: row.reply_to,
    subject: row.subject,
    text: row.text_body,
    html: row.html_body,
    headers: parseJson<Record<string, string>>(row.headers, {}),
    createdAt: row.created_at,
  };
}

/** Keeps a message; one already kept under this id (a repeated send) is left as it is. */
export async function insertMessage(db: Kysely<DB>, workspaceId: string, m: MailboxMessage): Promise<void> {
  await db
    .insertInto('mailbox_messages')
    .values({
      workspace_id: workspaceId,
      id: m.id,
      from_address: m.from,
      to_addresses: toJson(m.to),
      reply_to: m.replyTo,
      subject: m.subject,
      text_body: m.text,
      html_body: m.html,
      headers: Object.keys(m.headers).length > 0 ? toJson(m.headers) : null,
      created_at: m.createdAt,
    })
    .onConflict((oc) => oc.columns(['workspace_id', 'id']).doNothing())
    .execute();
}

/** Newest first; `before` is the last message of the previous page. */
export async function listMessages(
  db: Kysely<DB>,
  workspaceId: string,
  limit: number,
  before?: { value: number; id: string },
): Promise<MailboxMessage[]> {
  let select = db.selectFrom('mailbox_messages').select(columns).where('workspace_id', '=', workspaceId);
  if (before) {
    select = select.where((eb) =>
      eb.or([
        eb('created_at', '<', before.value),
        eb.and([eb('created_at', '=', before.value), eb('id', '<', before.id)]),
      ]),
    );
  }
  const rows = await select.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
  return rows.map(toMessage);
}

export async function findMessage(
  db: Kysely<DB>,
  workspaceId: string,
  id: string,
): Promise<MailboxMessage | undefined> {
  const row = await db
    .selectFrom('mailbox_messages')
    .select(columns)
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', id)
    .executeTakeFirst();
  return row && toMessage(row);
}

/** Empties the workspace's mailbox; returns how many messages went. */
export async function clearMessages(db: Kysely<DB>, workspaceId: string): Promise<number> {
  const result = await db
    .deleteFrom('mailbox_messages')
    .where('workspace_id', '=', workspaceId)
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

/** Deletes up to `limit` of a workspace's messages kept before `before`; returns how many. */
export function pruneMessages(
  db: Kysely<DB>,
  workspaceId: string,
  before: number,
  limit: number,
): Promise<number> {
  return deleteOlderThan(
    db,
    { table: 'mailbox_messages', timeColumn: 'created_at' },
    workspaceId,
    before,
    limit,
  );
}
