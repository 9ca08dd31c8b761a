/**
 * Row types of every table, as the database stores them. They stay inside the `store.ts`
 * files; services and routes see domain types. Times are epoch milliseconds; JSON columns are
 * text on SQLite and jsonb on PostgreSQL (read them through `parseJson`); booleans are 0/1.
 */
export interface WorkspaceRow {
  id: string;
  slug: string;
  name: string;
  settings: unknown;
  created_at: number;
}

export interface ApiKeyRow {
  workspace_id: string;
  id: string;
  name: string;
  scope: string;
  key_hash: string;
  key_prefix: string;
  created_at: number;
  last_used_at: number | null;
  revoked_at: number | null;
}

export interface LeadRow {
  workspace_id: string;
  id: string;
  email: string | null;
  phone: string | null;
  first_name: string | null;
  last_name: string | null;
  company: string | null;
  company_domain: string | null;
  job_title: string | null;
  company_size: number | null;
  industry: string | null;
  country: string | null;
  city: string | null;
  website: string | null;
  email_disposable: number;
  source: string | null;
  channel: string | null;
  first_touch: unknown;
  last_touch: unknown;
  properties: unknown;
  stage: string;
  owner_id: string | null;
  /** Lower-cased name, email and company: what `q` searches. */
  search_text: string;
  archived_at: number | null;
  merged_into_id: string | null;
  created_at: number;
  updated_at: number;
  score_model_version: number | null;
  fit_score: number;
  profile_negative: number;
  activity_negative: number;
  /** Behaviour points in the log domain: k = log2(B) + t/h (src/scoring/decay.ts); null = none. */
  behaviour_k: number | null;
  half_life_days: number;
  last_high_intent_at: number | null;
  temperature: string;
  temperature_changes_at: number | null;
  pql: number;
  service_qualified: number;
  stage_changed_at: number | null;
  /** 1 after a person moved the lead backwards: score rules wait for a new crossing. */
  stage_hold: number;
  /** When a person last cleared `pql`: activities before it do not set it again. */
  pql_cleared_at: number | null;
  /** The same for `service_qualified`. */
  service_qualified_cleared_at: number | null;
  opportunity: unknown;
  qualification: unknown;
  /** The per-rule scoring state (src/scoring/engine.ts ScoreState); null: none yet. */
  score_state: unknown;
}

export interface ScoringModelRow {
  workspace_id: string;
  version: number;
  model: unknown;
  created_by: string;
  created_at: number;
}

export interface StageChangeRow {
  workspace_id: string;
  id: string;
  lead_id: string;
  from_stage: string | null;
  to_stage: string;
  at: number;
  cause_kind: string;
  cause: unknown;
}

export interface ActivityRow {
  workspace_id: string;
  id: string;
  lead_id: string;
  type: string;
  occurred_at: number;
  properties: unknown;
  created_at: number;
}

export interface AnonymousActivityRow {
  workspace_id: string;
  id: string;
  anonymous_id: string;
  type: string;
  occurred_at: number;
  properties: unknown;
  created_at: number;
  expires_at: number;
}

export interface AnonymousIdentityRow {
  workspace_id: string;
  anonymous_id: string;
  lead_id: string;
  created_at: number;
}

export interface PropertyDefinitionRow {
  workspace_id: string;
  name: string;
  type: string;
  label: string | null;
  options: unknown;
  created_at: number;
  updated_at: number;
}

export interface IdempotencyKeyRow {
  workspace_id: string;
  key: string;
  fingerprint: string;
  status_code: number;
  response: string;
  created_at: number;
}

export interface JobRow {
  workspace_id: string;
  id: string;
  kind: string;
  payload: unknown;
  key: string | null;
  /** queued | running | done | dead (src/jobs/model.ts) */
  state: string;
  /** Due time of a queued job; lease expiry of a running one. */
  run_at: number;
  attempts: number;
  max_attempts: number;
  last_error: string | null;
  locked_by: string | null;
  created_at: number;
  updated_at: number;
  finished_at: number | null;
}

export interface TaskRow {
  workspace_id: string;
  id: string;
  lead_id: string | null;
  owner_id: string;
  type: string;
  title: string;
  notes: string | null;
  due_at: number;
  /** open | done | cancelled */
  status: string;
  /** api | rule | sequence | sla */
  source: string;
  source_id: string | null;
  outcome: string | null;
  completed_at: number | null;
  snoozes: number;
  created_at: number;
  updated_at: number;
}

export interface SlaPolicyRow {
  workspace_id: string;
  id: string;
  position: number;
  definition: unknown;
  created_at: number;
  updated_at: number;
}

export interface SlaTimerRow {
  workspace_id: string;
  id: string;
  lead_id: string;
  policy_id: string;
  policy_name: string;
  owner_id: string | null;
  trigger: string;
  started_at: number;
  due_at: number;
  warn_at: number | null;
  /** When the warning went out (the warning job's claim); null: not yet, or none. */
  warned_at: number | null;
  /** pending | met | breached | cancelled */
  status: string;
  met_at: number | null;
  met_by: string | null;
  breached_at: number | null;
  /** What the breach did: { notified, reassignedTo } */
  escalation: unknown;
  created_at: number;
}

export interface LeadFirstContactRow {
  workspace_id: string;
  lead_id: string;
  at: number;
  user_id: string | null;
  activity_type: string;
  ms_since_created: number;
}

/** A message kept by the dev mailbox (no SMTP configured); its id is the `email.send` job's. */
export interface MailboxMessageRow {
  workspace_id: string;
  id: string;
  from_address: string;
  /** JSON array of addresses. */
  to_addresses: unknown;
  reply_to: string | null;
  subject: string;
  text_body: string;
  html_body: string | null;
  /** JSON object of extra headers; null: none. */
  headers: unknown;
  created_at: number;
}

export interface AlertRuleRow {
  workspace_id: string;
  id: string;
  name: string;
  enabled: number;
  /** src/alerts/model.ts AlertTrigger */
  trigger: unknown;
  /** src/alerts/model.ts AlertChannel[] */
  channels: unknown;
  fallback_email: string | null;
  created_at: number;
  updated_at: number;
}

export interface AlertSettingsRow {
  workspace_id: string;
  /** When the default alert rules were written for the workspace. */
  defaults_seeded_at: number;
}

/** One alert on one channel (the alerts log). */
export interface AlertRow {
  workspace_id: string;
  id: string;
  /** `alert:{ruleId}:{leadId}:{moment}:{channel index}`: a firing is recorded once. */
  key: string;
  rule_id: string;
  rule_name: string;
  lead_id: string;
  /** src/alerts/model.ts AlertFacts */
  trigger: unknown;
  /** src/alerts/model.ts AlertChannel */
  channel: unknown;
  /** pending | sent | failed | skipped */
  status: string;
  /** Who or where it went: recipient addresses or the webhook URL. */
  target: string | null;
  error: string | null;
  fired_at: number;
  sent_at: number | null;
}

export interface UserRow {
  workspace_id: string;
  id: string;
  name: string;
  email: string;
  role: string;
  timezone: string;
  working_hours: unknown;
  out_of_office: unknown;
  daily_capacity: number | null;
  rolling_capacity: number | null;
  manager_id: string | null;
  active: number;
  created_at: number;
  updated_at: number;
}

export interface TeamRow {
  workspace_id: string;
  id: string;
  name: string;
  created_at: number;
  updated_at: number;
}

export interface TeamMemberRow {
  workspace_id: string;
  team_id: string;
  user_id: string;
  weight: number;
  position: number;
}

export interface RoutingSettingsRow {
  workspace_id: string;
  /** The ordered routing rules (src/routing/model.ts RoutingRule[]). */
  rules: unknown;
  fallback_owner_id: string | null;
  updated_at: number;
}

export interface RoutingTurnRow {
  workspace_id: string;
  pool: string;
  /** Smooth weighted round robin: each member's current weight, by user id. */
  weights: unknown;
  updated_at: number;
}

export interface AssignmentRow {
  workspace_id: string;
  id: string;
  lead_id: string;
  owner_id: string;
  previous_owner_id: string | null;
  cause_kind: string;
  rule_id: string | null;
  at: number;
}

export interface WebhookSubscriptionRow {
  workspace_id: string;
  id: string;
  url: string;
  /** JSON array of event types; ["*"]: all. */
  events: unknown;
  description: string | null;
  /** 0/1 */
  enabled: number;
  secret: string;
  /** The secret before the last rotation, still signing until `previous_secret_until`. */
  previous_secret: string | null;
  previous_secret_until: number | null;
  disabled_reason: string | null;
  disabled_at: number | null;
  last_success_at: number | null;
  /** First failed attempt since the last success; null: healthy. */
  failing_since: number | null;
  consecutive_failures: number;
  created_at: number;
  updated_at: number;
}

export interface WebhookMessageRow {
  workspace_id: string;
  /** The `webhook-id` header. */
  id: string;
  event_type: string;
  lead_id: string | null;
  data: unknown;
  /** The exact JSON sent; null until rendered. */
  body: string | null;
  occurred_at: number;
  created_at: number;
}

export interface WebhookDeliveryRow {
  workspace_id: string;
  id: string;
  subscription_id: string;
  message_id: string;
  event_type: string;
  /** event | replay | test */
  trigger: string;
  attempt: number;
  attempted_at: number;
  /** 0/1 */
  succeeded: number;
  status_code: number | null;
  duration_ms: number;
  error: string | null;
  response: string | null;
  next_retry_at: number | null;
}

export interface LandingPageRow {
  workspace_id: string;
  id: string;
  /** Unique across workspaces: the public address `/l/{slug}`. */
  slug: string;
  name: string;
  /** draft | published | archived */
  status: string;
  /** src/landing/model.ts LandingVariant[] */
  variants: unknown;
  created_at: number;
  updated_at: number;
}

/** A workspace's tracking settings; absent row = the defaults. */
export interface TrackingSettingsRow {
  workspace_id: string;
  /** src/tracking/model.ts UrlRule[] */
  url_rules: unknown;
  /** Origins (`https://acme.com`, `https://*.acme.com`) whose pages may send page views; [] = any. */
  allowed_origins: unknown;
  updated_at: number;
}

/** A form submission held as suspected spam (src/forms/quarantine-*.ts). */
export interface FormQuarantineRow {
  workspace_id: string;
  id: string;
  form_id: string;
  /** The submitted email, for the review list; null: none given. */
  email: string | null;
  /** The whole submission as the form received it, to be submitted again on release. */
  submission: unknown;
  /** JSON array of src/forms/spam.ts QuarantineReason. */
  reasons: unknown;
  ip: string | null;
  user_agent: string | null;
  /** quarantined | released | discarded */
  status: string;
  /** The lead the release created or updated. */
  lead_id: string | null;
  created_at: number;
  /** When it was released or discarded. */
  decided_at: number | null;
}

/** One recorded consent decision of a lead for a purpose (src/consent/); the latest row is the state. */
export interface ConsentRow {
  workspace_id: string;
  id: string;
  lead_id: string;
  purpose: string;
  /** granted | pending | withdrawn */
  status: string;
  version: string | null;
  text: string | null;
  privacy_url: string | null;
  /** form | api | double_opt_in | import | webhook … */
  source: string;
  form_id: string | null;
  page_url: string | null;
  ip: string | null;
  user_agent: string | null;
  /** The double opt-in confirmation this row waits for (pending) or came from (granted). */
  confirmation_id: string | null;
  /** When the decision was made (epoch ms); may be earlier than `created_at` for imported evidence. */
  recorded_at: number;
  created_at: number;
}

/** A double opt-in email's link: `/c/{token}` carries the id and a secret whose hash is kept. */
export interface ConsentConfirmationRow {
  workspace_id: string;
  id: string;
  lead_id: string;
  email: string;
  token_hash: string;
  created_at: number;
  expires_at: number;
  confirmed_at: number | null;
  confirm_ip: string | null;
  confirm_user_agent: string | null;
}

export interface InboundSourceRow {
  workspace_id: string;
  id: string;
  /** facebook | linkedin | generic */
  kind: string;
  name: string;
  /** The `source` captured leads get. */
  source: string;
  form_id: string | null;
  /** JSON object: external field (or JSON path) -> lead field. */
  field_mapping: unknown;
  /** JSON object of the kind's non-secret settings. */
  settings: unknown;
  /** JSON object of the kind's secrets (app secret, tokens). */
  secrets: unknown;
  last_received_at: number | null;
  created_at: number;
  updated_at: number;
}

export interface InboundLeadRow {
  workspace_id: string;
  id: string;
  source_id: string;
  /** The platform's lead id (leadgen id, form response id) or the generic sender's id. */
  external_id: string;
  /** pending | captured | failed */
  status: string;
  lead_id: string | null;
  /** The id of its `form_submitted` activity (`fb:{leadgen_id}`…). */
  event_id: string;
  payload: unknown;
  /** JSON array of { path, message }; null unless failed. */
  errors: unknown;
  /** JSON array of { path, message }: fields dropped from the capture. */
  warnings: unknown;
  fetch_attempts: number;
  received_at: number;
  captured_at: number | null;
  updated_at: number;
}

export interface FormRow {
  workspace_id: string;
  id: string;
  /** Unique across workspaces: the public address `/f/{slug}`. */
  slug: string;
  name: string;
  /** active | closed */
  status: string;
  /** src/forms/model.ts FormSettings */
  definition: unknown;
  /** HMAC key of the form's render tokens; never returned by the API. */
  secret: string;
  created_at: number;
  updated_at: number;
  archived_at: number | null;
}

/** One written form submission: what the duplicate window looks back through. */
export interface FormSubmissionRow {
  workspace_id: string;
  form_id: string;
  id: string;
  lead_id: string;
  /** src/forms/model.ts submissionFingerprint */
  fingerprint: string;
  created_at: number;
  /** SHA-256 of the render token it used (src/forms/spam-tokens.ts renderTokenHash); null: none. */
  token_hash: string | null;
  /** 1 when it queued the lead magnet email (the hourly cap per lead counts these). */
  magnet_emailed: number;
}

/** A form's lead-magnet file, hosted by Leadline (src/forms/magnet-store.ts); one per form. */
export interface FormMagnetFileRow {
  workspace_id: string;
  form_id: string;
  /** The file name downloads are given. */
  name: string;
  content_type: string;
  /** Bytes. */
  size: number;
  /** SHA-256 of `content`, hex. */
  sha256: string;
  /** blob on SQLite, bytea on PostgreSQL. */
  content: Buffer;
  uploaded_at: number;
}

export interface DB {
  workspaces: WorkspaceRow;
  api_keys: ApiKeyRow;
  leads: LeadRow;
  activities: ActivityRow;
  anonymous_activities: AnonymousActivityRow;
  anonymous_identities: AnonymousIdentityRow;
  property_definitions: PropertyDefinitionRow;
  idempotency_keys: IdempotencyKeyRow;
  scoring_models: ScoringModelRow;
  stage_changes: StageChangeRow;
  jobs: JobRow;
  webhook_subscriptions: WebhookSubscriptionRow;
  webhook_messages: WebhookMessageRow;
  webhook_deliveries: WebhookDeliveryRow;
  mailbox_messages: MailboxMessageRow;
  alert_rules: AlertRuleRow;
  alert_settings: AlertSettingsRow;
  alerts: AlertRow;
  tasks: TaskRow;
  sla_policies: SlaPolicyRow;
  sla_timers: SlaTimerRow;
  lead_first_contacts: LeadFirstContactRow;
  users: UserRow;
  teams: TeamRow;
  team_members: TeamMemberRow;
  routing_settings: RoutingSettingsRow;
  routing_turns: RoutingTurnRow;
  assignments: AssignmentRow;
  tracking_settings: TrackingSettingsRow;
  landing_pages: LandingPageRow;
  form_quarantine: FormQuarantineRow;
  consents: ConsentRow;
  consent_confirmations: ConsentConfirmationRow;
  inbound_sources: InboundSourceRow;
  inbound_leads: InboundLeadRow;
  forms: FormRow;
  form_submissions: FormSubmissionRow;
  form_magnet_files: FormMagnetFileRow;
}
