import type { Migration } from './types.ts';

/**
 * The inbound log is pruned by age (captured entries after 30 days, failed and pending ones
 * after 90: src/inbound/model.ts): the prune finds a workspace's old entries, whatever their
 * source, through this index instead of reading the whole log.
 */
export const inboundRetention: Migration = {
  name: '2026-11-23T1960-inbound-retention',
  async up(db) {
    await db.schema
      .createIndex('inbound_leads_received_ix')
      .on('inbound_leads')
      .columns(['workspace_id', 'received_at'])
      .execute();
  },
};
