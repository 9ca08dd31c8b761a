import type { FastifyRequest } from 'fastify';
import { DomainError, validationError } from '../errors.ts';
import { isStream, unstorableTextErrors } from '../storable-text.ts';

/**
 * preValidation hook for every route: refuses unstorable text in params, query and body (422),
 * and a streamed (CSV) or multipart body sent to a route that takes a JSON body (415) — those
 * parsers exist for the import routes, and would otherwise reach a JSON schema as a stream.
 * Form-encoded bodies are for the public pages (hosted forms posted by browsers without
 * JavaScript): the API takes JSON only, so its schemas never see a body of strings.
 */
export async function inputGuardHook(request: FastifyRequest): Promise<void> {
  const contentType = request.headers['content-type'] ?? '';
  // Multipart leaves the body empty unless a route asks for its fields as the body.
  const unparsedMultipart = /^\s*multipart\//i.test(contentType) && request.body === undefined;
  // Form posts and sendBeacon's text/plain are for the public routes that read them; on the
  // API a text body would only meet the schema as a string ("must be object").
  const formOrText = /^\s*(?:application\/x-www-form-urlencoded|text\/plain)/i.test(contentType);
  if (
    request.routeOptions.schema?.body &&
    (isStream(request.body) || unparsedMultipart || (formOrText && !request.routeOptions.config?.public))
  ) {
    const takes = request.routeOptions.config?.bodyTypes ?? 'a JSON body (application/json)';
    throw new DomainError('UNSUPPORTED_MEDIA_TYPE', `This route takes ${takes}.`);
  }
  const errors = [
    ...unstorableTextErrors(request.params, '/params'),
    ...unstorableTextErrors(request.query, '/query'),
    ...(isStream(request.body) || request.routeOptions.config?.checksBodyText
      ? []
      : unstorableTextErrors(request.body)),
  ];
  if (errors.length > 0) throw validationError(errors);
}
