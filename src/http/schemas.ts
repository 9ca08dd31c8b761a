import Type from 'typebox';

/** Schemas more than one domain's routes use. */

/** `schema` or null. */
export const Nullable = <T extends Type.TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

/**
 * An id a client may give a thing it defines in a list it PUTs (routing rules, SLA policies),
 * so a later PUT keeps it: letters, digits and `_ . : -`, as event ids. An empty id or one with
 * spaces or slashes would be stored and then be hard to name in a URL or a log.
 */
export const ClientIdSchema = Type.String({ pattern: '^[A-Za-z0-9_.:-]{1,64}$' });

/**
 * A URL Leadline will call (webhooks, alert channels): no spaces or control characters. A URL
 * parser drops tabs and line breaks and encodes spaces, so a URL stored with them would not be
 * the one called, and the subscription would not say where its deliveries go.
 */
export const TargetUrlSchema = Type.String({
  minLength: 1,
  maxLength: 2000,
  pattern: '^[^\\s\\u0000-\\u001f\\u007f]+$',
  description: 'http(s) URL that receives the POSTs',
});
