import { isIP } from 'node:net';
import path from 'node:path';
import { DomainError, type FieldError } from './errors.ts';

/** The embedded SQLite database's file in the data folder: what the server, `migrate` and dry runs open or look for. */
export function sqliteFileOf(config: Pick<Config, 'dataDir'>): string {
  return path.join(config.dataDir, 'leadline.db');
}

/** Everything Leadline reads from its environment, validated once at start. */
export interface Config {
  /** HTTP port. (Default: 3000) */
  port: number;
  /** Address to bind. (Default: 0.0.0.0) */
  host: string;
  /** Folder of the embedded SQLite database. (Default: ./data) */
  dataDir: string;
  /** `postgres://…` switches storage to PostgreSQL; unset means embedded SQLite. */
  databaseUrl: string | undefined;
  /** Value that becomes the first admin key of an empty database instead of a random one. */
  bootstrapKey: string | undefined;
  /** pino level. (Default: info) */
  logLevel: string;
  /** Largest accepted request body, in bytes. (Default: 10 MiB) */
  bodyLimitBytes: number;
  /** Requests per minute allowed per API key. (Default: 60,000) */
  rateLimitPerKey: number;
  /** Requests per minute allowed per client IP on unauthenticated or failed requests. (Default: 600) */
  rateLimitPerIp: number;
  /** Days an anonymous visitor's activity is kept before it expires. (Default: 90) */
  anonymousRetentionDays: number;
  /** `smtp://` or `smtps://` server (credentials in the URL) mail is sent through; unset: the dev mailbox. */
  smtpUrl: string | undefined;
  /** Sender of Leadline's emails, `address` or `Name <address>`. (Default: Leadline <leadline@localhost>) */
  mailFrom: string;
  /** Base URL people reach Leadline at: links in alerts and emails. (Default: http://localhost:PORT) */
  publicUrl: string;
  /**
   * Which proxies in front of Leadline may say who the client is (`X-Forwarded-For`,
   * `-Proto`, `-Host`): a number of hops, or a list of proxy addresses and CIDR ranges. Behind a
   * TLS-terminating proxy without it, every visitor has the proxy's address, so per-IP limits
   * (forms, tracking, unauthenticated calls) count the whole internet as one client and consent
   * evidence records the proxy. (Default: false, the socket's address is the client)
   */
  trustProxy: false | number | string[];
}

type Env = Record<string, string | undefined>;

export function loadConfig(env: Env = process.env): Config {
  const errors: FieldError[] = [];
  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    // Digits only: Number() also reads " 3202", "+3202", "1e3" and "0x0C83".
    const value = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
    if (!Number.isInteger(value) || value < min || value > max) {
      errors.push({ path: name, message: `must be an integer from ${min} to ${max}` });
      return fallback;
    }
    return value;
  };
  const databaseUrl = env.DATABASE_URL || undefined;
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    errors.push({ path: 'DATABASE_URL', message: 'must start with postgres:// or postgresql://' });
  } else if (databaseUrl && !URL.canParse(databaseUrl)) {
    errors.push({
      path: 'DATABASE_URL',
      message: 'is not a valid URL (a port from 1 to 65535; percent-encode @ : / # in the password)',
    });
  }
  const logLevel = env.LOG_LEVEL || 'info';
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(logLevel)) {
    errors.push({
      path: 'LOG_LEVEL',
      message: 'must be one of fatal, error, warn, info, debug, trace, silent',
    });
  }
  const bootstrapKey = env.LEADLINE_BOOTSTRAP_KEY || undefined;
  if (bootstrapKey !== undefined && bootstrapKey.length < 16) {
    errors.push({ path: 'LEADLINE_BOOTSTRAP_KEY', message: 'must be at least 16 characters' });
  } else if (bootstrapKey !== undefined && /\s/.test(bootstrapKey)) {
    // An Authorization header cannot carry it: the key would be stored and never work.
    errors.push({ path: 'LEADLINE_BOOTSTRAP_KEY', message: 'must not contain spaces' });
  }
  const smtpUrl = env.LEADLINE_SMTP_URL || undefined;
  const smtpProblem = smtpUrl === undefined ? undefined : checkSmtpUrl(smtpUrl);
  if (smtpProblem) errors.push({ path: 'LEADLINE_SMTP_URL', message: smtpProblem });
  const mailFrom = env.LEADLINE_MAIL_FROM || 'Leadline <leadline@localhost>';
  if (!/^(?:[^<>]*<[^\s@<>]+@[^\s@<>]+>|[^\s@<>]+@[^\s@<>]+)$/.test(mailFrom.trim())) {
    errors.push({ path: 'LEADLINE_MAIL_FROM', message: 'must be an email address, or Name <address>' });
  }
  const port = int('PORT', 3000, 0, 65535);
  const publicUrl = (env.LEADLINE_PUBLIC_URL || `http://localhost:${port}`).replace(/\/+$/, '');
  if (!/^https?:\/\/[^/\s]+/.test(publicUrl)) {
    errors.push({ path: 'LEADLINE_PUBLIC_URL', message: 'must be an http:// or https:// URL' });
  }
  const trustProxy = parseTrustProxy(env.LEADLINE_TRUST_PROXY);
  if (trustProxy === undefined) {
    errors.push({
      path: 'LEADLINE_TRUST_PROXY',
      message: 'must be a number of proxy hops (1-10), or comma-separated proxy addresses or CIDR ranges',
    });
  }
  const config: Config = {
    port,
    host: env.HOST || '0.0.0.0',
    dataDir: path.resolve(env.LEADLINE_DATA_DIR || 'data'),
    databaseUrl,
    bootstrapKey,
    logLevel,
    bodyLimitBytes: int('LEADLINE_BODY_LIMIT_BYTES', 10 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
    rateLimitPerKey: int('LEADLINE_RATE_LIMIT_PER_KEY', 60_000, 1, 100_000_000),
    rateLimitPerIp: int('LEADLINE_RATE_LIMIT_PER_IP', 600, 1, 100_000_000),
    anonymousRetentionDays: int('LEADLINE_ANONYMOUS_RETENTION_DAYS', 90, 1, 3650),
    smtpUrl,
    mailFrom: mailFrom.trim(),
    publicUrl,
    trustProxy: trustProxy ?? false,
  };
  if (errors.length > 0) throw new DomainError('VALIDATION_FAILED', 'Invalid configuration.', errors);
  return config;
}

/** `LEADLINE_TRUST_PROXY` as Fastify's `trustProxy`; undefined when it is not valid. */
function parseTrustProxy(raw: string | undefined): Config['trustProxy'] | undefined {
  const value = raw?.trim();
  if (!value || value === 'false') return false;
  if (/^\d+$/.test(value)) {
    const hops = Number(value);
    return hops >= 1 && hops <= 10 ? hops : undefined;
  }
  const ranges = value.split(',').map((part) => part.trim());
  const valid = ranges.every((range) => {
    const [address, prefix, ...rest] = range.split('/');
    const family = isIP(address ?? '');
    if (family === 0 || rest.length > 0) return false;
    if (prefix === undefined) return true;
    const bits = Number(prefix);
    return /^\d+$/.test(prefix) && bits <= (family === 4 ? 32 : 128);
  });
  return valid ? ranges : undefined;
}

/** Why an SMTP URL cannot be used (undefined: it can). */
function checkSmtpUrl(raw: string): string | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'must be a URL such as smtps://user:password@smtp.example.com:465';
  }
  if (url.protocol !== 'smtp:' && url.protocol !== 'smtps:') return 'must start with smtp:// or smtps://';
  if (!url.hostname) return 'must name a host';
  return undefined;
}
