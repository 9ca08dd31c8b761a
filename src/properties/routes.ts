import Type from 'typebox';
import type { HttpApp } from '../http/types.ts';
import { PROPERTY_NAME_PATTERN, type PropertyDefinition, propertyTypes } from './model.ts';
import type { PropertyService } from './service.ts';

const PropertySchema = Type.Object({
  name: Type.String(),
  type: Type.Enum(propertyTypes),
  label: Type.Union([Type.String(), Type.Null()]),
  options: Type.Union([Type.Array(Type.String()), Type.Null()]),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
});

const Name = Type.String({ pattern: PROPERTY_NAME_PATTERN });
const Options = Type.Array(Type.String({ minLength: 1, maxLength: 200 }), { minItems: 1, maxItems: 500 });

function toJson(d: PropertyDefinition) {
  return {
    ...d,
    createdAt: new Date(d.createdAt).toISOString(),
    updatedAt: new Date(d.updatedAt).toISOString(),
  };
}

export function registerPropertyRoutes(app: HttpApp, properties: PropertyService): void {
  const tags = ['properties'];
  app.get(
    '/api/v1/properties',
    {
      schema: {
        tags,
        summary: 'List custom property definitions',
        response: { 200: Type.Object({ data: Type.Array(PropertySchema) }) },
      },
    },
    async (request) => ({ data: (await properties.list(request.principal.workspaceId)).map(toJson) }),
  );

  app.post(
    '/api/v1/properties',
    {
      config: { scope: 'admin' },
      schema: {
        tags,
        summary: 'Define a custom property',
        body: Type.Object(
          {
            name: Name,
            type: Type.Enum(propertyTypes),
            label: Type.Optional(Type.String({ maxLength: 200 })),
            options: Type.Optional(Options),
          },
          { additionalProperties: false },
        ),
        response: { 201: PropertySchema },
      },
    },
    async (request, reply) => {
      const created = await properties.create(request.principal.workspaceId, request.body);
      return reply.status(201).send(toJson(created));
    },
  );

  app.get(
    '/api/v1/properties/:name',
    {
      schema: {
        tags,
        summary: 'One property definition',
        params: Type.Object({ name: Type.String() }),
        response: { 200: PropertySchema },
      },
    },
    async (request) => toJson(await properties.get(request.principal.workspaceId, request.params.name)),
  );

  app.patch(
    '/api/v1/properties/:name',
    {
      config: { scope: 'admin' },
      schema: {
        tags,
        summary: 'Change a property label or enum options',
        params: Type.Object({ name: Type.String() }),
        body: Type.Object(
          { label: Type.Optional(Type.String({ maxLength: 200 })), options: Type.Optional(Options) },
          { additionalProperties: false },
        ),
        response: { 200: PropertySchema },
      },
    },
    async (request) =>
      toJson(await properties.update(request.principal.workspaceId, request.params.name, request.body)),
  );

  app.delete(
    '/api/v1/properties/:name',
    {
      config: { scope: 'admin' },
      schema: {
        tags,
        summary: 'Remove a property definition (values stay on leads)',
        params: Type.Object({ name: Type.String() }),
      },
    },
    async (request, reply) => {
      await properties.remove(request.principal.workspaceId, request.params.name);
      return reply.status(204).send();
    },
  );
}
