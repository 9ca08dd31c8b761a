import type { Migration } from './types.ts';

/**
 * The temperature sweeper finds its leads through `leads_temperature_ix` (only warm and hot
 * leads can cool down) instead of an index on `temperature_changes_at`. That time moves with
 * every scored activity, so its index cost every scored event two more index writes.
 */
export const sweepByTemperature: Migration = {
  name: '2026-11-23T1300-sweep-by-temperature',
  async up(db) {
    await db.schema.dropIndex('leads_temperature_due_ix').execute();
  },
};
