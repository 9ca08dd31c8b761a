import type { Kysely } from 'kysely';
import type { Config } from '../config.ts';
import { MAX_CONFIRMATIONS_PER_HOUR } from '../consent/model.ts';
import type { DB } from '../db/schema.ts';
import { isEmailAddress } from '../email/model.ts';
import type { MailService } from '../email/service.ts';
import { escapeHtml, oneLine } from '../html-text.ts';
import type { Lead } from '../leads/model.ts';
import type { WorkspaceContext } from '../leads/service.ts';
import { MAGNET_LINK_TTL_MS, magnetLink } from './magnet-links.ts';
import {
  type AcceptedSubmission,
  consentField,
  type Form,
  isChecked,
  submittedValue,
  utmFields,
} from './model.ts';
import * as store from './store.ts';

/**
 * The emails a written submission causes, queued in its transaction (sent after the commit by
 * the `email.send` jobs): the lead magnet to the lead, a notification to each `notify`
 * recipient. Each has an idempotency key, `form:{submissionId}:magnet` and
 * `form:{submissionId}:notify:{n}`, so a submission never mails anyone twice.
 */

/**
 * Lead magnet emails one lead may be sent per hour, by all forms together: anyone can type
 * someone else's address into a public form, which must not become a way to flood that inbox.
 * The same cap as double opt-in confirmations. Past it the submission is still written, and
 * the person who submitted still gets the link on the thank-you page. (3)
 */
export const MAX_MAGNET_EMAILS_PER_HOUR = MAX_CONFIRMATIONS_PER_HOUR;

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** Longest answer a notification quotes in full; longer ones are cut (the lead's timeline has them). */
const MAX_ANSWER_CHARS = 1000;

type FollowUpWorkspace = WorkspaceContext & { name?: string | undefined };

/** How a person names the lead: full name, else email, else phone. */
function leadName(lead: Lead): string {
  return (
    oneLine([lead.firstName, lead.lastName].filter(Boolean).join(' ')) ||
    lead.email ||
    lead.phone ||
    'A visitor'
  );
}

export interface MagnetEmailInput {
  sender: string;
  firstName: string | null;
  title: string;
  url: string;
  /** Days the link works, said in the email (a hosted file's link expires; a URL's does not). */
  validDays?: number | undefined;
}

/** The lead magnet email: the download link, again, for the person who asked for it. */
export function leadMagnetEmail(input: MagnetEmailInput): { subject: string; text: string; html: string } {
  const title = oneLine(input.title);
  const hello = input.firstName ? `Hello ${oneLine(input.firstName)},` : 'Hello,';
  const sender = oneLine(input.sender);
  const subject = `Your download: ${title}`.slice(0, 200);
  const text = [
    hello,
    '',
    `Thank you for your interest. Here is ${title}:`,
    input.url,
    ...(input.validDays ? ['', `The link works for ${input.validDays} days.`] : []),
    '',
    ...(sender ? [`— ${sender}`] : []),
  ].join('\n');
  const html =
    `<p>${escapeHtml(hello)}</p>` +
    `<p>Thank you for your interest. Here is <strong>${escapeHtml(title)}</strong>:</p>` +
    `<p><a href="${escapeHtml(input.url)}">Download ${escapeHtml(title)}</a></p>` +
    (input.validDays ? `<p>The link works for ${input.validDays} days.</p>` : '') +
    (sender ? `<p>— ${escapeHtml(sender)}</p>` : '');
  return { subject, text, html };
}

export interface NotificationInput {
  form: Pick<Form, 'name' | 'fields' | 'consents'>;
  lead: Lead;
  submission: Pick<AcceptedSubmission, 'values' | 'pageUrl' | 'receivedAt'>;
  /** The lead in the web app. */
  link: string;
}

/** The answers worth a salesperson's glance: the form's own fields by label, then page, UTM, consents. */
export function notificationRows(input: NotificationInput): Array<[string, string]> {
  const { form, submission } = input;
  const rows: Array<[string, string]> = [];
  for (const field of form.fields) {
    const value = submittedValue(submission.values, field.name);
    const text = Array.isArray(value) ? value.join(', ') : value;
    if (text === undefined || text.trim() === '') continue;
    const label = oneLine(field.label ?? field.name);
    const shown = text.length > MAX_ANSWER_CHARS ? `${text.slice(0, MAX_ANSWER_CHARS)}…` : text;
    rows.push([label, field.type === 'textarea' ? shown.trim() : oneLine(shown)]);
  }
  if (submission.pageUrl) rows.push(['Page', submission.pageUrl]);
  for (const name of utmFields) {
    const value = submittedValue(submission.values, name);
    const text = Array.isArray(value) ? value[0] : value;
    if (text?.trim()) rows.push([name, oneLine(text)]);
  }
  const agreed = form.consents.filter((c) =>
    isChecked(submittedValue(submission.values, consentField(c.purpose))),
  );
  if (agreed.length > 0) rows.push(['Consent', agreed.map((c) => c.purpose).join(', ')]);
  return rows;
}

/** The email to a `notify` recipient: who submitted which form, their answers, and the link to the lead. */
export function notificationEmail(input: NotificationInput): { subject: string; text: string; html: string } {
  const { form, lead, link } = input;
  const who = leadName(lead);
  const company = lead.company ? ` (${oneLine(lead.company)})` : '';
  const formName = oneLine(form.name);
  const subject = `New submission of ${formName}: ${who}${company}`.slice(0, 200);
  const rows = notificationRows(input);
  const when = new Date(input.submission.receivedAt).toISOString().replace('T', ' ').slice(0, 16);
  const text = [
    `${who}${company} submitted ${formName} at ${when} UTC.`,
    '',
    ...rows.map(([label, value]) => `${label}: ${value}`),
    '',
    `Open the lead: ${link}`,
    '',
    '-- ',
    `Sent by Leadline because you are listed to be notified about ${formName}.`,
  ].join('\n');
  const html =
    `<p><strong>${escapeHtml(who)}</strong>${escapeHtml(company)} submitted ${escapeHtml(formName)} at ${when} UTC.</p>` +
    `<table>${rows
      .map(
        ([label, value]) =>
          `<tr><th align="left" valign="top">${escapeHtml(label)}</th><td>${escapeHtml(value).replaceAll('\n', '<br>')}</td></tr>`,
      )
      .join('')}</table>` +
    `<p><a href="${escapeHtml(link)}">Open the lead</a></p>`;
  return { subject, text, html };
}

export interface FollowUpDeps {
  mail: Pick<MailService, 'sendIn'>;
  config: Pick<Config, 'publicUrl'>;
}

export type FollowUps = ReturnType<typeof createFollowUps>;

export function createFollowUps({ mail, config }: FollowUpDeps) {
  return {
    /**
     * Queues the lead magnet (when the form has one, the lead an email, and the lead is under
     * MAX_MAGNET_EMAILS_PER_HOUR) and one notification per `notify` recipient (replying to it
     * answers the lead), in the submission's transaction. Says whether the magnet was queued:
     * the submission row records it, and the cap counts those rows.
     */
    async queueFollowUpsIn(
      trx: Kysely<DB>,
      workspace: FollowUpWorkspace,
      form: Form,
      lead: Lead,
      submission: AcceptedSubmission,
      now: number,
    ): Promise<{ magnetEmailed: boolean }> {
      let magnetEmailed = false;
      if (
        form.leadMagnet &&
        lead.email &&
        (await store.countMagnetEmailsSince(trx, workspace.id, lead.id, now - HOUR_MS)) <
          MAX_MAGNET_EMAILS_PER_HOUR
      ) {
        const magnet = form.leadMagnet;
        // A hosted file: this submission's own link (minted, not stored), valid from now.
        const message = leadMagnetEmail({
          sender: workspace.name ?? '',
          firstName: lead.firstName,
          title: magnet.title,
          ...('file' in magnet
            ? {
                url: magnetLink(config.publicUrl, form, submission.id, now),
                validDays: MAGNET_LINK_TTL_MS / DAY_MS,
              }
            : { url: magnet.url }),
        });
        await mail.sendIn(trx, workspace.id, {
          to: [lead.email],
          ...message,
          key: `form:${submission.id}:magnet`,
        });
        magnetEmailed = true;
      }
      if (form.notify.length === 0) return { magnetEmailed };
      const message = notificationEmail({
        form,
        lead,
        submission,
        link: `${config.publicUrl}/leads/${encodeURIComponent(lead.id)}`,
      });
      const replyTo = lead.email && isEmailAddress(lead.email) ? lead.email : undefined;
      for (const [n, recipient] of form.notify.entries()) {
        await mail.sendIn(trx, workspace.id, {
          to: [recipient],
          ...message,
          ...(replyTo ? { replyTo } : {}),
          key: `form:${submission.id}:notify:${n}`,
        });
      }
      return { magnetEmailed };
    },
  };
}
