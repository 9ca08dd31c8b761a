import Type from 'typebox';
import { validationError } from '../errors.ts';
import type { HttpApp } from '../http/types.ts';
import { iso } from '../leads/json.ts';
import type { LeadService } from '../leads/service.ts';
import type { WorkspaceService } from '../workspaces/service.ts';
import { modelTextOf, modelToYaml, notUtf8, parseModelText, validateModel } from './model-format.ts';
import type { RescoreProgress, RescoreService } from './rescore.ts';
import type { ScoringService } from './service.ts';

export interface ScoringRouteDeps {
  scoring: ScoringService;
  rescore: RescoreService;
  leads: LeadService;
  workspaces: WorkspaceService;
}

const Problem = Type.Object({}, { additionalProperties: true });
const ModelDocument = Type.Object({}, { additionalProperties: true });
const YAML_TYPES = ['application/yaml', 'application/x-yaml', 'text/yaml'];

/** A rescore's progress as the API shows it (also after lifecycle settings or a preset change). */
export const ProgressSchema = Type.Object({
  id: Type.String(),
  status: Type.Union([Type.Literal('running'), Type.Literal('done'), Type.Literal('failed')]),
  dryRun: Type.Boolean(),
  total: Type.Integer(),
  done: Type.Integer(),
  bandChanged: Type.Integer(),
  stageChanged: Type.Integer(),
  startedAt: Type.String({ format: 'date-time' }),
  finishedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  error: Type.Union([Type.String(), Type.Null()]),
});

export function progressJson(p: RescoreProgress) {
  return {
    id: p.id,
    status: p.status,
    dryRun: p.dryRun,
    total: p.total,
    done: p.done,
    bandChanged: p.bandChanged,
    stageChanged: p.stageChanged,
    startedAt: iso(p.startedAt),
    finishedAt: p.finishedAt === null ? null : iso(p.finishedAt),
    error: p.error,
  };
}

export function registerScoringRoutes(
  app: HttpApp,
  { scoring, rescore, leads, workspaces }: ScoringRouteDeps,
): void {
  const tags = ['scoring'];
  app.addContentTypeParser(YAML_TYPES, { parseAs: 'buffer' }, (_request, body, done) => {
    const text = modelTextOf(body as Buffer);
    if (text === undefined) done(validationError([notUtf8]));
    else done(null, text);
  });

  app.get(
    '/api/v1/scoring/model',
    {
      schema: {
        tags,
        summary: 'The active scoring model (JSON, or YAML with ?format=yaml)',
        querystring: Type.Object(
          { format: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('yaml')])) },
          { additionalProperties: false },
        ),
      },
    },
    async (request, reply) => {
      const active = await scoring.activeModel(request.principal.workspaceId);
      reply.header('leadline-model-version', String(active.version));
      if (request.query.format === 'yaml')
        return reply.type('application/yaml').send(modelToYaml(active.model));
      return {
        version: active.version,
        createdBy: active.createdBy,
        createdAt: active.createdAt === null ? null : iso(active.createdAt),
        model: active.model,
      };
    },
  );

  app.put(
    '/api/v1/scoring/model',
    {
      config: { scope: 'admin', bodyTypes: 'a JSON body (application/json) or YAML (application/yaml)' },
      schema: {
        tags,
        summary: 'Save a new version of the scoring model (JSON body, or YAML with a YAML content type)',
        description:
          'Every save is a new version. The leads are then rescored in the background (GET ' +
          '/api/v1/scoring/rescore reports progress). With ?dryRun=true nothing is saved: the answer ' +
          'says how many leads would change score band (quarters of 0–100) and stage.',
        querystring: Type.Object({ dryRun: Type.Optional(Type.Boolean()) }, { additionalProperties: false }),
        body: Type.Union([ModelDocument, Type.String()]),
        response: {
          200: Type.Object({ version: Type.Integer(), rescore: ProgressSchema }),
          '4xx': Problem,
        },
      },
    },
    async (request, reply) => {
      const parsed =
        typeof request.body === 'string' ? parseModelText(request.body, 'yaml') : validateModel(request.body);
      if (!parsed.ok) throw validationError(parsed.errors, 'The scoring model is invalid.');
      const workspace = await workspaces.getWorkspace(request.principal.workspaceId);
      if (request.query.dryRun) {
        const context = { ...(await scoring.context(workspace)), model: parsed.model };
        const result = await rescore.run(workspace, { context, dryRun: true });
        return reply.send({
          version: (await scoring.activeModel(workspace.id)).version,
          rescore: progressJson(result),
        });
      }
      const saved = await scoring.saveModel(workspace.id, parsed.model, `key:${request.principal.keyId}`);
      return { version: saved.version, rescore: progressJson(rescore.start(workspace)) };
    },
  );

  app.get(
    '/api/v1/scoring/model/versions',
    {
      schema: {
        tags,
        summary: 'Every saved version of the scoring model, newest first',
        response: {
          200: Type.Object({
            data: Type.Array(
              Type.Object({
                version: Type.Integer(),
                createdBy: Type.String(),
                createdAt: Type.String({ format: 'date-time' }),
              }),
            ),
          }),
        },
      },
    },
    async (request) => ({
      data: (await scoring.versions(request.principal.workspaceId)).map((v) => ({
        version: v.version,
        createdBy: v.createdBy,
        createdAt: iso(v.createdAt),
      })),
    }),
  );

  app.post(
    '/api/v1/scoring/rescore',
    {
      config: { scope: 'admin' },
      schema: {
        tags,
        summary: 'Rescore every lead with the active model (in the background)',
        response: { 202: ProgressSchema },
      },
    },
    async (request, reply) => {
      const workspace = await workspaces.getWorkspace(request.principal.workspaceId);
      return reply.code(202).send(progressJson(rescore.start(workspace)));
    },
  );

  app.get(
    '/api/v1/scoring/rescore',
    {
      schema: {
        tags,
        summary: "This workspace's latest rescore on this server process (null: none yet)",
        response: { 200: Type.Object({ latest: Type.Union([ProgressSchema, Type.Null()]) }) },
      },
    },
    async (request) => {
      const progress = rescore.status(request.principal.workspaceId);
      return { latest: progress ? progressJson(progress) : null };
    },
  );

  app.get(
    '/api/v1/leads/:id/score',
    {
      schema: {
        tags,
        summary: 'Why a lead has its score: each rule that fired, its points then and now, caps',
        params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
      },
    },
    async (request) => {
      const lead = await leads.get(request.principal.workspaceId, request.params.id);
      const explanation = await scoring.explain(lead);
      return {
        ...explanation,
        at: iso(explanation.at),
        rules: explanation.rules.map((r) => ({
          ...r,
          firstAt: r.firstAt === null ? null : iso(r.firstAt),
          lastAt: r.lastAt === null ? null : iso(r.lastAt),
        })),
      };
    },
  );
}
