import Type from 'typebox';
import { Nullable } from '../http/schemas.ts';
import type { HttpApp } from '../http/types.ts';
import {
  MAX_ABSENCES,
  MAX_MEMBERS,
  MAX_WEIGHT,
  roles,
  type Team,
  type User,
  type UserInput,
  weekdays,
} from './model.ts';
import type { UserService } from './service.ts';
import type { TeamService } from './teams-service.ts';

const IdParams = Type.Object({ id: Type.String({ maxLength: 64 }) });
const Problem = Type.Object({}, { additionalProperties: true });
const Id = Type.String({ minLength: 1, maxLength: 64 });
const Time = Type.String({ format: 'date-time' });

/** A working interval: ["09:00", "17:30"] (checked further by the model: 422 naming the item). */
const Interval = Type.Array(Type.String({ maxLength: 5 }), { minItems: 2, maxItems: 2 });
const WorkingHours = Type.Object(
  Object.fromEntries(weekdays.map((day) => [day, Type.Optional(Type.Array(Interval, { maxItems: 12 }))])),
  {
    additionalProperties: false,
    description: 'Local working times per weekday, e.g. {"mon": [["09:00", "17:30"]]}',
  },
);
const Instant = Type.Union([Type.String({ maxLength: 40 }), Type.Integer({ minimum: 0 })], {
  description: 'ISO 8601 time with a zone, or epoch milliseconds',
});
const Limit = Nullable(Type.Integer({ minimum: 0, maximum: 1_000_000 }));

const UserFields = {
  name: Type.String({ minLength: 1, maxLength: 200 }),
  email: Type.String({ minLength: 1, maxLength: 320 }),
  role: Type.Enum(roles),
  timezone: Type.String({ minLength: 1, maxLength: 64, description: 'IANA time zone (Default: UTC)' }),
  workingHours: Nullable(WorkingHours),
  outOfOffice: Type.Array(Type.Object({ from: Instant, to: Instant }, { additionalProperties: false }), {
    maxItems: MAX_ABSENCES,
  }),
  capacity: Type.Object(
    { daily: Type.Optional(Limit), rolling30Days: Type.Optional(Limit) },
    { additionalProperties: false },
  ),
  managerId: Nullable(Id),
};

const CreateUserBody = Type.Object(
  {
    name: UserFields.name,
    email: UserFields.email,
    role: Type.Optional(UserFields.role),
    timezone: Type.Optional(UserFields.timezone),
    workingHours: Type.Optional(UserFields.workingHours),
    outOfOffice: Type.Optional(UserFields.outOfOffice),
    capacity: Type.Optional(UserFields.capacity),
    managerId: Type.Optional(UserFields.managerId),
  },
  { additionalProperties: false },
);

const PatchUserBody = Type.Object(
  {
    name: Type.Optional(UserFields.name),
    email: Type.Optional(UserFields.email),
    role: Type.Optional(UserFields.role),
    timezone: Type.Optional(UserFields.timezone),
    workingHours: Type.Optional(UserFields.workingHours),
    outOfOffice: Type.Optional(UserFields.outOfOffice),
    capacity: Type.Optional(UserFields.capacity),
    managerId: Type.Optional(UserFields.managerId),
    active: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

export const UserSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  email: Type.String(),
  role: Type.Enum(roles),
  timezone: Type.String(),
  workingHours: Nullable(WorkingHours),
  outOfOffice: Type.Array(Type.Object({ from: Time, to: Time })),
  capacity: Type.Object({ daily: Limit, rolling30Days: Limit }),
  managerId: Nullable(Type.String()),
  active: Type.Boolean(),
  createdAt: Time,
  updatedAt: Time,
});

const Members = Type.Array(
  Type.Object(
    { userId: Id, weight: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_WEIGHT, default: 1 })) },
    { additionalProperties: false },
  ),
  { maxItems: MAX_MEMBERS },
);

const TeamSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  members: Type.Array(Type.Object({ userId: Type.String(), weight: Type.Integer() })),
  createdAt: Time,
  updatedAt: Time,
});

const iso = (ms: number) => new Date(ms).toISOString();

export function userJson(user: User) {
  return {
    id: user.id,
    name: user.name,
    email: user.email,
    role: user.role,
    timezone: user.timezone,
    workingHours: user.workingHours,
    outOfOffice: user.outOfOffice.map((a) => ({ from: iso(a.from), to: iso(a.to) })),
    capacity: user.capacity,
    managerId: user.managerId,
    active: user.active,
    createdAt: iso(user.createdAt),
    updatedAt: iso(user.updatedAt),
  };
}

function teamJson(team: Team) {
  return {
    id: team.id,
    name: team.name,
    members: team.members,
    createdAt: iso(team.createdAt),
    updatedAt: iso(team.updatedAt),
  };
}

export function registerUserRoutes(
  app: HttpApp,
  { users, teams }: { users: UserService; teams: TeamService },
): void {
  const tags = ['users'];

  app.post(
    '/api/v1/users',
    {
      config: { scope: 'admin' },
      schema: {
        tags,
        summary: 'Add a sales rep or manager',
        description: '409 USER_EXISTS when the email belongs to another user of the workspace.',
        body: CreateUserBody,
        response: { 201: UserSchema, '4xx': Problem },
      },
    },
    async (request, reply) => {
      const user = await users.create(request.principal.workspaceId, request.body as UserInput);
      return reply.status(201).send(userJson(user));
    },
  );

  app.get(
    '/api/v1/users',
    {
      schema: {
        tags,
        summary: 'List users (by name)',
        querystring: Type.Object(
          { active: Type.Optional(Type.Boolean()), role: Type.Optional(Type.Enum(roles)) },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ data: Type.Array(UserSchema) }), '4xx': Problem },
      },
    },
    async (request) => ({
      data: (await users.list(request.principal.workspaceId, request.query)).map(userJson),
    }),
  );

  app.get(
    '/api/v1/users/:id',
    {
      schema: { tags, summary: 'One user', params: IdParams, response: { 200: UserSchema, '4xx': Problem } },
    },
    async (request) => userJson(await users.get(request.principal.workspaceId, request.params.id)),
  );

  app.patch(
    '/api/v1/users/:id',
    {
      config: { scope: 'admin' },
      schema: {
        tags,
        summary: 'Change a user (only the fields given); `active: true` reactivates',
        params: IdParams,
        body: PatchUserBody,
        response: { 200: UserSchema, '4xx': Problem },
      },
    },
    async (request) =>
      userJson(
        await users.update(request.principal.workspaceId, request.params.id, request.body as UserInput),
      ),
  );

  app.delete(
    '/api/v1/users/:id',
    {
      config: { scope: 'admin' },
      schema: {
        tags,
        summary: 'Deactivate a user',
        description:
          'The user keeps their leads and history and receives no new leads; PATCH `active: true` brings them back.',
        params: IdParams,
        response: { 200: UserSchema, '4xx': Problem },
      },
    },
    async (request) => userJson(await users.deactivate(request.principal.workspaceId, request.params.id)),
  );

  const teamTags = ['teams'];

  app.post(
    '/api/v1/teams',
    {
      config: { scope: 'admin' },
      schema: {
        tags: teamTags,
        summary: 'Create a team (members in rotation order, with weights)',
        body: Type.Object(
          { name: Type.String({ minLength: 1, maxLength: 200 }), members: Type.Optional(Members) },
          { additionalProperties: false },
        ),
        response: { 201: TeamSchema, '4xx': Problem },
      },
    },
    async (request, reply) => {
      const team = await teams.create(request.principal.workspaceId, request.body);
      return reply.status(201).send(teamJson(team));
    },
  );

  app.get(
    '/api/v1/teams',
    {
      schema: {
        tags: teamTags,
        summary: 'List teams (by name)',
        response: { 200: Type.Object({ data: Type.Array(TeamSchema) }), '4xx': Problem },
      },
    },
    async (request) => ({ data: (await teams.list(request.principal.workspaceId)).map(teamJson) }),
  );

  app.get(
    '/api/v1/teams/:id',
    {
      schema: {
        tags: teamTags,
        summary: 'One team',
        params: IdParams,
        response: { 200: TeamSchema, '4xx': Problem },
      },
    },
    async (request) => teamJson(await teams.get(request.principal.workspaceId, request.params.id)),
  );

  app.patch(
    '/api/v1/teams/:id',
    {
      config: { scope: 'admin' },
      schema: {
        tags: teamTags,
        summary: 'Rename a team and/or replace its member list',
        params: IdParams,
        body: Type.Object(
          {
            name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
            members: Type.Optional(Members),
          },
          { additionalProperties: false },
        ),
        response: { 200: TeamSchema, '4xx': Problem },
      },
    },
    async (request) =>
      teamJson(await teams.update(request.principal.workspaceId, request.params.id, request.body)),
  );

  app.delete(
    '/api/v1/teams/:id',
    {
      config: { scope: 'admin' },
      schema: {
        tags: teamTags,
        summary: 'Remove a team',
        description: '409 CONFLICT while a routing rule routes to it (the errors name the rules).',
        params: IdParams,
        response: { 204: Type.Null({ description: 'Removed' }), '4xx': Problem },
      },
    },
    async (request, reply) => {
      await teams.remove(request.principal.workspaceId, request.params.id);
      return reply.status(204).send(null);
    },
  );
}
