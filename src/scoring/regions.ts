/**
 * Sales regions by ISO 3166-1 alpha-2 country code, for fit rules such as "country in EMEA".
 * Leads store `country` as an upper-case alpha-2 code (see `normaliseCountry`).
 *
 * The four macro regions (NA, LATAM, EMEA, APAC) partition the world the way most sales teams
 * split territories: every code belongs to exactly one of them (Antarctica, AQ, to none).
 * Border choices, stated once: Puerto Rico and the US Virgin Islands count as NA (US sales
 * territory); the Pacific US territories (GU, AS, MP) as APAC; Central Asia (KZ, KG, TJ, TM, UZ)
 * as EMEA with Russia; Afghanistan and Pakistan as APAC; Greenland as EMEA (Denmark).
 *
 * The smaller regions (EU, DACH, NORDICS, UKI, ANZ, MENA) overlap the macro ones and are there
 * because ideal-customer profiles are often written that way. Region names live in their own
 * namespace: `region: [NA]` is North America, `in: [NA]` on `country` is Namibia.
 */
export const regions = [
  'NA',
  'LATAM',
  'EMEA',
  'APAC',
  'EU',
  'DACH',
  'NORDICS',
  'UKI',
  'ANZ',
  'MENA',
] as const;
export type Region = (typeof regions)[number];

/** The four regions that together cover every country once. */
export const macroRegions = ['NA', 'LATAM', 'EMEA', 'APAC'] as const satisfies readonly Region[];

const words = (text: string): string[] => text.trim().split(/\s+/);

const members: Record<Region, readonly string[]> = {
  NA: words('US CA PM BM UM PR VI'),
  LATAM: words(`
    MX GT BZ SV HN NI CR PA CU DO HT JM BS BB TT AG DM GD KN LC VC AI AW BQ CW SX KY TC VG MS GP MQ
    BL MF CO VE EC PE BO BR PY UY AR CL GY SR GF FK GS`),
  EMEA: words(`
    AD AL AT AX BA BE BG BY CH CY CZ DE DK EE ES FI FO FR GB GG GI GL GR HR HU IE IM IS IT JE LI LT
    LU LV MC MD ME MK MT NL NO PL PT RO RS RU SE SI SJ SK SM UA VA XK BV
    AE AM AZ BH GE IL IQ IR JO KW LB OM PS QA SA SY TR YE
    KZ KG TJ TM UZ
    DZ AO BJ BW BF BI CV CM CF TD KM CG CD CI DJ EG GQ ER SZ ET GA GM GH GN GW KE LS LR LY MG MW ML
    MR MU YT MA MZ NA NE NG RE RW SH ST SN SC SL SO ZA SS SD TZ TG TN UG EH ZM ZW TF`),
  APAC: words(`
    CN HK MO TW JP KR KP MN IN PK BD LK NP BT MV AF MM TH LA KH VN MY SG ID BN PH TL AU NZ PG FJ SB
    VU NC PF WS TO KI TV NR FM MH PW CK NU TK WF PN NF CX CC HM GU AS MP IO`),
  EU: words('AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE'),
  DACH: words('DE AT CH'),
  NORDICS: words('DK FI IS NO SE FO AX GL'),
  UKI: words('GB IE IM JE GG'),
  ANZ: words('AU NZ'),
  MENA: words('AE BH DZ EG IL IQ IR JO KW LB LY MA OM PS QA SA SY TN YE'),
};

const byCountry = new Map<string, Region[]>();
for (const region of regions) {
  for (const code of members[region]) byCountry.set(code, [...(byCountry.get(code) ?? []), region]);
}

export function isRegion(value: string): value is Region {
  return (regions as readonly string[]).includes(value);
}

/** The regions a country belongs to (any case accepted); empty for an unknown code. */
export function regionsOf(country: string): readonly Region[] {
  return byCountry.get(country.trim().toUpperCase()) ?? [];
}

/** The countries of one region (upper-case alpha-2 codes). */
export function countriesIn(region: Region): readonly string[] {
  return members[region];
}
