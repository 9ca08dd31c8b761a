import { escapeHtml, oneLine } from '../html-text.ts';
import type { Lead } from '../leads/model.ts';
import type { AlertFacts } from './model.ts';

/**
 * What an alert says, as an email, a JSON webhook body or a Slack message. Pure: the job
 * gives the lead as it is when the alert goes out, its score then, and the link to it.
 */
export interface AlertContext {
  alertId: string;
  ruleId: string;
  ruleName: string;
  facts: AlertFacts;
  firedAt: number;
  lead: Lead;
  score: number | null;
  /** The lead in the web app. */
  link: string;
  /** Who the email goes to, when it is not the owner (a manager, the fallback address). */
  ownerName: string | null;
}

/** How a person names the lead: full name, else email, else phone, else its id. */
export function leadLabel(lead: Lead): string {
  const name = oneLine([lead.firstName, lead.lastName].filter(Boolean).join(' '));
  return name || lead.email || lead.phone || `lead ${lead.id}`;
}

const activityPhrases: Record<string, string> = {
  demo_requested: 'requested a demo',
  pricing_viewed: 'viewed pricing',
  trial_started: 'started a trial',
  meeting_booked: 'booked a meeting',
  form_submitted: 'submitted a form',
  webinar_registered: 'registered for a webinar',
  webinar_attended: 'attended a webinar',
  content_downloaded: 'downloaded content',
  chat_started: 'started a chat',
  support_request: 'asked support',
  usage_limit_reached: 'reached a usage limit',
  email_replied: 'replied to an email',
};

/** What happened, after the lead's name: "requested a demo", "viewed pricing 3 times in 7 days". */
export function describeFacts(facts: AlertFacts): string {
  switch (facts.type) {
    case 'activity': {
      const phrase = activityPhrases[facts.activity] ?? `did "${facts.activity.replaceAll('_', ' ')}"`;
      return facts.withinDays !== null && facts.count > 1
        ? `${phrase} ${facts.count} times in ${facts.withinDays} days`
        : phrase;
    }
    case 'became_hot':
      return 'became hot';
    case 'score_crossed':
      return facts.to !== null
        ? `crossed a score of ${facts.threshold} (now ${facts.to})`
        : `crossed a score of ${facts.threshold}`;
    case 'sla_warning': {
      const due = facts.data.dueAt ?? facts.data.breachAt;
      const when =
        typeof due === 'number'
          ? ` (due ${new Date(due).toISOString()})`
          : typeof due === 'string'
            ? ` (due ${due})`
            : '';
      return `is about to breach its response SLA${when}`;
    }
  }
}

/** The trigger's short name, for JSON consumers: the activity type or the trigger type. */
export function triggerName(facts: AlertFacts): string {
  return facts.type === 'activity' ? facts.activity : facts.type;
}

function detailLines(ctx: AlertContext): Array<[string, string]> {
  const lead = ctx.lead;
  const lines: Array<[string, string]> = [];
  if (lead.email) lines.push(['Email', lead.email]);
  if (lead.phone) lines.push(['Phone', lead.phone]);
  if (lead.company) lines.push(['Company', oneLine(lead.company)]);
  if (lead.jobTitle) lines.push(['Title', oneLine(lead.jobTitle)]);
  if (ctx.score !== null) lines.push(['Score', String(ctx.score)]);
  lines.push(['Stage', lead.stage]);
  lines.push(['Temperature', lead.scoring.temperature]);
  if (ctx.ownerName) lines.push(['Owner', ctx.ownerName]);
  lines.push(['Rule', oneLine(ctx.ruleName)]);
  return lines;
}

/** Subject, text and HTML of an alert email. Every lead-supplied value is escaped in the HTML. */
export function alertEmail(ctx: AlertContext): { subject: string; text: string; html: string } {
  const who = leadLabel(ctx.lead);
  const company = ctx.lead.company ? ` (${oneLine(ctx.lead.company)})` : '';
  const what = describeFacts(ctx.facts);
  const subject = oneLine(`${who}${company} ${what}`).slice(0, 200);
  const details = detailLines(ctx);
  const text = [
    `${who}${company} ${what}.`,
    '',
    ...details.map(([label, value]) => `${label}: ${value}`),
    '',
    `Open the lead: ${ctx.link}`,
    '',
    '-- ',
    'Sent by Leadline because of the alert rule above.',
  ].join('\n');
  const rows = details
    .map(
      ([label, value]) => `<tr><th align="left">${escapeHtml(label)}</th><td>${escapeHtml(value)}</td></tr>`,
    )
    .join('');
  const html =
    `<p><strong>${escapeHtml(who)}</strong>${escapeHtml(company)} ${escapeHtml(what)}.</p>` +
    `<table>${rows}</table>` +
    `<p><a href="${escapeHtml(ctx.link)}">Open the lead</a></p>`;
  return { subject, text, html };
}

/** The generic JSON webhook body: the alert, and the lead as the API shows it. */
export function alertJsonBody(ctx: AlertContext, leadJson: Record<string, unknown>) {
  return {
    type: 'alert',
    alert: {
      id: ctx.alertId,
      ruleId: ctx.ruleId,
      ruleName: ctx.ruleName,
      trigger: triggerName(ctx.facts),
      description: `${leadLabel(ctx.lead)} ${describeFacts(ctx.facts)}`,
      facts: ctx.facts,
      firedAt: new Date(ctx.firedAt).toISOString(),
    },
    lead: leadJson,
    url: ctx.link,
  };
}

/** Slack mrkdwn treats only these three as control characters. */
const escapeSlack = (text: string) =>
  text.replace(/[&<>]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;' })[c]!);

/** A Slack incoming-webhook message: `text` for notifications, `blocks` with a link to the lead. */
export function alertSlackBody(ctx: AlertContext) {
  const who = escapeSlack(leadLabel(ctx.lead));
  const company = ctx.lead.company ? ` at ${escapeSlack(oneLine(ctx.lead.company))}` : '';
  const what = escapeSlack(describeFacts(ctx.facts));
  const context = [
    `Rule: ${escapeSlack(oneLine(ctx.ruleName))}`,
    ...(ctx.score !== null ? [`Score: ${ctx.score}`] : []),
    `Stage: ${ctx.lead.stage}`,
    ...(ctx.ownerName ? [`Owner: ${escapeSlack(ctx.ownerName)}`] : []),
  ].join(' · ');
  return {
    text: `${who}${company} ${what}: ${ctx.link}`,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: `*<${ctx.link}|${who}>*${company} ${what}` } },
      { type: 'context', elements: [{ type: 'mrkdwn', text: context }] },
      {
        type: 'actions',
        elements: [{ type: 'button', text: { type: 'plain_text', text: 'Open lead' }, url: ctx.link }],
      },
    ],
  };
}
