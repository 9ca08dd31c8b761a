import type { TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import type { FieldError } from './errors.ts';

/**
 * A compiled TypeBox validator that reports field errors the same way the HTTP edge does, for
 * inputs that do not pass through Fastify's schema check (batch items, CSV rows, events).
 * One error per field: the last (most general) message ajv-style validators give for it.
 */
export function compileValidator(schema: TSchema): (value: unknown, basePath?: string) => FieldError[] {
  const compiled = Compile(schema);
  return (value, basePath = '') => {
    if (compiled.Check(value)) return [];
    const byPath = new Map<string, string>();
    for (const error of compiled.Errors(value)) {
      const params = error.params as Record<string, unknown>;
      if (error.keyword === 'boolean') {
        byPath.set(`${basePath}${error.instancePath}`, 'is not a known field');
        continue;
      }
      if (error.keyword === 'additionalProperties') continue;
      // Only lists the keys; the error under it names each key and the rule it broke.
      if (error.keyword === 'propertyNames') continue;
      if (error.schemaPath.endsWith('/propertyNames')) {
        byPath.set(`${basePath}${error.instancePath}`, `is not a valid property name: ${error.message}`);
        continue;
      }
      let path = error.instancePath;
      if (error.keyword === 'required' && Array.isArray(params.requiredProperties)) {
        for (const name of params.requiredProperties) byPath.set(`${basePath}${path}/${name}`, 'is required');
        continue;
      }
      if (!path) path = '';
      byPath.set(`${basePath}${path}` || '/', error.message);
    }
    return [...byPath].map(([path, message]) => ({ path: path || '/', message }));
  };
}
