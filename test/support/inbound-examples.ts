/**
 * The ad platforms' documented example payloads, for the inbound webhook tests. Kept as the
 * platforms print them (ids as they appear there, numbers included), so a test proves Leadline
 * reads what the platforms really send.
 */

/**
 * A Lead Ads webhook delivery as Meta's Lead Ads webhooks tutorial printed it (Graph v2.5): ids
 * as JSON numbers, `leadgen_id` too large for a double — it must survive parsing digit for digit.
 */
export const facebookDeliveryV25 = `{
"object":"page",
"entry":[
{
"id":"51044240199134611",
"time":1447342027,
"changes":[
{
"field":"leadgen",
"value":{
"adgroup_id":0,
"ad_id":0,
"created_time":1447342026,
"leadgen_id":55459717045641545,
"page_id":516540199134611,
"form_id":551111744595541
}
}
]
}
]
}`;

/** The same tutorial for Graph v2.6: entries in another order, no ad (an organic or test lead). */
export const facebookDeliveryV26 = `{
"entry": [
{
"changes": [
{
"field": "leadgen",
"value": {
"ad_id": 0,
"form_id": 129595594131704,
"leadgen_id": 130528934038370,
"created_time": 1466583136,
"page_id": 230076207144371,
"adgroup_id": 0
}
}
],
"id": "230076207144371",
"time": 1466583137
}
],
"object": "page"
}`;

/** `GET /{leadgen_id}` on the Graph API, as the v2.6 tutorial printed its sample output. */
export const graphLeadV26 = `{
"created_time": "2016-06-22T09:29:50+0000",
"id": "243870422662760",
"field_data": [
{
"name": "email",
"values": ["tom_cook@gmail.com"]
},
{
"name": "phone_number_(eg.65xxxxxxxx)",
"values": ["6552467291"]
},
{
"name": "full_name",
"values": ["Tom Cook"]
}
]
}`;

/** `GET /{leadgen_id}` as the v2.5 tutorial printed it: `\\u0040` escapes, custom questions. */
export const graphLeadV25 = `{
"created_time": "2015-11-12T15:27:06+0000",
"id": "555971704561545",
"field_data": [
{
"name": "full_name",
"values": [
"James Oak"
]
},
{
"name": "email",
"values": [
"james.oak\\u0040example.org"
]
},
{
"name": "date_of_birth",
"values": [
"April 19, 1987"
]
},
{
"name": "gender",
"values": [
"male"
]
}
],
"is_tcpa_compliant": false
}`;

/**
 * A LinkedIn lead notification with the fields LinkedIn's Lead Sync page lists for it (type,
 * leadGenFormResponse, owner, associatedEntity, leadGenForm, leadType, leadAction,
 * occurredAt), naming the form response of LinkedIn's "Fetch Full Lead Data" example below.
 */
export const linkedInNotification = `{
  "type": "LEAD_ACTION",
  "leadGenFormResponse": "urn:li:leadGenFormResponse:249592fc-d272-44ba-a7db-c2bdce579507-6",
  "owner": { "sponsoredAccount": "urn:li:sponsoredAccount:1234567" },
  "associatedEntity": { "sponsoredCreative": "urn:li:sponsoredCreative:241257736" },
  "leadGenForm": "urn:li:versionedLeadGenForm:(urn:li:leadGenForm:7234246,1)",
  "leadType": "SPONSORED",
  "leadAction": "CREATED",
  "occurredAt": 1689894599288
}`;

/** LinkedIn's "Fetch Full Lead Data After a Lead Notification is Received" example answer. */
export const linkedInFormResponse = {
  owner: { sponsoredAccount: 'urn:li:sponsoredAccount:1234567' },
  submitter: 'urn:li:person:BcLKblgopR',
  leadType: 'SPONSORED',
  leadMetadata: { sponsoredLeadMetadata: { campaign: 'urn:li:sponsoredCampaign:198356826' } },
  versionedLeadGenFormUrn: 'urn:li:versionedLeadGenForm:(urn:li:leadGenForm:7234246,1)',
  id: '249592fc-d272-44ba-a7db-c2bdce579507-6',
  submittedAt: 1689894599288,
  testLead: true,
  associatedEntity: { associatedCreative: 'urn:li:sponsoredCreative:241257736' },
  formResponse: {
    consentResponses: [{ accepted: true, consentId: 0 }],
    answers: [
      { answerDetails: { textQuestionAnswer: { answer: 'kevjohonson@email.com' } }, questionId: 307234246 },
      { answerDetails: { textQuestionAnswer: { answer: 'kjohonson@email.com' } }, questionId: 607234246 },
      { answerDetails: { multipleChoiceAnswer: { options: [0] } }, questionId: 707234246 },
      { answerDetails: { textQuestionAnswer: { answer: 'Mexico' } }, questionId: 807234246 },
      { answerDetails: { textQuestionAnswer: { answer: 'Kevin' } }, questionId: 107234246 },
      { answerDetails: { textQuestionAnswer: { answer: 'Johonson' } }, questionId: 207234246 },
      { answerDetails: { textQuestionAnswer: { answer: 'Senior Engineer' } }, questionId: 407234246 },
      { answerDetails: { textQuestionAnswer: { answer: 'Ingeniería' } }, questionId: 507234246 },
    ],
  },
};

/** The form of that response (7234246) from LinkedIn's "Get Forms for the Chosen Sponsored Account" example. */
export const linkedInForm = {
  reviewInfo: { rejectionReasons: [], lastUpdated: 1677209409563, reviewStatus: 'NEEDS_REVIEW' },
  owner: { sponsoredAccount: 'urn:li:sponsoredAccount:1234567' },
  hiddenFields: [
    { name: 'hidden_field', value: 'abc678' },
    { name: 'campo_escondido', value: 'def789' },
  ],
  versionId: 1,
  created: 1677209077832,
  creationLocale: { country: 'ES', language: 'es' },
  name: 'Form with written spanish',
  id: 7234246,
  lastModified: 1677209424470,
  state: 'PUBLISHED',
  content: {
    questions: [
      q(107234246, 'Nombre', 'First name', 'FIRST_NAME'),
      q(207234246, 'Apellidos', 'Last name', 'LAST_NAME'),
      q(307234246, 'Correo electrónico', 'Email address', 'EMAIL'),
      q(407234246, 'Cargo', 'Job title', 'JOB_TITLE'),
      q(507234246, 'Función', 'Function', 'JOB_FUNCTION'),
      q(607234246, 'Correo electrónico del trabajo', 'Work email', 'WORK_EMAIL'),
      {
        name: 'Custom question 0',
        questionDetails: {
          multipleChoiceQuestionDetails: {
            options: [
              { text: { localized: { es_ES: 'Rojo' } }, id: 0 },
              { text: { localized: { es_ES: 'Azul' } }, id: 1 },
            ],
          },
        },
        questionId: 707234246,
        question: { localized: { es_ES: 'Cuál es tu color favorito' } },
        responseEditable: true,
        responseRequired: true,
      },
      {
        name: 'Custom question 1',
        questionDetails: { textQuestionDetails: { maxResponseLength: 300 } },
        questionId: 807234246,
        question: { localized: { es_ES: '¿Dónde creciste?' } },
        responseEditable: true,
        responseRequired: true,
      },
    ],
    description: { localized: { es_ES: 'Mis detalles de súper gran oferta!' } },
    postSubmissionInfo: {
      message: { localized: { es_ES: 'muchas gracias!' } },
      callToAction: {
        callToActionTarget: { landingPageUrl: 'https://www.linkedin.com' },
        callToActionLabel: 'VISIT_COMPANY_WEBSITE',
      },
    },
    legalInfo: {
      consents: [
        {
          consent: { localized: { es_ES: ' marque mi casilla de verificación personalizada!' } },
          checkRequired: true,
          id: 0,
        },
      ],
      legalInfoId: 107234246,
      privacyPolicyUrl: 'http://example.com/privacy',
      legalDisclaimer: { localized: { es_ES: 'tanto texto de política' } },
    },
    headline: { localized: { es_ES: 'mi super gran titular' } },
  },
};

function q(questionId: number, localized: string, name: string, predefinedField: string) {
  return {
    questionId,
    question: { localized: { es_ES: localized } },
    responseEditable: true,
    name,
    questionDetails: { textQuestionDetails: { maxResponseLength: 300 } },
    predefinedField,
    responseRequired: true,
  };
}
