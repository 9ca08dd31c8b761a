import Type from 'typebox';
import { validationError } from '../errors.ts';
import type { HttpApp } from '../http/types.ts';
import { normaliseCountry } from '../leads/normalise.ts';
import { type ApiKey, scopes, type Workspace } from './model.ts';
import type { WorkspaceService } from './service.ts';

/**
 * The settings a key may change here. Closed: the stored settings hold more (the lifecycle
 * settings, changed through their own validated routes), and an unknown key merged into them
 * could overwrite those with anything.
 */
const SettingsSchema = Type.Object(
  {
    // null: none (national phone numbers are then refused rather than read as some country's).
    defaultCountry: Type.Optional(Type.Union([Type.String({ maxLength: 100 }), Type.Null()])),
    strictProperties: Type.Optional(Type.Boolean()),
    allowPrivateWebhookTargets: Type.Optional(Type.Boolean()),
    scoreThresholds: Type.Optional(
      Type.Array(Type.Number({ minimum: 0, maximum: 100 }), { maxItems: 20, uniqueItems: true }),
    ),
  },
  { additionalProperties: false },
);
const WorkspaceSchema = Type.Object({
  id: Type.String(),
  slug: Type.String(),
  name: Type.String(),
  settings: SettingsSchema,
  createdAt: Type.String(),
});
const KeySchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  scope: Type.Enum(scopes),
  prefix: Type.String(),
  createdAt: Type.String(),
  revokedAt: Type.Union([Type.String(), Type.Null()]),
});

const workspaceJson = (w: Workspace) => ({ ...w, createdAt: new Date(w.createdAt).toISOString() });
const keyJson = (k: ApiKey) => ({
  id: k.id,
  name: k.name,
  scope: k.scope,
  prefix: k.prefix,
  createdAt: new Date(k.createdAt).toISOString(),
  revokedAt: k.revokedAt === null ? null : new Date(k.revokedAt).toISOString(),
});

export function registerWorkspaceRoutes(app: HttpApp, workspaces: WorkspaceService): void {
  const tags = ['workspace'];
  app.get(
    '/api/v1/workspace',
    { schema: { tags, summary: "The key's workspace", response: { 200: WorkspaceSchema } } },
    async (request) => workspaceJson(await workspaces.getWorkspace(request.principal.workspaceId)),
  );

  app.patch(
    '/api/v1/workspace',
    {
      config: { scope: 'admin' },
      schema: {
        tags,
        summary: 'Change workspace settings',
        body: Type.Object({ settings: SettingsSchema }, { additionalProperties: false }),
        response: { 200: WorkspaceSchema },
      },
    },
    async (request) => {
      const settings = { ...request.body.settings };
      if (typeof settings.defaultCountry === 'string') {
        const country = normaliseCountry(settings.defaultCountry);
        if (!country.ok)
          throw validationError([{ path: '/settings/defaultCountry', message: country.message }]);
        settings.defaultCountry = country.value;
      }
      return workspaceJson(await workspaces.updateSettings(request.principal.workspaceId, settings));
    },
  );

  app.get(
    '/api/v1/keys',
    {
      config: { scope: 'admin' },
      schema: {
        tags,
        summary: "The workspace's API keys (never their secrets)",
        response: { 200: Type.Object({ data: Type.Array(KeySchema) }) },
      },
    },
    async (request) => ({ data: (await workspaces.listKeys(request.principal.workspaceId)).map(keyJson) }),
  );

  app.post(
    '/api/v1/keys',
    {
      config: { scope: 'admin' },
      schema: {
        tags,
        summary: 'Create an API key; its secret is shown only in this response',
        body: Type.Object(
          { name: Type.String({ minLength: 1, maxLength: 200 }), scope: Type.Enum(scopes) },
          { additionalProperties: false },
        ),
        response: { 201: Type.Object({ key: Type.String(), apiKey: KeySchema }) },
      },
    },
    async (request, reply) => {
      const { key, apiKey } = await workspaces.createKey(
        request.principal.workspaceId,
        request.body.name,
        request.body.scope,
      );
      return reply.status(201).send({ key, apiKey: keyJson(apiKey) });
    },
  );

  app.delete(
    '/api/v1/keys/:id',
    {
      config: { scope: 'admin' },
      schema: {
        tags,
        summary: 'Revoke an API key',
        params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
      },
    },
    async (request, reply) => {
      await workspaces.revokeKey(request.principal.workspaceId, request.params.id);
      return reply.status(204).send();
    },
  );
}
