import type { FastifyReply, FastifyRequest } from 'fastify';
import Type from 'typebox';
import { newId } from '../db/ids.ts';
import { isDatabaseUnavailable } from '../db/unavailable.ts';
import { DomainError, type ErrorCode, type FieldError, isDomainError } from '../errors.ts';
import { DATABASE_RETRY_AFTER_S, handleError, problem, sendProblem } from '../http/errors.ts';
import type { HttpApp } from '../http/types.ts';
import { privacySignal } from '../tracking/model.ts';
import { readValues } from './fields.ts';
import { escapeHtml, htmlDocument, messagePage } from './html.ts';
import { magnetToken, magnetUrl, verifyMagnetToken } from './magnet-links.ts';
import { sendMagnetFile } from './magnet-routes.ts';
import {
  consentField,
  type Form,
  type FormField,
  isOpen,
  originAllowed,
  reserved,
  type Submission,
  type SubmittedValues,
  textValue,
  type UtmField,
  utmFields,
} from './model.ts';
import { autocompleteFor, fieldLabel, renderFormHtml } from './render.ts';
import type { FormService } from './service.ts';

export interface FormPublicDeps {
  forms: FormService;
  /** `LEADLINE_PUBLIC_URL`: the hosted page's own origin, and the base of absolute links. */
  publicUrl: string;
  clock: () => number;
}

/** t.js's first-party anonymous id cookie: set on Leadline's origin by its landing pages. */
const ANONYMOUS_ID_COOKIE = 'll_aid';
/**
 * Largest submission body. (1 MiB) A field may take 20,000 characters, and a browser sends each
 * character outside ASCII as up to 9 bytes (%E6%97%A5): one such answer in Japanese is 180 KB.
 * 64 KiB, the limit before, refused valid answers of a few thousand characters in Cyrillic or CJK.
 */
const SUBMISSION_BODY_LIMIT = 1024 * 1024;
/** What a hosted form says when the database could not take a submission (503). */
const UNSAVED_MESSAGE =
  'Your answers could not be saved just now. Please send the form again in a few seconds.';
/** How long browsers may reuse a preflight answer. (10 min) */
const PREFLIGHT_MAX_AGE = 600;

const SlugParams = Type.Object({ slug: Type.String({ maxLength: 64 }) });
const MagnetParams = Type.Object({
  slug: Type.String({ maxLength: 64 }),
  token: Type.String({ maxLength: 100 }),
});

const firstValue = (value: unknown): string | undefined => {
  const one = Array.isArray(value) ? value[0] : value;
  return typeof one === 'string' && one !== '' ? one : undefined;
};

/**
 * Does the client want JSON back? A JSON body, or `Accept: application/json` (embed.js, API
 * clients, the benchmark). Browsers navigating with a form-encoded post ask for HTML.
 */
function wantsJson(request: FastifyRequest): boolean {
  const type = request.headers['content-type'] ?? '';
  if (/^\s*application\/(?:[\w.+-]*\+)?json/i.test(type)) return true;
  return /application\/json/i.test(request.headers.accept ?? '');
}

function sendHtml(
  reply: FastifyReply,
  status: number,
  html: string,
  formAction: string[] = [],
): FastifyReply {
  return reply
    .status(status)
    .header('content-type', 'text/html; charset=utf-8')
    .header('cache-control', 'no-store')
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'strict-origin-when-cross-origin')
    .header(
      'content-security-policy',
      // No script at all; the form may post to Leadline and follow a redirect to the thank-you URL.
      `default-src 'none'; style-src 'unsafe-inline'; img-src 'self' https: data:; base-uri 'none'; form-action 'self'${formAction.map((o) => ` ${o}`).join('')}`,
    )
    .send(html);
}

/** The origin of an http(s) URL, for CSP; undefined when it is not one. */
function originOf(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'https:' || parsed.protocol === 'http:' ? parsed.origin : undefined;
  } catch {
    return undefined;
  }
}

/** The thank-you text: the form's, or one that says what happens next. */
function thankYouMessage(form: Form): string {
  if (form.thankYou?.message) return form.thankYou.message;
  if (form.doubleOptIn && form.consents.length > 0)
    return 'Thank you! Please check your inbox and confirm your email address.';
  return 'Thank you! We have received your submission.';
}

/** The thank-you page's link to the lead magnet: its URL, or a hosted file's link when one was minted. */
function leadMagnetHtml(form: Form, fileLink: string | undefined): string {
  const magnet = form.leadMagnet;
  if (!magnet) return '';
  const href = 'url' in magnet ? magnet.url : fileLink;
  if (!href) return '';
  return `<p><a href="${escapeHtml(href)}" rel="noopener">${escapeHtml(magnet.title)}</a></p>`;
}

/**
 * The public face of forms: `GET /f/{slug}` (the hosted page, no JavaScript needed),
 * `GET /f/{slug}/definition` (what embed.js renders), `POST /f/{slug}` (submissions, from
 * browsers form-encoded or from scripts as JSON), `GET /f/{slug}/thanks`, and CORS preflights
 * for the sites in the form's `allowedOrigins`.
 */
export function registerFormPublicRoutes(app: HttpApp, { forms, publicUrl, clock }: FormPublicDeps): void {
  const ownOrigin = originOf(publicUrl);

  /** True when `origin` is Leadline's own (its hosted and landing pages). */
  function isOwnOrigin(request: FastifyRequest, origin: string): boolean {
    if (origin === ownOrigin) return true;
    // Reached under another name than LEADLINE_PUBLIC_URL (a LAN address, a test port).
    const host = request.headers.host;
    return host !== undefined && (origin === `http://${host}` || origin === `https://${host}`);
  }

  /**
   * CORS for a cross-site request: an `Origin` in the form's `allowedOrigins` is echoed back;
   * any other is refused (403). Requests without `Origin` (servers, same-site navigations) and
   * Leadline's own pages pass. Returns whether the request may go on.
   */
  function allowOrigin(request: FastifyRequest, reply: FastifyReply, form: Form): boolean {
    reply.header('vary', 'Origin');
    const origin = request.headers.origin;
    if (origin === undefined || isOwnOrigin(request, origin)) return true;
    if (!originAllowed(form.allowedOrigins, origin)) return false;
    reply.header('access-control-allow-origin', origin);
    return true;
  }

  const originRefused = (form: Form) =>
    new DomainError(
      'FORM_ORIGIN_NOT_ALLOWED',
      `This site may not use the form ${form.slug}; add its origin to the form's allowedOrigins.`,
    );

  /** An error for a script (problem+json) or for a person (an HTML page with the same status). */
  function sendError(
    request: FastifyRequest,
    reply: FastifyReply,
    code: ErrorCode,
    detail: string,
    page: { title: string; message: string },
  ): FastifyReply {
    // The definition is only ever read by scripts.
    if (wantsJson(request) || request.routeOptions.url === '/f/:slug/definition')
      return sendProblem(reply, problem(code, detail));
    return sendHtml(reply, problem(code, detail).status, messagePage(page.title, page.message));
  }

  /** The form for a public request, or the answer already sent (unknown, closed). */
  async function publicForm(
    request: FastifyRequest,
    reply: FastifyReply,
    slug: string,
  ): Promise<Awaited<ReturnType<FormService['getPublic']>> | undefined> {
    try {
      return await forms.getPublic(slug);
    } catch (error) {
      if (!(isDomainError(error) && error.code === 'FORM_NOT_FOUND')) throw error;
      sendError(request, reply, 'FORM_NOT_FOUND', error.message, {
        title: 'Form not found',
        message: 'There is no form at this address.',
      });
      return undefined;
    }
  }

  function closed(request: FastifyRequest, reply: FastifyReply, form: Form): FastifyReply {
    return sendError(request, reply, 'FORM_CLOSED', `The form ${form.slug} no longer takes submissions.`, {
      title: 'This form is closed',
      message: 'This form no longer takes submissions.',
    });
  }

  /** The hosted page: the form in a whole document, with errors and values when re-rendered. */
  async function hostedPage(
    reply: FastifyReply,
    status: number,
    form: Form,
    fields: FormField[],
    view: {
      values?: SubmittedValues;
      errors?: readonly FieldError[];
      token: string;
      hidden?: Parameters<typeof renderFormHtml>[1]['hidden'];
    },
  ): Promise<FastifyReply> {
    const errors = view.errors ?? [];
    // Relative: the page is at …/f/{slug} and posts to itself, behind a proxy's path prefix
    // too, while the public URL's origin may not be the one the visitor used (CSP form-action 'self').
    const action = encodeURIComponent(form.slug);
    const body = `<h1>${escapeHtml(form.name)}</h1>\n${renderFormHtml(form, { ...view, fields, action })}`;
    // GOV.UK's pattern: a page with errors says so in its title, the first thing a screen reader reads.
    const title = errors.length > 0 ? `Error: ${form.name}` : form.name;
    return sendHtml(
      reply,
      status,
      htmlDocument({ title, body }),
      [originOf(form.thankYou?.redirectUrl)].filter((o): o is string => o !== undefined),
    );
  }

  const preflight = async (request: FastifyRequest<{ Params: { slug: string } }>, reply: FastifyReply) => {
    const found = await publicForm(request, reply, request.params.slug);
    if (!found) return reply;
    if (!allowOrigin(request, reply, found.form)) throw originRefused(found.form);
    return reply
      .status(204)
      .header('access-control-allow-methods', 'GET, POST, OPTIONS')
      .header('access-control-allow-headers', 'content-type, accept')
      .header('access-control-max-age', String(PREFLIGHT_MAX_AGE))
      .send();
  };
  const open = { config: { public: true }, schema: { hide: true, params: SlugParams } };
  app.options('/f/:slug', open, preflight);
  app.options('/f/:slug/definition', open, preflight);

  app.get('/f/:slug/definition', open, async (request, reply) => {
    const found = await publicForm(request, reply, request.params.slug);
    if (!found) return reply;
    const { workspace, form } = found;
    if (!allowOrigin(request, reply, form)) throw originRefused(form);
    if (!isOpen(form)) return closed(request, reply, form);
    const query = request.query as Record<string, unknown>;
    const aid = firstValue(query.aid);
    const fields = await forms.fieldsFor(workspace, form, aid);
    // A fresh token on every call: never cached, by the browser or anyone between.
    reply.header('cache-control', 'no-store');
    return {
      slug: form.slug,
      name: form.name,
      action: `${publicUrl}/f/${encodeURIComponent(form.slug)}`,
      fields: fields.map((f) => ({
        name: f.name,
        type: f.type,
        label: fieldLabel(f),
        ...(f.placeholder !== undefined ? { placeholder: f.placeholder } : {}),
        ...(f.help !== undefined ? { help: f.help } : {}),
        required: f.required ?? false,
        ...(f.options ? { options: f.options } : {}),
        ...(f.validation ? { validation: f.validation } : {}),
        ...(f.defaultValue !== undefined ? { defaultValue: f.defaultValue } : {}),
        ...(f.maps && !f.maps.startsWith('properties.')
          ? { autocomplete: autocompleteFor[f.maps] ?? 'off' }
          : {}),
      })),
      consents: form.consents.map((c) => ({
        purpose: c.purpose,
        name: consentField(c.purpose),
        text: c.text,
        version: c.version,
        ...(c.privacyUrl !== undefined ? { privacyUrl: c.privacyUrl } : {}),
        required: c.required ?? false,
      })),
      submitLabel: form.submitLabel ?? 'Submit',
      thankYou: { message: thankYouMessage(form) },
      token: forms.token(form),
      honeypot: reserved.honeypot,
    };
  });

  app.get('/f/:slug', open, async (request, reply) => {
    const found = await publicForm(request, reply, request.params.slug);
    if (!found) return reply;
    const { workspace, form } = found;
    if (!isOpen(form)) return closed(request, reply, form);
    const query = request.query as Record<string, unknown>;
    // Under Global Privacy Control or Do Not Track the visitor is not recognised (as t.js and
    // landing pages do): their earlier visits are not joined to what they submit.
    const untracked = privacySignal({
      gpc: firstValue(request.headers['sec-gpc']),
      dnt: firstValue(request.headers.dnt),
    });
    const cookie = untracked ? undefined : request.cookies?.[ANONYMOUS_ID_COOKIE];
    const aid = untracked
      ? undefined
      : (firstValue(query.aid) ?? (cookie && cookie.length <= 128 ? cookie : undefined));
    const utm: Partial<Record<UtmField, string>> = {};
    for (const name of utmFields) {
      const value = firstValue(query[name]);
      if (value) utm[name] = value.slice(0, 200);
    }
    return hostedPage(reply, 200, form, await forms.fieldsFor(workspace, form, aid), {
      token: forms.token(form),
      // Without JavaScript only the server can fill these: the page's own address (with its
      // UTM), the page that linked here, the visitor's anonymous id.
      hidden: {
        pageUrl: `${publicUrl}${request.url}`.slice(0, 2000),
        referrer: firstValue(request.headers.referer)?.slice(0, 2000),
        anonymousId: aid,
        utm,
      },
    });
  });

  app.get('/f/:slug/thanks', open, async (request, reply) => {
    const found = await publicForm(request, reply, request.params.slug);
    if (!found) return reply;
    const { form } = found;
    // A hosted file: the submission's redirect carried its link's token (`?magnet=`). Shown only
    // while it is one Leadline made for this form and not expired; the page works without it.
    const token = firstValue((request.query as Record<string, unknown>).magnet);
    const fileLink =
      token && verifyMagnetToken(form.secret, form.id, token, clock()).ok
        ? magnetUrl(publicUrl, form.slug, token)
        : undefined;
    return sendHtml(
      reply,
      200,
      messagePage(form.name, thankYouMessage(form), leadMagnetHtml(form, fileLink)),
    );
  });

  /**
   * A submission's download of the form's hosted lead-magnet file. Every failure — no such
   * form, a token Leadline did not make for it or past its 30 days, a form archived or whose
   * magnet is no longer a file — is the same 404: a guesser learns nothing.
   */
  app.get(
    '/f/:slug/magnet/:token',
    { config: { public: true }, schema: { hide: true, params: MagnetParams } },
    async (request, reply) => {
      const invalid = () =>
        sendError(request, reply, 'LEAD_MAGNET_NOT_FOUND', 'This download link is invalid or has expired.', {
          title: 'Download link invalid or expired',
          message: 'This download link is invalid or has expired. Fill in the form again to get a new one.',
        });
      const found = await forms.getPublic(request.params.slug).catch((error: unknown) => {
        if (isDomainError(error) && error.code === 'FORM_NOT_FOUND') return undefined;
        throw error;
      });
      if (!found) return invalid();
      const { form } = found;
      if (!verifyMagnetToken(form.secret, form.id, request.params.token, clock()).ok) return invalid();
      const file = await forms.magnetDownload(form);
      if (!file) return invalid();
      return sendMagnetFile(request, reply, file);
    },
  );

  /** What a browser posting the form is told when its body cannot be read at all. */
  const unreadable = {
    title: 'Form not sent',
    message: 'This form could not be read as it was sent. Please go back and send it from its page.',
  };
  app.post(
    '/f/:slug',
    {
      ...open,
      // Unstorable text is refused by readValues: on its field, and to people on the page again.
      config: { ...open.config, checksBodyText: true },
      bodyLimit: SUBMISSION_BODY_LIMIT,
      // A body refused before the handler (too large, a type no parser reads) is a page to people
      // too, not a problem document they cannot read. Their browser's Back keeps what they typed.
      errorHandler: (error, request, reply) => {
        if (wantsJson(request)) return handleError(error, request, reply);
        if (error.statusCode === 413)
          return sendError(request, reply, 'PAYLOAD_TOO_LARGE', error.message, {
            title: 'Form not sent',
            message:
              'Your answers are too long to send. Please go back, shorten them and send the form again.',
          });
        if (error.statusCode === 415)
          return sendError(request, reply, 'UNSUPPORTED_MEDIA_TYPE', error.message, unreadable);
        return handleError(error, request, reply);
      },
    },
    async (request, reply) => {
      const found = await publicForm(request, reply, request.params.slug);
      if (!found) return reply;
      const { workspace, form } = found;
      const json = wantsJson(request);
      if (!allowOrigin(request, reply, form)) {
        if (json) throw originRefused(form);
        return sendHtml(reply, 403, messagePage('Not allowed', 'This site may not send this form.'));
      }
      if (!isOpen(form)) return closed(request, reply, form);
      const type = request.headers['content-type'] ?? '';
      if (!/^\s*(?:application\/(?:[\w.+-]*\+)?json|application\/x-www-form-urlencoded)/i.test(type)) {
        const detail = 'Send the form as application/x-www-form-urlencoded or application/json.';
        return sendError(request, reply, 'UNSUPPORTED_MEDIA_TYPE', detail, unreadable);
      }
      const read = readValues(request.body);
      /**
       * The page again (to people), with what they typed and `errors` to show. Without the
       * known lead: its fields are left out of a progressive form only when the lead was read.
       */
      const pageAgain = async (status: number, errors: readonly FieldError[], knownLead = true) =>
        hostedPage(
          reply,
          status,
          form,
          await forms.fieldsFor(
            workspace,
            form,
            knownLead ? textValue(read.values, reserved.anonymousId) : undefined,
          ),
          {
            values: read.values,
            errors,
            token: textValue(read.values, reserved.token) ?? forms.token(form),
          },
        );
      if (!read.ok) {
        if (json)
          throw new DomainError('VALIDATION_FAILED', 'The submission has invalid fields.', read.errors);
        return pageAgain(422, read.errors);
      }
      const submission: Submission = {
        values: read.values,
        ip: request.ip ?? null,
        userAgent: firstValue(request.headers['user-agent'])?.slice(0, 500) ?? null,
        receivedAt: clock(),
      };

      let outcome: Awaited<ReturnType<FormService['submit']>>;
      try {
        outcome = await forms.submit(workspace, form, submission);
      } catch (error) {
        // What to fix, next to each field.
        if (!json && isDomainError(error) && error.code === 'VALIDATION_FAILED')
          return pageAgain(422, error.errors);
        if (isDomainError(error) && error.code === 'FORM_CLOSED') return closed(request, reply, form);
        if (!json && isDatabaseUnavailable(error)) {
          // Nothing was stored: the page again with what the person typed, to send once more. The
          // fields without the known lead's (progressive forms look it up in the same database).
          reply.header('retry-after', String(DATABASE_RETRY_AFTER_S));
          return pageAgain(503, [{ path: '/', message: UNSAVED_MESSAGE }], false);
        }
        throw error;
      }

      if (outcome.status === 'rate_limited') {
        reply.header('retry-after', String(outcome.retryAfterSeconds));
        const wait = outcome.retryAfterSeconds;
        if (json)
          return sendProblem(reply, problem('RATE_LIMITED', `Too many submissions: try again in ${wait} s.`));
        const message = `Too many submissions from here just now. Please try again in ${wait} seconds.`;
        // To send once the wait is over.
        return pageAgain(429, [{ path: '/', message }]);
      }
      // Accepted, a duplicate and a quarantined submission get the same answer: a bot learns
      // nothing about which of its attempts got through.
      const redirectUrl = form.thankYou?.redirectUrl;
      const magnet = form.leadMagnet;
      let leadMagnet: { title: string; url: string } | undefined;
      let thanksQuery = '';
      if (magnet && 'file' in magnet) {
        // A link of this submission's own. A quarantined one gets a working link too, naming an
        // id no submission has: the answer must not tell a bot it was caught (a URL magnet is
        // handed out the same way).
        const submissionId = 'submissionId' in outcome ? outcome.submissionId : newId();
        const token = magnetToken(form.secret, form.id, submissionId, clock());
        leadMagnet = { title: magnet.title, url: magnetUrl(publicUrl, form.slug, token) };
        thanksQuery = `?magnet=${token}`;
      } else if (magnet) {
        leadMagnet = { title: magnet.title, url: magnet.url };
      }
      if (json) {
        return reply.status(200).send({
          status: 'received',
          message: thankYouMessage(form),
          ...(redirectUrl ? { redirectUrl } : {}),
          ...(leadMagnet ? { leadMagnet } : {}),
        });
      }
      // Post/redirect/get: reloading the thank-you page does not send the form again. A hosted
      // file's link rides along to the thank-you page (a redirect elsewhere has it by email only).
      // Relative to the address posted to (`…/f/{slug}` -> `…/f/{slug}/thanks`): right behind a
      // path prefix and on whatever host the visitor used, even when LEADLINE_PUBLIC_URL is unset.
      return reply.redirect(redirectUrl ?? `${encodeURIComponent(form.slug)}/thanks${thanksQuery}`, 303);
    },
  );
}
