import { createHash, randomBytes } from 'node:crypto';
import type { QualificationRule } from '../lifecycle/qualification.ts';
import type { StageRules } from '../lifecycle/stage-rules.ts';
import type { TemperatureConfig } from '../lifecycle/temperature.ts';

/** What a key may do; each scope includes the ones before it. */
export const scopes = ['read', 'write', 'admin'] as const;
export type Scope = (typeof scopes)[number];

export function isScope(value: string): value is Scope {
  return (scopes as readonly string[]).includes(value);
}

export function scopeAllows(held: Scope, needed: Scope): boolean {
  return scopes.indexOf(held) >= scopes.indexOf(needed);
}

export interface WorkspaceSettings {
  /** Country (ISO alpha-2) assumed for phone numbers written without a country code. */
  defaultCountry?: string;
  /** Reject custom properties that have no definition. (Default: false) */
  strictProperties?: boolean;
  /** How leads move through stages, warm up and qualify (`/api/v1/lifecycle/settings`). */
  lifecycle?: LifecycleSettings;
  /**
   * Let outbound webhooks and alert webhooks reach private and loopback addresses (a receiver
   * on the same host or network). Off, such targets are refused (SSRF). Link-local addresses
   * and cloud metadata services (169.254.169.254, fd00:ec2::254) stay refused either way: they
   * hand out the host's credentials. (Default: false)
   */
  allowPrivateWebhookTargets?: boolean;
  /** Scores whose crossing, up or down, is a `lead.score_crossed` event. (Default: [50, 75]) */
  scoreThresholds?: number[];
}

/** A change of settings: given ones replace the stored ones, a null removes one. */
export type SettingsPatch = { [K in keyof WorkspaceSettings]?: WorkspaceSettings[K] | null };

export interface LifecycleSettings {
  stageRules: StageRules;
  temperature: TemperatureConfig;
  qualification: QualificationRule;
}

export interface Workspace {
  id: string;
  slug: string;
  name: string;
  settings: WorkspaceSettings;
  createdAt: number;
}

export interface ApiKey {
  id: string;
  workspaceId: string;
  name: string;
  scope: Scope;
  /** The first characters of the key, shown in listings so a person can tell keys apart. */
  prefix: string;
  createdAt: number;
  revokedAt: number | null;
}

/** What a request carries once its key is known. */
export interface Principal {
  workspaceId: string;
  keyId: string;
  scope: Scope;
}

/** A new secret API key: 32 random bytes, prefixed so leaked keys are recognisable in scans. */
export function generateKey(): string {
  return `ll_${randomBytes(32).toString('base64url')}`;
}

/** Keys are stored only as SHA-256 hashes: a database leak does not leak usable keys. */
export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

export function keyPrefix(key: string): string {
  return key.slice(0, 10);
}

export const slugPattern = /^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/;
