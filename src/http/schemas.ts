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
