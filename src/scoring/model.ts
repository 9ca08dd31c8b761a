import { eventTypes } from '../leads/events-model.ts';
import type { Conditions } from './conditions.ts';

/**
 * A workspace's scoring model: who the lead is (fit), what they did (behaviour, decaying with a
 * half-life) and what counts against them (negative, not decaying). Score = fit + behaviour now
 * + negative, clamped to 0–100. Plain data: it is stored as JSON and edited as YAML
 * (model-format.ts validates and fills the defaults below).
 */
export interface ScoringModel {
  /** Half-life of behaviour points, in days: a 25-point visit is worth 12.5 after one. (Default: 30) */
  halfLifeDays: number;
  /** Where the grade's letter and digit change (see `GradeThresholds`). */
  grades: GradeThresholds;
  /** Email/company domains of competitors, for `domainType: [competitor]`; subdomains count. (Default: []) */
  competitorDomains: string[];
  fit: FitRule[];
  behaviour: BehaviourRule[];
  negative: NegativeRule[];
}

/** What every rule has. `id` is unique in the model and stable across edits: scores and explanations refer to it. */
export interface RuleBase {
  id: string;
  /** Shown in explanations. (Default: the id) */
  label: string;
  points: number;
}

/** Points for who the lead is, while the lead matches (re-evaluated on every change; never decays). */
export interface FitRule extends RuleBase {
  when: Conditions;
}

/** "At least `atLeast` matching activities within `withinDays` days" (no `withinDays`: ever). */
export interface Frequency {
  atLeast: number;
  withinDays?: number;
}

/**
 * When an activity earns a rule's points. Without `frequency` every matching activity fires
 * the rule; with it, the rule fires when the count is reached and the activities that reached
 * it are used up (so "3 within 7 days" pays once per 3 visits, not on the 3rd, 4th and 5th).
 */
export interface ActivityTrigger {
  /** Activity type (`page_view`, `webinar_attended`…; see `scoringActivityTypes`). */
  type: string;
  /** Tests on the activity's properties (`url: { matches: ['/pricing*'] }`). */
  where?: Conditions;
  frequency?: Frequency;
  /** Fire at most once in the lead's life, at the earliest time it could. (Default: false) */
  once?: boolean;
  /**
   * Most points the rule may hold at once (positive, also for negative rules). Applied when points
   * are awarded, against what the rule holds then (after decay): a repeat visit tops the rule up
   * to the cap instead of piling up, and the behaviour total stays one exponential.
   */
  cap?: number;
}

/** Points (> 0) for what the lead did; they halve every `halfLifeDays`. */
export interface BehaviourRule extends RuleBase, ActivityTrigger {}

/** Negative points (< 0) for who the lead is (student title, competitor domain…), while they match. */
export interface ProfileNegativeRule extends RuleBase {
  when: Conditions;
}

/** Negative points (< 0) for an activity (unsubscribed, bounced…). They do not decay. */
export interface ActivityNegativeRule extends RuleBase, ActivityTrigger {}

export type NegativeRule = ProfileNegativeRule | ActivityNegativeRule;

export function isProfileRule(rule: NegativeRule): rule is ProfileNegativeRule {
  return 'when' in rule;
}

/**
 * Grade = fit letter × engagement digit, "A1" best, "D4" worst. The letter comes from the fit
 * points plus the profile negatives (a competitor with a perfect title is not an A); the digit
 * from the behaviour points now. Each threshold is the least points for that grade.
 */
export interface GradeThresholds {
  /** Below C is D. (Default: A 40, B 25, C 10 — the default model's fit rules total 50) */
  fit: { A: number; B: number; C: number };
  /** Below 3 is 4. (Default: 1 at 40, 2 at 20, 3 at 5) */
  engagement: { '1': number; '2': number; '3': number };
}

/** What scoring needs of an activity (a timeline entry). Times are epoch milliseconds. */
export interface Activity {
  id: string;
  type: string;
  occurredAt: number;
  properties: Record<string, unknown>;
}

/** The clamp of the total score. */
export const MIN_SCORE = 0;
export const MAX_SCORE = 100;

export const DEFAULT_HALF_LIFE_DAYS = 30;
/** Shortest half-life, in days (2.4 hours): shorter would make behaviour points meaningless. */
export const MIN_HALF_LIFE_DAYS = 0.1;
/** Longest half-life, in days (10 years): "no decay" in practice. */
export const MAX_HALF_LIFE_DAYS = 3650;

/**
 * Activity types a rule may name: what clients send (`eventTypes`, unsubscribes, bounces and
 * spam complaints among them). A rule naming anything else would never fire, so it is refused
 * as a typo.
 */
export const scoringActivityTypes: readonly string[] = eventTypes;

export const defaultGrades: GradeThresholds = {
  fit: { A: 40, B: 25, C: 10 },
  engagement: { '1': 40, '2': 20, '3': 5 },
};

/** Seniority words for job-title rules (whole words, any case). */
export const seniorTitlePatterns = [
  'chief',
  'ceo',
  'cto',
  'cfo',
  'coo',
  'cmo',
  'cio',
  'cro',
  'founder',
  'owner',
  'president',
  'vp',
  'svp',
  'evp',
  'director',
  'head',
];

/**
 * The published example, rule for rule: job title +10, company size +15, industry +20,
 * location +5; content download +5, pricing page visit +25, webinar attended +15, opened 5 or
 * more emails +10. Caps (our addition) keep repeats from piling up; none binds in the example.
 */
export const defaultModel: ScoringModel = {
  halfLifeDays: DEFAULT_HALF_LIFE_DAYS,
  grades: defaultGrades,
  competitorDomains: [],
  fit: [
    {
      id: 'senior-title',
      label: 'Job title: senior decision maker',
      points: 10,
      when: { jobTitle: { matches: seniorTitlePatterns } },
    },
    {
      id: 'company-size',
      label: 'Company size 50–1000',
      points: 15,
      when: { companySize: { min: 50, max: 1000 } },
    },
    {
      id: 'target-industry',
      label: 'Industry: software and internet',
      points: 20,
      when: { industry: { matches: ['software', 'saas', 'internet', 'information technology'] } },
    },
    {
      id: 'target-location',
      label: 'Location: North America or EMEA',
      points: 5,
      when: { country: { region: ['NA', 'EMEA'] } },
    },
  ],
  behaviour: [
    { id: 'content-download', label: 'Content download', points: 5, type: 'content_downloaded', cap: 15 },
    {
      id: 'pricing-visit',
      label: 'Pricing page visit',
      points: 25,
      type: 'page_view',
      where: { url: { matches: ['/pricing*'] } },
      cap: 50,
    },
    { id: 'webinar-attended', label: 'Webinar attended', points: 15, type: 'webinar_attended', cap: 30 },
    {
      id: 'email-opens',
      label: 'Opened 5 or more emails',
      points: 10,
      type: 'email_opened',
      frequency: { atLeast: 5 },
      once: true,
    },
  ],
  negative: [],
};
