import type { FieldError } from '../errors.ts';
import { hmacHex, safeEqual } from './crypto.ts';
import { type Answer, type ExternalLead, isObject, parseTime, text } from './model.ts';

/**
 * Facebook (and Instagram) Lead Ads, as Meta documents them:
 *
 * - Subscribing: Meta calls `GET {callback}?hub.mode=subscribe&hub.verify_token=…&hub.challenge=…`
 *   and expects the challenge back when the verify token is the one configured.
 * - Deliveries: `POST` with `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body, keyed
 *   with the app secret>` and a body `{ object: 'page', entry: [{ id, time, changes: [{ field:
 *   'leadgen', value: { leadgen_id, page_id, form_id, ad_id, adgroup_id, created_time } }] }] }`.
 *   The notification carries ids only; the answers are read from the Graph API
 *   (`GET /{leadgen_id}`, `field_data: [{ name, values }]`) with a page access token. Relays
 *   and Meta's testing tool sometimes put `field_data` in the value itself: then no fetch.
 *
 * Pure: no IO. Meta retries a failed delivery for up to 36 hours and may deliver one twice.
 */

/** A leadgen change of a delivery. */
export interface LeadgenChange {
  leadgenId: string;
  pageId: string | null;
  formId: string | null;
  adId: string | null;
  adgroupId: string | null;
  /** Epoch ms of the submission. */
  createdTime: number | null;
  /** When the delivery carried the answers itself. */
  fieldData: FieldDatum[] | null;
}

export interface FieldDatum {
  name: string;
  values: string[];
}

/** Graph ids are digits; anything else is refused before it becomes part of a Graph URL. */
const GRAPH_ID = /^\d{1,40}$/;

/** Whether `X-Hub-Signature-256` signs the raw body with the app secret (constant-time). */
export function verifyFacebookSignature(appSecret: string, raw: Buffer, header: string | undefined): boolean {
  if (!header?.startsWith('sha256=')) return false;
  return safeEqual(header.slice('sha256='.length).trim().toLowerCase(), hmacHex(appSecret, raw));
}

/**
 * The answer to Meta's subscription handshake: the challenge when the mode is `subscribe` and
 * the verify token matches; `unauthorized` when it does not; field errors for a malformed call.
 */
export function facebookHandshake(
  query: Record<string, unknown>,
  verifyToken: string,
): { ok: true; challenge: string } | { ok: false; unauthorized: boolean; errors: FieldError[] } {
  const errors: FieldError[] = [];
  const mode = query['hub.mode'];
  const token = query['hub.verify_token'];
  const challenge = query['hub.challenge'];
  if (mode !== 'subscribe') errors.push({ path: '/query/hub.mode', message: 'must be subscribe' });
  if (typeof token !== 'string') errors.push({ path: '/query/hub.verify_token', message: 'is required' });
  if (typeof challenge !== 'string' || challenge.length === 0 || challenge.length > 200)
    errors.push({ path: '/query/hub.challenge', message: 'is required (at most 200 characters)' });
  if (errors.length > 0) return { ok: false, unauthorized: false, errors };
  if (!safeEqual(token as string, verifyToken))
    return {
      ok: false,
      unauthorized: true,
      errors: [{ path: '/query/hub.verify_token', message: 'is not the verify token of this source' }],
    };
  return { ok: true, challenge: challenge as string };
}

function fieldData(value: unknown): FieldDatum[] | null {
  if (!Array.isArray(value)) return null;
  const data: FieldDatum[] = [];
  for (const item of value) {
    if (!isObject(item) || typeof item.name !== 'string') continue;
    const values = Array.isArray(item.values) ? item.values.flatMap((v) => text(v) ?? []) : [];
    data.push({ name: item.name, values });
  }
  return data;
}

const id = (value: unknown): string | null => {
  const t = text(value);
  // Meta writes 0 for "no ad" (organic and test leads).
  return t && t !== '0' ? t : null;
};

/**
 * The leadgen changes of a delivery body; other fields of the page subscription are skipped
 * (`ignored`). Field errors when the body is not a page notification at all, or a leadgen
 * change has no usable `leadgen_id`.
 */
export function parseFacebookDelivery(body: unknown): {
  changes: LeadgenChange[];
  ignored: number;
  errors: FieldError[];
} {
  const errors: FieldError[] = [];
  const changes: LeadgenChange[] = [];
  let ignored = 0;
  if (!isObject(body) || !Array.isArray(body.entry)) {
    errors.push({ path: '/entry', message: 'must be the entries of a page notification' });
    return { changes, ignored, errors };
  }
  body.entry.forEach((entry, e) => {
    if (!isObject(entry) || !Array.isArray(entry.changes)) {
      errors.push({ path: `/entry/${e}/changes`, message: 'must be a list of changes' });
      return;
    }
    entry.changes.forEach((change, c) => {
      if (!isObject(change) || change.field !== 'leadgen') {
        ignored++;
        return;
      }
      const value = isObject(change.value) ? change.value : {};
      const leadgenId = text(value.leadgen_id);
      if (!leadgenId || !GRAPH_ID.test(leadgenId)) {
        errors.push({ path: `/entry/${e}/changes/${c}/value/leadgen_id`, message: 'must be a Graph id' });
        return;
      }
      changes.push({
        leadgenId,
        pageId: id(value.page_id) ?? id(entry.id),
        formId: id(value.form_id),
        adId: id(value.ad_id),
        adgroupId: id(value.adgroup_id),
        createdTime: parseTime(value.created_time) ?? null,
        fieldData: fieldData(value.field_data),
      });
    });
  });
  return { changes, ignored, errors };
}

/** Fields read from the Graph API for a lead (those the `leads_retrieval` permission gives). */
export const GRAPH_LEAD_FIELDS =
  'id,created_time,ad_id,adset_id,campaign_id,form_id,field_data,is_organic,platform';

/**
 * The Graph URL of a lead. With the app secret, `appsecret_proof` (HMAC-SHA256 of the token)
 * goes along: apps that "require app secret" refuse calls without it.
 */
export function graphLeadUrl(
  baseUrl: string,
  leadgenId: string,
  accessToken: string,
  appSecret: string,
): string {
  if (!GRAPH_ID.test(leadgenId)) throw new Error(`not a Graph id: ${leadgenId}`);
  const params = new URLSearchParams({
    fields: GRAPH_LEAD_FIELDS,
    access_token: accessToken,
    appsecret_proof: hmacHex(appSecret, accessToken),
  });
  return `${baseUrl}/${leadgenId}?${params}`;
}

/** A lead as the Graph API returns it. */
export interface GraphLead {
  createdTime: number | null;
  adId: string | null;
  adsetId: string | null;
  campaignId: string | null;
  formId: string | null;
  fieldData: FieldDatum[];
  isOrganic: boolean | null;
  /** fb | ig */
  platform: string | null;
}

/** Reads a Graph API lead; a message when it is not one (no `field_data`). */
export function parseGraphLead(
  body: unknown,
): { ok: true; lead: GraphLead } | { ok: false; message: string } {
  if (!isObject(body)) return { ok: false, message: 'the Graph API answer is not a JSON object' };
  const data = fieldData(body.field_data);
  if (!data) return { ok: false, message: 'the Graph API answer has no field_data' };
  return {
    ok: true,
    lead: {
      createdTime: parseTime(body.created_time) ?? null,
      adId: id(body.ad_id),
      adsetId: id(body.adset_id),
      campaignId: id(body.campaign_id),
      formId: id(body.form_id),
      fieldData: data,
      isOrganic: typeof body.is_organic === 'boolean' ? body.is_organic : null,
      platform: typeof body.platform === 'string' ? body.platform : null,
    },
  };
}

/** The message of a Graph API error answer (`{ error: { message, code } }`), if it is one. */
export function graphErrorMessage(body: unknown): string | undefined {
  if (!isObject(body) || !isObject(body.error)) return undefined;
  const message = text(body.error.message) ?? 'unknown error';
  const code = text(body.error.code);
  return code ? `${message} (Graph error ${code})` : message;
}

/**
 * The lead of a leadgen change, with its answers from the change itself or from the Graph
 * API. Attribution: utm_source facebook (instagram for Instagram leads), medium paid_social
 * (social for organic leads), campaign the campaign id, content the ad id.
 */
export function facebookLead(change: LeadgenChange, graph: GraphLead | null): ExternalLead {
  const data = graph?.fieldData ?? change.fieldData ?? [];
  const answers: Answer[] = data.map((d) => ({
    keys: [d.name],
    label: d.name,
    value: d.values.length === 1 ? d.values[0]! : d.values,
  }));
  const adId = graph?.adId ?? change.adId;
  const formId = graph?.formId ?? change.formId;
  const facts: Record<string, string | number | boolean> = {};
  const put = (key: string, value: string | boolean | null | undefined) => {
    if (value !== null && value !== undefined) facts[key] = value;
  };
  put('platformFormId', formId);
  put('pageId', change.pageId);
  put('adId', adId);
  put('adsetId', graph?.adsetId);
  put('campaignId', graph?.campaignId);
  put('organic', graph?.isOrganic);
  put('network', graph?.platform);
  const organic = graph?.isOrganic === true || (graph === null && adId === null);
  return {
    externalId: change.leadgenId,
    occurredAt: change.createdTime ?? graph?.createdTime ?? null,
    answers,
    facts,
    utm: {
      source: graph?.platform === 'ig' ? 'instagram' : 'facebook',
      medium: organic ? 'social' : 'paid_social',
      ...(graph?.campaignId ? { campaign: graph.campaignId } : {}),
      ...(adId ? { content: adId } : {}),
    },
  };
}
