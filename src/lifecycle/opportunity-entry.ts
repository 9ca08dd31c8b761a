import type { Lead, Opportunity, TimelineEntry } from '../leads/model.ts';

/** The timeline entry of an opportunity's change: what it is now, and `extra` (who, why). */
export function opportunityEntry(
  lead: Lead,
  action: 'opened' | 'edited' | 'won' | 'lost',
  opportunity: Opportunity,
  extra: Record<string, unknown>,
  now: number,
  newId: () => string,
): TimelineEntry {
  return {
    id: newId(),
    leadId: lead.id,
    type: 'opportunity_updated',
    occurredAt: now,
    properties: {
      action,
      status: opportunity.status,
      amount: opportunity.amount,
      currency: opportunity.currency,
      expectedCloseDate: opportunity.expectedCloseDate,
      ...(opportunity.status === 'won' ? { value: opportunity.value } : {}),
      ...(opportunity.status === 'lost' ? { lostReason: opportunity.lostReason } : {}),
      ...extra,
    },
  };
}
