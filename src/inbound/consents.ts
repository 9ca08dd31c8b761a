import type { ConsentGrant } from '../consent/model.ts';
import { sha256Hex } from './crypto.ts';
import type { ExternalLead, InboundKind } from './model.ts';

/**
 * What a platform lead's consent checkboxes grant in Leadline's ledger: each box the person
 * checked whose id the source maps to a purpose, with the form's wording as the platform sent
 * it. The version names the checkbox and that wording, so a reworded box is a new grant while
 * the same one delivered again records nothing. An unchecked box grants nothing (and withdraws
 * nothing: not agreeing on a form is not taking back an earlier yes).
 */
export function platformGrants(
  kind: InboundKind,
  purposes: Readonly<Record<string, string>>,
  consents: ExternalLead['consents'],
): ConsentGrant[] {
  const grants: ConsentGrant[] = [];
  for (const box of consents ?? []) {
    const purpose = Object.hasOwn(purposes, box.id) ? purposes[box.id] : undefined;
    if (!box.accepted || purpose === undefined) continue;
    const text =
      box.text?.trim() || `Consent checkbox ${box.id} of the ${kind} form (its wording was not sent)`;
    grants.push({ purpose, text, version: `${kind}:${box.id}:${sha256Hex(text).slice(0, 12)}` });
  }
  return grants;
}
