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
}
