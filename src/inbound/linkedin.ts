import type { FieldError } from '../errors.ts';
import { hmacHex, safeEqual } from './crypto.ts';
import { type Answer, type ExternalLead, isObject, parseTime, text } from './model.ts';

/**
 * LinkedIn Lead Gen Forms (Lead Sync API), as LinkedIn documents them:
 *
 * - Validation: `GET {webhook}?challengeCode=<uuid>`, answered within 3 s with JSON
 *   `{ challengeCode, challengeResponse }`, the response being the hex HMAC-SHA256 of the code
 *   keyed with the app's client secret. LinkedIn repeats it every 2 hours.
 * - Notifications: `POST` with `X-LI-Signature`, the hex HMAC-SHA256 (client secret) of the body
 *   prefixed by `hmacsha256=`, and a body `{ type: 'LEAD_ACTION', leadGenFormResponse:
 *   'urn:li:leadGenFormResponse:<id>', leadGenForm, owner, associatedEntity, leadType,
 *   leadAction: 'CREATED' | 'DELETED', occurredAt }`. Notifications carry no answers: the form
 *   response is read from `GET /rest/leadFormResponses/{id}` with an access token
 *   (`r_marketing_leadgen_automation`), its form's questions projected alongside.
 *
 * Pure: no IO. LinkedIn may deliver a notification more than once.
 */

/** A lead notification. */
export interface LeadNotification {
  /** The form response id (the part after `urn:li:leadGenFormResponse:`). */
  responseId: string;
  action: 'CREATED' | 'DELETED';
  leadType: string | null;
  occurredAt: number | null;
}

/** Form response ids: UUID-like with a suffix (`249592fc-d272-44ba-a7db-c2bdce579507-6`). */
const RESPONSE_ID = /^[A-Za-z0-9_.-]{1,100}$/;
const FORM_ID = /^\d{1,30}$/;

/**
 * Whether `X-LI-Signature` is the hex HMAC-SHA256, keyed with the client secret, of the body
 * prefixed by `hmacsha256=` (constant-time); the header value may carry the `hmacsha256=`
 * prefix itself. The HMAC of the bare body is not accepted: the validation challenge answers
 * the HMAC of a code the caller chooses, so only what no challenge can produce may count as a
 * signature (codes are UUIDs, never `hmacsha256=…`, never a JSON body).
 */
export function verifyLinkedInSignature(
  clientSecret: string,
  raw: Buffer,
  header: string | undefined,
): boolean {
  if (!header) return false;
  const given = header
    .trim()
    .toLowerCase()
    .replace(/^hmacsha256=/, '');
  return safeEqual(given, hmacHex(clientSecret, Buffer.concat([Buffer.from('hmacsha256='), raw])));
}

/** LinkedIn's challenge codes are UUIDs (`890e4665-4dfe-4ab1-b689-ed553bceeed0`). */
const CHALLENGE_CODE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The answer to LinkedIn's webhook validation, or field errors for a call without a code.
 * The answer is an HMAC with the client secret of the code: answered for any text, it would
 * sign whatever a caller asks (a forged notification's `hmacsha256=` + body), so only a UUID
 * — what LinkedIn sends — is answered.
 */
export function linkedInChallenge(
  query: Record<string, unknown>,
  clientSecret: string,
):
  | { ok: true; body: { challengeCode: string; challengeResponse: string } }
  | { ok: false; errors: FieldError[] } {
  const code = query.challengeCode;
  if (typeof code !== 'string' || !CHALLENGE_CODE.test(code))
    return {
      ok: false,
      errors: [{ path: '/query/challengeCode', message: 'is required, as the UUID LinkedIn sends' }],
    };
  return { ok: true, body: { challengeCode: code, challengeResponse: hmacHex(clientSecret, code) } };
}

/**
 * The lead notifications of a body (one object, or a list of them). Notifications of other
 * types are `ignored`; a lead notification without a usable response URN is an error.
 */
export function parseLinkedInDelivery(body: unknown): {
  notifications: LeadNotification[];
  ignored: number;
  errors: FieldError[];
} {
  const list = Array.isArray(body) ? body : [body];
  const notifications: LeadNotification[] = [];
  const errors: FieldError[] = [];
  let ignored = 0;
  list.forEach((item, i) => {
    const base = Array.isArray(body) ? `/${i}` : '';
    if (!isObject(item)) {
      errors.push({ path: base || '/', message: 'must be a lead notification object' });
      return;
    }
    if (item.type !== 'LEAD_ACTION') {
      ignored++;
      return;
    }
    const urn = text(item.leadGenFormResponse) ?? '';
    const responseId = urn.startsWith('urn:li:leadGenFormResponse:')
      ? urn.slice('urn:li:leadGenFormResponse:'.length)
      : '';
    if (!RESPONSE_ID.test(responseId)) {
      errors.push({
        path: `${base}/leadGenFormResponse`,
        message: 'must be a urn:li:leadGenFormResponse URN',
      });
      return;
    }
    const action = item.leadAction === 'DELETED' ? 'DELETED' : 'CREATED';
    notifications.push({
      responseId,
      action,
      leadType: text(item.leadType) ?? null,
      occurredAt: parseTime(item.occurredAt) ?? null,
    });
  });
  return { notifications, ignored, errors };
}

/** Everything Leadline reads of a form response, its form's questions included (one request). */
export const RESPONSE_FIELDS =
  'owner,leadType,versionedLeadGenFormUrn,id,submittedAt,testLead,formResponse,leadMetadata,associatedEntity,form:(hiddenFields,name,id,content)';

/** The API URL of a form response. */
export function responseUrl(baseUrl: string, responseId: string): string {
  if (!RESPONSE_ID.test(responseId)) throw new Error(`not a form response id: ${responseId}`);
  // Rest.li reads the projection's parentheses and commas literally.
  return `${baseUrl}/rest/leadFormResponses/${encodeURIComponent(responseId)}?fields=${RESPONSE_FIELDS}`;
}

/** The API URL of a lead form (its questions), for answers whose form was not projected. */
export function formUrl(baseUrl: string, formId: string): string {
  if (!FORM_ID.test(formId)) throw new Error(`not a lead form id: ${formId}`);
  return `${baseUrl}/rest/leadForms/${formId}`;
}

/** Headers of every API call: the token, the API version and Rest.li 2.0. */
export function apiHeaders(accessToken: string, apiVersion: string): Record<string, string> {
  return {
    authorization: `Bearer ${accessToken}`,
    'linkedin-version': apiVersion,
    'x-restli-protocol-version': '2.0.0',
    accept: 'application/json',
  };
}

/** `urn:li:versionedLeadGenForm:(urn:li:leadGenForm:7234246,1)` -> `7234246`. */
export function formIdOf(versionedUrn: unknown): string | null {
  const match = /urn:li:leadGenForm:(\d{1,30})/.exec(text(versionedUrn) ?? '');
  return match ? match[1]! : null;
}

/** The error message of a LinkedIn API answer (`{ message, status, serviceErrorCode }`). */
export function apiErrorMessage(body: unknown): string | undefined {
  if (!isObject(body)) return undefined;
  const message = text(body.message);
  const code = text(body.serviceErrorCode) ?? text(body.code);
  if (!message) return undefined;
  return code ? `${message} (LinkedIn error ${code})` : message;
}

/** A lead form's questions and hidden fields (a `form` projection, or `GET /rest/leadForms/{id}`). */
export interface LeadForm {
  name: string | null;
  questions: Map<
    string,
    { name: string | null; predefinedField: string | null; options: Map<string, string> }
  >;
  hiddenFields: Array<{ name: string; value: string }>;
  consents: Map<string, string>;
}

/** The first localized text of a `{ localized: { en_US: '…' } }` object. */
function localized(value: unknown): string | null {
  if (!isObject(value) || !isObject(value.localized)) return null;
  for (const v of Object.values(value.localized)) if (typeof v === 'string') return v;
  return null;
}

/** Reads a lead form; null when the value is not one (no content questions). */
export function parseLeadForm(value: unknown): LeadForm | null {
  if (!isObject(value) || !isObject(value.content) || !Array.isArray(value.content.questions)) return null;
  const questions: LeadForm['questions'] = new Map();
  for (const q of value.content.questions) {
    if (!isObject(q)) continue;
    const id = text(q.questionId);
    if (!id) continue;
    const options = new Map<string, string>();
    const details = isObject(q.questionDetails) ? q.questionDetails : {};
    const choices = isObject(details.multipleChoiceQuestionDetails)
      ? details.multipleChoiceQuestionDetails.options
      : undefined;
    if (Array.isArray(choices))
      for (const o of choices) {
        const key = isObject(o) ? text(o.id) : undefined;
        const label = isObject(o) ? localized(o.text) : null;
        if (key !== undefined && label !== null) options.set(key, label);
      }
    questions.set(id, {
      name: text(q.name) ?? localized(q.question),
      predefinedField: text(q.predefinedField) ?? null,
      options,
    });
  }
  const hiddenFields = Array.isArray(value.hiddenFields)
    ? value.hiddenFields.flatMap((h) =>
        isObject(h) && typeof h.name === 'string' && typeof h.value === 'string'
          ? [{ name: h.name, value: h.value }]
          : [],
      )
    : [];
  const consents = new Map<string, string>();
  const legal = isObject(value.content.legalInfo) ? value.content.legalInfo : {};
  if (Array.isArray(legal.consents))
    for (const c of legal.consents) {
      const key = isObject(c) ? text(c.id) : undefined;
      const label = isObject(c) ? localized(c.consent) : null;
      if (key !== undefined && label !== null) consents.set(key, label.trim());
    }
  return { name: text(value.name) ?? null, questions, hiddenFields, consents };
}

/** A form response as the API returns it. */
export interface FormResponse {
  id: string;
  formId: string | null;
  submittedAt: number | null;
  testLead: boolean;
  leadType: string | null;
  campaignId: string | null;
  creativeId: string | null;
  answers: Array<{ questionId: string; text: string | null; options: string[] }>;
  consents: Array<{ id: string; accepted: boolean }>;
  /** The projected form, when the answer carried it. */
  form: LeadForm | null;
}

const lastPart = (urn: unknown): string | null => {
  const t = text(urn);
  return t ? (t.split(':').pop() ?? null) : null;
};

/** Reads a form response; a message when it is not one (no `formResponse`). */
export function parseFormResponse(
  body: unknown,
): { ok: true; response: FormResponse } | { ok: false; message: string } {
  if (!isObject(body) || !isObject(body.formResponse))
    return { ok: false, message: 'the LinkedIn answer has no formResponse' };
  const answers: FormResponse['answers'] = [];
  if (Array.isArray(body.formResponse.answers))
    for (const a of body.formResponse.answers) {
      if (!isObject(a)) continue;
      const questionId = text(a.questionId);
      const details = isObject(a.answerDetails) ? a.answerDetails : {};
      if (!questionId) continue;
      const textAnswer = isObject(details.textQuestionAnswer)
        ? text(details.textQuestionAnswer.answer)
        : undefined;
      const choice = isObject(details.multipleChoiceAnswer)
        ? details.multipleChoiceAnswer.options
        : undefined;
      answers.push({
        questionId,
        text: textAnswer ?? null,
        options: Array.isArray(choice) ? choice.flatMap((o) => text(o) ?? []) : [],
      });
    }
  const consents: FormResponse['consents'] = [];
  if (Array.isArray(body.formResponse.consentResponses))
    for (const c of body.formResponse.consentResponses) {
      const key = isObject(c) ? text(c.consentId) : undefined;
      if (isObject(c) && key !== undefined) consents.push({ id: key, accepted: c.accepted === true });
    }
  const metadata = isObject(body.leadMetadata) ? body.leadMetadata : {};
  const sponsored = isObject(metadata.sponsoredLeadMetadata) ? metadata.sponsoredLeadMetadata : {};
  const entity = isObject(body.associatedEntity) ? body.associatedEntity : {};
  return {
    ok: true,
    response: {
      id: text(body.id) ?? '',
      formId: formIdOf(body.versionedLeadGenFormUrn),
      submittedAt: parseTime(body.submittedAt) ?? null,
      testLead: body.testLead === true,
      leadType: text(body.leadType) ?? null,
      campaignId: lastPart(sponsored.campaign),
      creativeId: lastPart(entity.associatedCreative),
      answers,
      consents,
      form: parseLeadForm(body.form),
    },
  };
}

/**
 * The lead of a form response: each answer keyed by its question's predefined field
 * (`EMAIL`, `FIRST_NAME`…), name and id, choices by their option texts; hidden fields (often
 * UTM values) as answers too. Attribution: utm_source linkedin, medium paid_social for
 * sponsored leads (social otherwise), campaign the campaign id, content the creative id.
 */
export function linkedInLead(response: FormResponse, form: LeadForm | null): ExternalLead {
  const answers: Answer[] = [];
  for (const a of response.answers) {
    const question = form?.questions.get(a.questionId);
    const keys = [question?.predefinedField, question?.name, a.questionId].filter((k): k is string => !!k);
    const choices = a.options.map((o) => question?.options.get(o) ?? o);
    const value = a.text ?? (choices.length === 1 ? choices[0]! : choices);
    answers.push({ keys, label: question?.predefinedField ?? question?.name ?? a.questionId, value });
  }
  for (const hidden of form?.hiddenFields ?? [])
    answers.push({ keys: [hidden.name], label: hidden.name, value: hidden.value });
  const facts: Record<string, string | number | boolean> = {};
  if (response.formId) facts.platformFormId = response.formId;
  if (response.leadType) facts.leadType = response.leadType;
  if (response.campaignId) facts.campaignId = response.campaignId;
  if (response.creativeId) facts.creativeId = response.creativeId;
  if (response.testLead) facts.testLead = true;
  const sponsored = response.leadType === null || response.leadType === 'SPONSORED';
  return {
    externalId: response.id,
    occurredAt: response.submittedAt,
    answers,
    facts,
    formName: form?.name ?? undefined,
    utm: {
      source: 'linkedin',
      medium: sponsored ? 'paid_social' : 'social',
      ...(response.campaignId ? { campaign: response.campaignId } : {}),
      ...(response.creativeId ? { content: response.creativeId } : {}),
    },
    consents: response.consents.map((c) => ({
      id: c.id,
      accepted: c.accepted,
      ...(form?.consents.get(c.id) ? { text: form.consents.get(c.id)! } : {}),
    })),
  };
}
