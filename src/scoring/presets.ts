import { DomainError } from '../errors.ts';
import { defaultQualificationRule, type QualificationRule } from '../lifecycle/qualification.ts';
import { defaultStageRules, type FlagRule, type StageRules } from '../lifecycle/stage-rules.ts';
import { defaultTemperatureConfig, type TemperatureConfig } from '../lifecycle/temperature.ts';
import type { BehaviourRule, NegativeRule, ScoringModel } from './model.ts';
import { defaultGrades, defaultModel, seniorTitlePatterns } from './model.ts';

/**
 * Starting points for `leadline init --preset …` and a new workspace through the API: a scoring
 * model, stage rules, temperature thresholds and a qualification rule suited to a kind of
 * business. Each is a plain value the workspace then owns and edits.
 *
 * Conventions the presets rely on (what a site or integration should send):
 * - page views carry the page address in `url`;
 * - forms carry their purpose in `form` (`contact`, `quote`, `viewing`, `valuation`…);
 * - `custom` activities carry their name in `name` (`add_to_cart`, `order_placed`…);
 * - product events carry `feature`, `premium` (boolean) and `plan` (`trial`…);
 * - support requests and chats carry `intent` (`purchase`, `upgrade`, `quote`, `pricing`).
 */
export const presetNames = ['b2b-saas', 'real-estate', 'ecommerce', 'services'] as const;
export type PresetName = (typeof presetNames)[number];

export interface Preset {
  name: PresetName;
  label: string;
  /** One paragraph for docs and the setup screen. */
  description: string;
  model: ScoringModel;
  stageRules: StageRules;
  temperature: TemperatureConfig;
  qualification: QualificationRule;
}

// Rules several presets share.

const unsubscribed: NegativeRule = {
  id: 'unsubscribed',
  label: 'Unsubscribed from email',
  points: -20,
  type: 'email_unsubscribed',
  once: true,
};
const bounced: NegativeRule = {
  id: 'bounced',
  label: 'Email bounced',
  points: -30,
  type: 'email_bounced',
  once: true,
};
const complained: NegativeRule = {
  id: 'spam-complaint',
  label: 'Marked an email as spam',
  points: -50,
  type: 'email_complained',
  once: true,
};
const disposableEmail: NegativeRule = {
  id: 'disposable-email',
  label: 'Disposable email address',
  points: -25,
  when: { email: { domainType: ['disposable'] } },
};
const competitor: NegativeRule = {
  id: 'competitor',
  label: 'Works for a competitor',
  points: -100,
  when: { email: { domainType: ['competitor'] } },
};
const studentOrJobSeeker: NegativeRule = {
  id: 'student-or-job-seeker',
  label: 'Student or job seeker',
  points: -30,
  when: {
    jobTitle: {
      matches: [
        'student',
        'intern',
        'internship',
        'job seeker',
        'looking for',
        'seeking',
        'unemployed',
        'graduate',
      ],
    },
  },
};
const careersVisit: NegativeRule = {
  id: 'careers-visit',
  label: 'Visited the careers pages',
  points: -10,
  type: 'page_view',
  where: { url: { matches: ['/careers*', '/jobs*'] } },
  cap: 10,
};

const serviceQualified: FlagRule = defaultStageRules.flags.find((f) => f.flag === 'serviceQualified')!;

function custom(name: string[]): { type: string; where: { name: { in: string[] } } } {
  return { type: 'custom', where: { name: { in: name } } };
}

function form(patterns: string[]): { type: string; where: { form: { matches: string[] } } } {
  return { type: 'form_submitted', where: { form: { matches: patterns } } };
}

/**
 * B2B SaaS: the published default model (fit 50 points, behaviour with a 30-day half-life), plus
 * demo, trial, meeting and product-usage signals and the usual negatives. MQL at 50 or on a demo
 * request or booked meeting; PQL from product usage; BANT with all four confirmed.
 */
const b2bSaas: Preset = {
  name: 'b2b-saas',
  label: 'B2B SaaS',
  description:
    'Software sold to companies, with a website, content, webinars and a trial or demo. Fit on title, ' +
    'company size, industry and region; behaviour halves every 30 days; MQL at 50 points or on a demo ' +
    'request; product-qualified on usage limits or premium features during a trial; BANT, all four.',
  model: {
    ...defaultModel,
    grades: { ...defaultGrades, fit: { A: 45, B: 30, C: 15 } },
    fit: [
      ...defaultModel.fit,
      {
        id: 'business-email',
        label: 'Business email address',
        points: 5,
        when: { email: { domainType: ['business'] } },
      },
    ],
    behaviour: [
      ...defaultModel.behaviour,
      { id: 'demo-request', label: 'Demo requested', points: 30, type: 'demo_requested', cap: 30 },
      { id: 'trial-started', label: 'Trial started', points: 20, type: 'trial_started', once: true },
      { id: 'meeting-booked', label: 'Meeting booked', points: 25, type: 'meeting_booked', cap: 25 },
      { id: 'email-click', label: 'Email link clicked', points: 3, type: 'email_clicked', cap: 9 },
      {
        id: 'active-in-product',
        label: 'Used the product 3 times within a week',
        points: 10,
        type: 'product_used',
        frequency: { atLeast: 3, withinDays: 7 },
        cap: 20,
      },
    ] satisfies BehaviourRule[],
    negative: [
      unsubscribed,
      bounced,
      complained,
      disposableEmail,
      competitor,
      studentOrJobSeeker,
      careersVisit,
    ],
  },
  stageRules: {
    moves: [
      ...defaultStageRules.moves,
      { id: 'mql-meeting', label: 'Meeting booked', to: 'mql', activities: [{ type: 'meeting_booked' }] },
    ],
    flags: defaultStageRules.flags,
  },
  temperature: defaultTemperatureConfig,
  qualification: defaultQualificationRule,
};

/**
 * Real estate (an agency selling and letting homes): fit from what buyers tell (budget,
 * mortgage approval, moving timeline, a phone number); behaviour from listings viewed, saved
 * searches and viewing or valuation requests, halving every 14 days because home searches move
 * fast. MQL at 40 or on a viewing or valuation request; BANT with budget and timeline required.
 */
const realEstate: Preset = {
  name: 'real-estate',
  label: 'Real estate',
  description:
    'An agency selling and letting homes. Fit on budget, mortgage approval, moving timeline and a ' +
    'phone number; behaviour from listings viewed, saved searches and viewing or valuation requests, ' +
    'halving every 14 days; MQL at 40 points or on a viewing or valuation request; BANT with budget ' +
    'and timeline required (3 of 4).',
  model: {
    halfLifeDays: 14,
    grades: { fit: { A: 45, B: 30, C: 15 }, engagement: { '1': 40, '2': 20, '3': 5 } },
    competitorDomains: [],
    fit: [
      {
        id: 'pre-approved',
        label: 'Mortgage pre-approved',
        points: 20,
        when: { 'properties.preApproved': { in: [true] } },
      },
      {
        id: 'moving-soon',
        label: 'Moving within 3 months',
        points: 20,
        when: { 'properties.timeline': { in: ['now', 'asap', '0-3 months', 'within 3 months'] } },
      },
      {
        id: 'budget-given',
        label: 'Told us their budget',
        points: 10,
        when: { 'properties.budget': { min: 1 } },
      },
      { id: 'phone-given', label: 'Phone number given', points: 10, when: { phone: { exists: true } } },
      {
        id: 'seller',
        label: 'Has a home to sell',
        points: 15,
        when: { 'properties.intent': { in: ['sell', 'both'] } },
      },
    ],
    behaviour: [
      {
        id: 'listing-view',
        label: 'Listing viewed',
        points: 3,
        type: 'page_view',
        where: { url: { matches: ['/listing*', '/listings/*', '/property/*', '/properties/*', '/homes/*'] } },
        cap: 15,
      },
      {
        id: 'saved-search',
        label: 'Saved a search or a favourite',
        points: 10,
        ...custom(['saved_search', 'favourite_added']),
        cap: 20,
      },
      {
        id: 'mortgage-calculator',
        label: 'Used the mortgage calculator',
        points: 10,
        ...custom(['mortgage_calculator_used']),
        cap: 10,
      },
      {
        id: 'brochure',
        label: 'Brochure or guide downloaded',
        points: 5,
        type: 'content_downloaded',
        cap: 10,
      },
      {
        id: 'viewing-request',
        label: 'Asked for a viewing',
        points: 30,
        ...form(['viewing', 'showing', 'tour']),
        cap: 30,
      },
      {
        id: 'valuation-request',
        label: 'Asked for a valuation',
        points: 30,
        ...form(['valuation', 'appraisal']),
        cap: 30,
      },
      { id: 'meeting-booked', label: 'Appointment booked', points: 30, type: 'meeting_booked', cap: 30 },
      { id: 'call', label: 'Phone call', points: 10, type: 'call_logged', cap: 20 },
      { id: 'email-reply', label: 'Replied to an email', points: 10, type: 'email_replied', cap: 20 },
    ],
    negative: [
      unsubscribed,
      bounced,
      disposableEmail,
      {
        id: 'other-agent',
        label: 'Another agent or broker',
        points: -30,
        when: { jobTitle: { matches: ['realtor', 'real estate agent', 'estate agent', 'broker'] } },
      },
    ],
  },
  stageRules: {
    moves: [
      { id: 'mql-score', label: 'Score reached 40', to: 'mql', minScore: 40 },
      {
        id: 'mql-request',
        label: 'Viewing, valuation or appointment requested',
        to: 'mql',
        activities: [
          form(['viewing', 'showing', 'tour', 'valuation', 'appraisal']),
          { type: 'meeting_booked' },
        ],
      },
    ],
    flags: [serviceQualified],
  },
  temperature: {
    highIntent: [
      form(['viewing', 'showing', 'tour', 'valuation', 'appraisal']),
      { type: 'meeting_booked' },
      { type: 'call_logged' },
      custom(['mortgage_calculator_used']),
    ],
    hot: { minBehaviour: 40, highIntentWithinDays: 2 },
    warm: { minBehaviour: 15, highIntentWithinDays: 10 },
  },
  qualification: { framework: 'bant', minConfirmed: 3, required: ['budget', 'timeline'] },
};

/**
 * E-commerce (a shop selling to consumers): little fit (consent, past orders, lifetime value,
 * a shipping region); behaviour from product views, carts and checkouts, halving every 7 days
 * because purchase intent fades in days. A placed order makes a customer; an abandoned checkout
 * an MQL (for a recovery sequence). Qualification is rarely used by shops: BANT, 2 of 4.
 */
const ecommerce: Preset = {
  name: 'ecommerce',
  label: 'E-commerce',
  description:
    'A shop selling to consumers. Fit on marketing consent, past orders, lifetime value and shipping ' +
    'region; behaviour from product views, carts and checkouts, halving every 7 days; an order makes a ' +
    'customer, a checkout started or 40 points an MQL (for cart-recovery sequences).',
  model: {
    halfLifeDays: 7,
    grades: { fit: { A: 35, B: 20, C: 10 }, engagement: { '1': 30, '2': 15, '3': 5 } },
    competitorDomains: [],
    fit: [
      {
        id: 'marketing-consent',
        label: 'Accepts marketing email',
        points: 10,
        when: { 'properties.marketingConsent': { in: [true] } },
      },
      {
        id: 'repeat-customer',
        label: 'Has ordered before',
        points: 20,
        when: { 'properties.orders': { min: 1 } },
      },
      {
        id: 'high-value',
        label: 'Lifetime value 200 or more',
        points: 15,
        when: { 'properties.lifetimeValue': { min: 200 } },
      },
      {
        id: 'ships-to',
        label: 'In a shipping region',
        points: 5,
        when: { country: { region: ['NA', 'EU', 'UKI'] } },
      },
    ],
    behaviour: [
      {
        id: 'product-view',
        label: 'Product viewed',
        points: 2,
        type: 'page_view',
        where: { url: { matches: ['/product*', '/products/*', '/p/*'] } },
        cap: 10,
      },
      { id: 'wishlist', label: 'Added to wishlist', points: 5, ...custom(['wishlist_added']), cap: 10 },
      { id: 'add-to-cart', label: 'Added to cart', points: 10, ...custom(['add_to_cart']), cap: 20 },
      {
        id: 'checkout-started',
        label: 'Checkout started',
        points: 20,
        ...custom(['checkout_started']),
        cap: 20,
      },
      { id: 'email-click', label: 'Email link clicked', points: 3, type: 'email_clicked', cap: 9 },
      {
        id: 'email-opens',
        label: 'Opened 3 emails within a week',
        points: 5,
        type: 'email_opened',
        frequency: { atLeast: 3, withinDays: 7 },
        cap: 10,
      },
    ],
    negative: [unsubscribed, bounced, complained, disposableEmail],
  },
  stageRules: {
    moves: [
      { id: 'mql-score', label: 'Score reached 40', to: 'mql', minScore: 40 },
      {
        id: 'mql-checkout',
        label: 'Checkout started',
        to: 'mql',
        activities: [custom(['checkout_started'])],
      },
      {
        id: 'customer-order',
        label: 'Order placed',
        to: 'customer',
        activities: [custom(['order_placed', 'purchase'])],
      },
    ],
    flags: [serviceQualified],
  },
  temperature: {
    highIntent: [custom(['add_to_cart', 'checkout_started'])],
    hot: { minBehaviour: 30, highIntentWithinDays: 1 },
    warm: { minBehaviour: 10, highIntentWithinDays: 7 },
  },
  qualification: { framework: 'bant', minConfirmed: 2, required: ['budget'] },
};

/**
 * Professional services (agencies, consultancies): fit on decision-maker titles, company size
 * and the budget given on the enquiry form; behaviour from service and case-study pages,
 * content, webinars, enquiries, meetings and replies, halving every 45 days (long sales cycles).
 * MQL at 50 or on a quote request or booked meeting; CHAMP, 3 of 4 with challenges required.
 */
const services: Preset = {
  name: 'services',
  label: 'Professional services',
  description:
    'An agency or consultancy selling projects to companies. Fit on decision-maker titles, company size, ' +
    'stated budget and region; behaviour from service and case-study pages, content, enquiries, meetings ' +
    'and replies, halving every 45 days; MQL at 50 points or on a quote request or meeting; CHAMP, ' +
    '3 of 4 with challenges required.',
  model: {
    halfLifeDays: 45,
    grades: { fit: { A: 45, B: 30, C: 15 }, engagement: { '1': 40, '2': 20, '3': 5 } },
    competitorDomains: [],
    fit: [
      {
        id: 'decision-maker',
        label: 'Decision maker',
        points: 10,
        when: { jobTitle: { matches: [...seniorTitlePatterns, 'partner', 'managing director', 'manager'] } },
      },
      {
        id: 'company-size',
        label: 'Company size 10–500',
        points: 15,
        when: { companySize: { min: 10, max: 500 } },
      },
      {
        id: 'budget',
        label: 'Budget of 10,000 or more',
        points: 20,
        when: { 'properties.budget': { min: 10_000 } },
      },
      {
        id: 'location',
        label: 'Location: North America or EMEA',
        points: 5,
        when: { country: { region: ['NA', 'EMEA'] } },
      },
      {
        id: 'business-email',
        label: 'Business email address',
        points: 5,
        when: { email: { domainType: ['business'] } },
      },
    ],
    behaviour: [
      {
        id: 'services-pages',
        label: 'Service or case-study page viewed',
        points: 5,
        type: 'page_view',
        where: { url: { matches: ['/services*', '/case-studies*', '/work/*'] } },
        cap: 15,
      },
      { id: 'content-download', label: 'Content download', points: 10, type: 'content_downloaded', cap: 20 },
      { id: 'webinar-attended', label: 'Webinar attended', points: 15, type: 'webinar_attended', cap: 30 },
      {
        id: 'enquiry',
        label: 'Contact or quote request',
        points: 30,
        ...form(['contact', 'quote', 'proposal', 'brief']),
        cap: 30,
      },
      { id: 'meeting-booked', label: 'Meeting booked', points: 30, type: 'meeting_booked', cap: 30 },
      { id: 'email-reply', label: 'Replied to an email', points: 15, type: 'email_replied', cap: 30 },
      { id: 'call', label: 'Phone call', points: 10, type: 'call_logged', cap: 20 },
    ],
    negative: [unsubscribed, bounced, disposableEmail, competitor, studentOrJobSeeker, careersVisit],
  },
  stageRules: {
    moves: [
      { id: 'mql-score', label: 'Score reached 50', to: 'mql', minScore: 50 },
      {
        id: 'mql-enquiry',
        label: 'Quote request or meeting booked',
        to: 'mql',
        activities: [form(['quote', 'proposal', 'brief']), { type: 'meeting_booked' }],
      },
    ],
    flags: [serviceQualified],
  },
  temperature: {
    highIntent: [
      form(['contact', 'quote', 'proposal', 'brief']),
      { type: 'meeting_booked' },
      { type: 'email_replied' },
    ],
    hot: { minBehaviour: 50, highIntentWithinDays: 5 },
    warm: { minBehaviour: 20, highIntentWithinDays: 21 },
  },
  qualification: { framework: 'champ', minConfirmed: 3, required: ['challenges'] },
};

export const presets: Readonly<Record<PresetName, Preset>> = {
  'b2b-saas': b2bSaas,
  'real-estate': realEstate,
  ecommerce,
  services,
};

export function isPresetName(name: string): name is PresetName {
  return (presetNames as readonly string[]).includes(name);
}

/** The preset of that name; throws PRESET_NOT_FOUND for any other. */
export function presetNamed(name: string): Preset {
  if (!isPresetName(name))
    throw new DomainError(
      'PRESET_NOT_FOUND',
      `There is no preset "${name}"; presets: ${presetNames.join(', ')}.`,
    );
  return presets[name];
}
