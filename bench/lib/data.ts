import { Random } from './random.ts';

/**
 * Realistic generated leads, companies and events for the benchmarks: names, company domains,
 * job titles, countries, phone numbers valid for their country, UTM sources and the events a
 * B2B site records. Deterministic for a seed; no dependency.
 */

/** `'a|b|c'` -> `['a', 'b', 'c']`: keeps long word lists compact. */
function words(list: string): readonly string[] {
  return list.split('|');
}

const firstNames = words(
  'James|Mary|Robert|Patricia|John|Jennifer|Michael|Linda|David|Elizabeth|William|Barbara|' +
    'Richard|Susan|Joseph|Jessica|Thomas|Sarah|Charles|Karen|Christopher|Lisa|Daniel|Nancy|' +
    'Matthew|Sandra|Anthony|Ashley|Mark|Emily|Olivia|Liam|Emma|Noah|Amelia|Oliver|Sophia|Lucas|' +
    'Mia|Ethan|Chloé|Léa|Hugo|Louis|Manon|Jonas|Lena|Lukas|Anna|Felix|Sofia|Mateo|Lucía|' +
    'Martina|Alejandro|Giulia|Francesco|Alessandro|Chiara|João|Ana|Pedro|Sven|Ingrid|Lars|' +
    'Freya|Aarav|Priya|Rohan|Ananya|Wei|Li|Hiroshi|Yuki|Min-jun|Ji-woo|Oluwaseun|Chidi|Amara|' +
    'Fatima|Omar|Layla|Mohammed|Zeynep|Emre|Olga|Dmitri|Katarzyna|Piotr|Siobhan|Declan|Niamh|' +
    'Aoife|Kwame|Thabo|Isabela',
);

const lastNames = words(
  'Smith|Johnson|Williams|Brown|Jones|Garcia|Miller|Davis|Rodriguez|Martinez|Hernandez|Lopez|' +
    'Gonzalez|Wilson|Anderson|Thomas|Taylor|Moore|Jackson|Martin|Lee|Perez|Thompson|White|' +
    'Harris|Sanchez|Clark|Ramirez|Lewis|Robinson|Walker|Young|Allen|King|Wright|Scott|Torres|' +
    'Nguyen|Hill|Flores|Green|Adams|Müller|Schmidt|Schneider|Fischer|Weber|Meyer|Wagner|Becker|' +
    'Dubois|Durand|Lefèvre|Moreau|Laurent|Rossi|Russo|Ferrari|Esposito|Bianchi|Silva|Santos|' +
    'Oliveira|Costa|Jansen|de Vries|van Dijk|Andersson|Johansson|Nilsson|Hansen|Nowak|Kowalski|' +
    "Wiśniewski|Ivanov|Petrov|O'Brien|Murphy|Kelly|Patel|Shah|Sharma|Gupta|Singh|Wang|Zhang|" +
    'Chen|Liu|Sato|Suzuki|Takahashi|Kim|Park|Choi|Okafor|Adeyemi|Mensah|Haddad|Yilmaz|Kaya|' +
    'Cohen|Levi',
);

const companyStems = words(
  'North|Blue|Bright|Iron|Silver|Cloud|Data|Quantum|Green|Red|Stone|River|Summit|Peak|Harbor|' +
    'Pine|Oak|Falcon|Orbit|Vertex|Nimbus|Atlas|Beacon|Cobalt|Delta|Ember|Fjord|Granite|Helix|' +
    'Indigo|Juniper|Keystone|Lumen|Meridian|Nova|Onyx|Prism|Quartz|Sierra|Tidal|Umbra|Vector|' +
    'Willow|Zenith|Acme|Apex|Bolt',
);
const companyTails = words(
  'wind|peak|stack|forge|works|labs|ware|line|bridge|point|field|gate|logic|sense|flow|path|' +
    'shift|scale|base|mark|wave|grid|hub|loop',
);
const companySuffixes: readonly (readonly [string, number])[] = [
  ['', 30],
  [' Inc.', 14],
  [' Ltd', 8],
  [' GmbH', 6],
  [' LLC', 8],
  [' Technologies', 6],
  [' Software', 6],
  [' Systems', 5],
  [' Group', 4],
  [', Inc.', 4],
  [' SAS', 3],
  [' B.V.', 2],
  [' AB', 2],
  [' & Co.', 2],
];
const tlds: readonly (readonly [string, number])[] = [
  ['com', 60],
  ['io', 12],
  ['co', 5],
  ['ai', 4],
  ['de', 5],
  ['co.uk', 4],
  ['fr', 3],
  ['nl', 2],
  ['net', 3],
  ['app', 2],
];

const industries = words(
  'Computer Software|Information Technology and Services|Financial Services|' +
    'Marketing and Advertising|Hospital & Health Care|Retail|Higher Education|' +
    'Telecommunications|Real Estate|Insurance|Manufacturing|Logistics and Supply Chain|' +
    'Management Consulting|E-Learning|Biotechnology|Automotive|Construction|Hospitality|' +
    'Media Production|Nonprofit Organization Management',
);

const jobTitles: readonly (readonly [string, number])[] = [
  ['Marketing Manager', 8],
  ['VP of Marketing', 4],
  ['Chief Marketing Officer', 2],
  ['Head of Growth', 3],
  ['Demand Generation Manager', 4],
  ['Marketing Operations Manager', 3],
  ['Content Marketing Specialist', 3],
  ['Sales Director', 4],
  ['VP of Sales', 3],
  ['Account Executive', 6],
  ['Sales Development Representative', 5],
  ['Chief Executive Officer', 3],
  ['Founder', 3],
  ['Co-Founder & CTO', 2],
  ['Chief Technology Officer', 2],
  ['Software Engineer', 6],
  ['Senior Software Engineer', 4],
  ['Engineering Manager', 3],
  ['Product Manager', 5],
  ['Data Analyst', 3],
  ['Operations Manager', 3],
  ['IT Director', 2],
  ['Customer Success Manager', 3],
  ['Revenue Operations Lead', 2],
  ['Student', 2],
  ['Consultant', 3],
  ['Office Manager', 1],
  ['Intern', 1],
];

/** Countries with their weight, the spellings a CSV may carry, and phone formats valid there. */
interface CountryInfo {
  code: string;
  names: readonly string[];
  weight: number;
  cities: readonly string[];
  phone: (r: Random) => string;
}

const usAreas = words('212|415|646|312|617|206|512|303|404|213|718|917');
const countries: readonly CountryInfo[] = [
  {
    code: 'US',
    names: ['United States', 'USA', 'US', 'United States of America', 'U.S.A.'],
    weight: 40,
    cities: ['New York', 'San Francisco', 'Austin', 'Chicago', 'Boston', 'Seattle', 'Denver', 'Atlanta'],
    phone: (r) => {
      const area = r.pick(usAreas);
      const exchange = `${r.int(2, 9)}${r.int(0, 9)}${r.int(2, 9)}`;
      const line = r.digits(4);
      return r.pick([
        `+1 ${area} ${exchange} ${line}`,
        `+1 (${area}) ${exchange}-${line}`,
        `+1${area}${exchange}${line}`,
      ]);
    },
  },
  {
    code: 'GB',
    names: ['United Kingdom', 'UK', 'GB', 'Great Britain', 'England'],
    weight: 12,
    cities: ['London', 'Manchester', 'Edinburgh', 'Bristol', 'Leeds'],
    phone: (r) =>
      r.pick([
        `+44 20 7${r.digits(3)} ${r.digits(4)}`,
        `+44 7${r.pick(['4', '5', '8'])}${r.digits(2)} ${r.digits(6)}`,
      ]),
  },
  {
    code: 'DE',
    names: ['Germany', 'Deutschland', 'DE'],
    weight: 9,
    cities: ['Berlin', 'Munich', 'Hamburg', 'Cologne', 'Frankfurt'],
    phone: (r) => r.pick([`+49 30 ${r.digits(8)}`, `+49 89 ${r.digits(7)}`, `+49 151 ${r.digits(8)}`]),
  },
  {
    code: 'FR',
    names: ['France', 'FR'],
    weight: 7,
    cities: ['Paris', 'Lyon', 'Marseille', 'Toulouse', 'Lille'],
    phone: (r) =>
      `+33 ${r.pick(['1', '6', '6'])} ${r.pick(['1', '2', '4', '5', '6', '7'])}${r.digits(1)} ${r.digits(2)} ${r.digits(2)} ${r.digits(2)}`,
  },
  {
    code: 'NL',
    names: ['Netherlands', 'The Netherlands', 'Holland', 'NL'],
    weight: 4,
    cities: ['Amsterdam', 'Rotterdam', 'Utrecht'],
    phone: (r) => `+31 6 ${r.int(1, 5)}${r.digits(7)}`,
  },
  {
    code: 'CA',
    names: ['Canada', 'CA'],
    weight: 6,
    cities: ['Toronto', 'Vancouver', 'Montreal'],
    phone: (r) =>
      `+1 ${r.pick(['416', '604', '514'])} ${r.int(2, 9)}${r.int(0, 9)}${r.int(2, 9)} ${r.digits(4)}`,
  },
  {
    code: 'AU',
    names: ['Australia', 'AU'],
    weight: 4,
    cities: ['Sydney', 'Melbourne', 'Brisbane'],
    phone: (r) => `+61 4${r.pick(['0', '1', '2', '3'])}${r.digits(1)} ${r.digits(3)} ${r.digits(3)}`,
  },
  {
    code: 'IN',
    names: ['India', 'IN'],
    weight: 7,
    cities: ['Bengaluru', 'Mumbai', 'Pune', 'Hyderabad', 'Delhi'],
    phone: (r) => `+91 9${r.digits(4)} ${r.digits(5)}`,
  },
  {
    code: 'ES',
    names: ['Spain', 'España', 'ES'],
    weight: 4,
    cities: ['Madrid', 'Barcelona', 'Valencia'],
    phone: (r) => `+34 6${r.digits(2)} ${r.digits(3)} ${r.digits(3)}`,
  },
  {
    code: 'BR',
    names: ['Brazil', 'Brasil', 'BR'],
    weight: 4,
    cities: ['São Paulo', 'Rio de Janeiro', 'Belo Horizonte'],
    phone: (r) => `+55 11 9${r.digits(4)}-${r.digits(4)}`,
  },
  {
    code: 'SE',
    names: ['Sweden', 'Sverige', 'SE'],
    weight: 3,
    cities: ['Stockholm', 'Gothenburg', 'Malmö'],
    phone: (r) => `+46 70 ${r.digits(3)} ${r.digits(2)} ${r.digits(2)}`,
  },
];
const countryTable = countries.map((c) => [c, c.weight] as const);

const freeMail: readonly (readonly [string, number])[] = [
  ['gmail.com', 60],
  ['outlook.com', 12],
  ['yahoo.com', 12],
  ['hotmail.com', 8],
  ['icloud.com', 5],
  ['proton.me', 3],
];

/** A UTM source with its medium, and the channel a marketer would expect. */
const utmSources: readonly (readonly [{ source: string; medium: string }, number])[] = [
  [{ source: 'google', medium: 'cpc' }, 20],
  [{ source: 'google', medium: 'organic' }, 18],
  [{ source: 'linkedin', medium: 'paid_social' }, 10],
  [{ source: 'linkedin', medium: 'social' }, 6],
  [{ source: 'facebook', medium: 'paid_social' }, 5],
  [{ source: 'twitter', medium: 'social' }, 3],
  [{ source: 'newsletter', medium: 'email' }, 10],
  [{ source: 'bing', medium: 'cpc' }, 4],
  [{ source: 'g2', medium: 'referral' }, 5],
  [{ source: 'capterra', medium: 'referral' }, 4],
  [{ source: 'partner', medium: 'referral' }, 3],
  [{ source: 'webinar', medium: 'event' }, 4],
];
const campaigns = words(
  'q3-launch|spring-webinar-series|brand-search|competitor-keywords|retargeting-30d|' +
    'ebook-state-of-b2b|product-hunt|newsletter-weekly|free-trial-push|black-friday',
);
const sitePages: readonly (readonly [{ path: string; title: string }, number])[] = [
  [{ path: '/', title: 'Leadline — capture, score and route leads' }, 20],
  [{ path: '/pricing', title: 'Pricing — Leadline' }, 10],
  [{ path: '/features/scoring', title: 'Lead scoring — Leadline' }, 8],
  [{ path: '/features/routing', title: 'Lead routing — Leadline' }, 6],
  [{ path: '/features/forms', title: 'Forms and landing pages — Leadline' }, 5],
  [{ path: '/blog/lead-scoring-models', title: 'Five lead scoring models that work' }, 8],
  [{ path: '/blog/mql-vs-sql', title: 'MQL vs SQL: where to draw the line' }, 7],
  [{ path: '/blog/speed-to-lead', title: 'Speed to lead: why 5 minutes matter' }, 6],
  [{ path: '/customers', title: 'Customer stories — Leadline' }, 4],
  [{ path: '/docs/api', title: 'API reference — Leadline docs' }, 5],
  [{ path: '/integrations/hubspot', title: 'HubSpot integration — Leadline' }, 3],
  [{ path: '/contact-sales', title: 'Talk to sales — Leadline' }, 2],
];
const assets = words(
  'ebook-state-of-b2b-2026.pdf|whitepaper-lead-scoring.pdf|template-sla-matrix.xlsx|' +
    'checklist-gdpr-marketing.pdf|case-study-northwind.pdf|report-speed-to-lead.pdf',
);
const webinars = words('scoring-101|routing-at-scale|nurture-that-converts|attribution-without-tears');
const emailSubjects = words(
  'Your weekly lead digest|New: predictive scoring|3 ways to respond faster|' +
    'Your trial ends soon|Invitation: live demo Thursday|The 2026 State of B2B report',
);

export interface Company {
  name: string;
  domain: string;
  industry: string;
  size: number;
  country: CountryInfo;
}

/** A generated person: the facts every output format (API input, CSV row) is derived from. */
export interface Person {
  firstName: string;
  lastName: string;
  email: string;
  phone: string | undefined;
  company: Company;
  jobTitle: string;
  country: CountryInfo;
  city: string;
  utm: { source: string; medium: string; campaign: string };
  /** Epoch ms. */
  createdAt: number;
}

function asciiSlug(value: string): string {
  return value
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/ø/g, 'o')
    .replace(/ł/g, 'l')
    .replace(/[^a-z0-9]+/g, '');
}

export function makeCompanies(r: Random, count: number): Company[] {
  const out: Company[] = [];
  const seen = new Set<string>();
  while (out.length < count) {
    const stem = r.pick(companyStems) + r.pick(companyTails);
    const tld = r.weighted(tlds);
    let domain = `${stem.toLowerCase()}.${tld}`;
    for (let n = 2; seen.has(domain); n++) domain = `${stem.toLowerCase()}${n}.${tld}`;
    seen.add(domain);
    out.push({
      name: stem + r.weighted(companySuffixes),
      domain,
      industry: r.pick(industries),
      size: r.weighted([
        [r.int(1, 10), 20],
        [r.int(11, 50), 30],
        [r.int(51, 200), 25],
        [r.int(201, 1000), 15],
        [r.int(1001, 10000), 8],
        [r.int(10001, 200000), 2],
      ]),
      country: r.weighted(countryTable),
    });
  }
  return out;
}

/**
 * Generates `count` people with distinct emails. About 20% use a free-mail address; the others
 * work at one of `companies` (skewed: a few big accounts, a long tail).
 */
export class PersonGenerator {
  readonly #r: Random;
  readonly #companies: Company[];
  readonly #emails = new Set<string>();
  readonly #start: number;

  /** @param start epoch ms of the earliest create date (people spread over the next year). */
  constructor(seed: number, companyCount = 3000, start = Date.UTC(2025, 0, 1)) {
    this.#r = new Random(seed);
    this.#companies = makeCompanies(this.#r, companyCount);
    this.#start = start;
  }

  next(): Person {
    const r = this.#r;
    const firstName = r.pick(firstNames);
    const lastName = r.pick(lastNames);
    const company = this.#companies[r.skewedIndex(this.#companies.length)]!;
    const country = r.chance(0.8) ? company.country : r.weighted(countryTable);
    const domain = r.chance(0.2) ? r.weighted(freeMail) : company.domain;
    const f = asciiSlug(firstName);
    const l = asciiSlug(lastName);
    const local = r.weighted([
      [`${f}.${l}`, 50],
      [`${f[0]}${l}`, 20],
      [f, 10],
      [`${f}_${l}`, 10],
      [`${f}.${l}${r.int(1, 99)}`, 10],
    ]);
    let email = `${local}@${domain}`;
    for (let n = 2; this.#emails.has(email); n++) email = `${local}${n}@${domain}`;
    this.#emails.add(email);
    const utm = r.weighted(utmSources);
    return {
      firstName,
      lastName,
      email,
      phone: r.chance(0.6) ? country.phone(r) : undefined,
      company,
      jobTitle: r.weighted(jobTitles),
      country,
      city: r.pick(country.cities),
      utm: { ...utm, campaign: r.pick(campaigns) },
      createdAt: this.#start + r.int(0, 365 * 24 * 3600 * 1000),
    };
  }

  get random(): Random {
    return this.#r;
  }
}

/** The body of `POST /api/v1/leads` for a person (a realistic form/API capture). */
export function leadInput(p: Person, r: Random): Record<string, unknown> {
  const input: Record<string, unknown> = {
    email: p.email,
    firstName: p.firstName,
    lastName: p.lastName,
    company: p.company.name,
    jobTitle: p.jobTitle,
    country: p.country.code,
    city: p.city,
    utm: p.utm,
    landingPage: `https://www.leadline.example${r.weighted(sitePages).path}?utm_source=${p.utm.source}`,
  };
  if (p.phone) input.phone = p.phone;
  if (r.chance(0.5)) input.companySize = p.company.size;
  if (r.chance(0.5)) input.industry = p.company.industry;
  if (r.chance(0.3)) input.website = `https://www.${p.company.domain}`;
  if (r.chance(0.4))
    input.properties = { newsletter: r.chance(0.5), employees_band: sizeBand(p.company.size) };
  return input;
}

export function sizeBand(size: number): string {
  if (size <= 10) return '1-10';
  if (size <= 50) return '11-50';
  if (size <= 200) return '51-200';
  if (size <= 1000) return '201-1000';
  if (size <= 10000) return '1001-10000';
  return '10001+';
}

// ---------------------------------------------------------------------------------------------
// Events

export const eventTypes = [
  'page_view',
  'email_opened',
  'email_clicked',
  'content_downloaded',
  'pricing_viewed',
  'webinar_registered',
  'webinar_attended',
  'form_submitted',
  'demo_requested',
  'trial_started',
] as const;
export type EventType = (typeof eventTypes)[number];

const eventWeights: readonly (readonly [EventType, number])[] = [
  ['page_view', 50],
  ['email_opened', 14],
  ['email_clicked', 6],
  ['content_downloaded', 8],
  ['pricing_viewed', 8],
  ['webinar_registered', 3],
  ['webinar_attended', 3],
  ['form_submitted', 5],
  ['demo_requested', 1.5],
  ['trial_started', 1.5],
];

export interface GeneratedEvent {
  type: EventType;
  /** Epoch ms. */
  occurredAt: number;
  properties: Record<string, string | number | boolean>;
}

/** One event as a B2B site and email tool would record it. */
export function makeEvent(r: Random, occurredAt: number): GeneratedEvent {
  const type = r.weighted(eventWeights);
  const site = 'https://www.leadline.example';
  let properties: Record<string, string | number | boolean>;
  switch (type) {
    case 'page_view': {
      const page = r.weighted(sitePages);
      properties = { url: `${site}${page.path}`, title: page.title };
      if (r.chance(0.3))
        properties.referrer = r.pick([
          'https://www.google.com/',
          'https://www.linkedin.com/',
          'https://news.ycombinator.com/',
        ]);
      break;
    }
    case 'email_opened':
      properties = { campaign: r.pick(campaigns), subject: r.pick(emailSubjects) };
      break;
    case 'email_clicked':
      properties = { campaign: r.pick(campaigns), url: `${site}${r.weighted(sitePages).path}` };
      break;
    case 'content_downloaded':
      properties = { asset: r.pick(assets), url: `${site}/resources` };
      break;
    case 'pricing_viewed':
      properties = {
        url: `${site}/pricing`,
        plan: r.pick(['starter', 'growth', 'enterprise']),
        annual: r.chance(0.6),
      };
      break;
    case 'webinar_registered':
    case 'webinar_attended':
      properties = { webinar: r.pick(webinars) };
      if (type === 'webinar_attended') properties.minutes = r.int(5, 60);
      break;
    case 'form_submitted':
      properties = { form: r.pick(['newsletter', 'contact-sales', 'ebook-download', 'webinar-signup']) };
      break;
    case 'demo_requested':
      properties = { form: 'contact-sales', seats: r.int(1, 200) };
      break;
    case 'trial_started':
      properties = { plan: r.pick(['starter', 'growth']) };
      break;
  }
  return { type, occurredAt, properties };
}

// ---------------------------------------------------------------------------------------------
// HubSpot-style CSV export

export const hubspotColumns = [
  'First Name',
  'Last Name',
  'Email',
  'Phone Number',
  'Company Name',
  'Job Title',
  'Lead Source',
  'Lifecycle Stage',
  'Lead Status',
  'Country/Region',
  'Create Date',
  'Original Source',
  'Number of Employees',
  'Industry',
] as const;

const lifecycleStages: readonly (readonly [string, number])[] = [
  ['Subscriber', 25],
  ['Lead', 40],
  ['Marketing Qualified Lead', 15],
  ['Sales Qualified Lead', 8],
  ['Opportunity', 5],
  ['Customer', 5],
  ['Other', 2],
];
const leadStatuses = words(
  'New|Open|In Progress|Open Deal|Unqualified|Attempted to Contact|Connected|Bad Timing|',
);
const originalSources: Record<string, string> = {
  cpc: 'Paid Search',
  organic: 'Organic Search',
  paid_social: 'Paid Social',
  social: 'Social Media',
  email: 'Email Marketing',
  referral: 'Referrals',
  event: 'Offline Sources',
};
const leadSources = words(
  'Website|Webinar|Trade Show|Partner|Content Download|Contact Us Form|Cold Outreach|',
);

/** HubSpot's export date format: `2025-03-14 09:21`. */
function hubspotDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 16).replace('T', ' ');
}

export type CsvRowKind = 'good' | 'duplicate' | 'bad';

/**
 * One row of a HubSpot contacts export. About 5% of rows are bad on purpose (invalid or missing
 * email and phone, impossible country, malformed phone), the way real exports are.
 */
export function hubspotRow(p: Person, r: Random, kind: CsvRowKind): string[] {
  const row = [
    p.firstName,
    p.lastName,
    r.chance(0.05) ? p.email.toUpperCase() : p.email,
    p.phone ?? '',
    p.company.name,
    p.jobTitle,
    r.pick(leadSources),
    r.weighted(lifecycleStages),
    r.pick(leadStatuses),
    r.chance(0.9) ? r.pick(p.country.names) : '',
    hubspotDate(p.createdAt),
    originalSources[p.utm.medium] ?? 'Direct Traffic',
    r.chance(0.7) ? String(p.company.size) : '',
    r.chance(0.8) ? p.company.industry : '',
  ];
  if (kind === 'bad') {
    switch (r.int(0, 4)) {
      case 0: // a broken email, no phone
        row[2] = r.pick([
          `${p.firstName.toLowerCase()}@`,
          'n/a',
          `${p.lastName}.at.${p.company.domain}`,
          `${p.email} ${p.email}`,
        ]);
        row[3] = '';
        break;
      case 1: // no way to reach the person at all
        row[2] = '';
        row[3] = '';
        break;
      case 2: // a phone that cannot exist
        row[3] = r.pick(['12345', '+1 000 000 0000', 'call me', '+44 12']);
        break;
      case 3: // a country that does not exist
        row[9] = r.pick(['Atlantis', 'Narnia', 'Earth', 'Europe']);
        break;
      default: // an email with spaces inside
        row[2] = p.email.replace('@', ' @ ');
        break;
    }
  }
  return row;
}

/** RFC 4180 quoting for one field. */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

export interface ExportRow {
  kind: CsvRowKind;
  person: Person;
  row: string[];
}

/**
 * The rows of a HubSpot contacts export, deterministic for `seed`: ~93% new people, ~2%
 * repeats of a recent good row's person (the same email with a new title: an update), ~5% bad rows.
 */
export function* hubspotExport(seed: number, count: number): Generator<ExportRow> {
  const people = new PersonGenerator(seed);
  const r = people.random;
  const recent: Person[] = [];
  for (let i = 0; i < count; i++) {
    const x = r.float();
    const kind: CsvRowKind = x < 0.05 ? 'bad' : x < 0.07 && recent.length > 0 ? 'duplicate' : 'good';
    let person: Person;
    if (kind === 'duplicate') {
      person = { ...r.pick(recent), jobTitle: r.weighted(jobTitles) };
    } else {
      person = people.next();
      // Only people whose row is good come back: a repeat is then always an update.
      if (kind === 'good') {
        if (recent.length < 5000) recent.push(person);
        else recent[r.int(0, recent.length - 1)] = person;
      }
    }
    yield { kind, person, row: hubspotRow(person, r, kind) };
  }
}

/** The lead-capture form of a good export row, for the raw-insert limit (the fields a mapping would keep). */
export function exportRowInput(row: readonly string[]): Record<string, unknown> {
  const [firstName, lastName, email, phone, company, jobTitle, , , , country, , source, employees, industry] =
    row;
  const input: Record<string, unknown> = { firstName, lastName, email, company, jobTitle, source };
  if (phone) input.phone = phone;
  if (country) input.country = country;
  if (employees) input.companySize = Number(employees);
  if (industry) input.industry = industry;
  return input;
}
