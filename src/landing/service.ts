import type { Transaction } from 'kysely';
import type { Database } from '../db/database.ts';
import { newId } from '../db/ids.ts';
import type { DB } from '../db/schema.ts';
import { writeWithSlug } from '../db/unique-violation.ts';
import { DomainError, type FieldError, isDomainError, validationError } from '../errors.ts';
import type { Workspace } from '../workspaces/model.ts';
import { unrenderableBody } from './markdown.ts';
import {
  embeddedForms,
  type LandingPage,
  type LandingPageInput,
  type LandingVariantInput,
  prepareLandingPage,
} from './model.ts';
import * as store from './store.ts';

/** What landing pages need of the forms domain: which workspace a form slug belongs to. */
export interface FormDirectory {
  getPublic(slug: string): Promise<{ workspace: { id: string } }>;
}

export interface LandingServiceDeps {
  database: Database;
  forms: FormDirectory;
  workspaces: { getWorkspace(id: string): Promise<Workspace> };
  clock: () => number;
}

export type LandingService = ReturnType<typeof createLandingService>;

const notFound = (what: string) => new DomainError('LANDING_PAGE_NOT_FOUND', `No landing page ${what}.`);

function slugTaken(slug: string): DomainError {
  return new DomainError('LANDING_PAGE_EXISTS', `The slug ${slug} is taken by another landing page.`, [
    { path: '/slug', message: 'is already the address of another landing page' },
  ]);
}

export function createLandingService({ database, forms, workspaces, clock }: LandingServiceDeps) {
  const { db } = database;
  // A change writes the whole page back: read under a row lock on PostgreSQL, or two processes
  // changing different fields at once would each undo the other's. SQLite serialises writers.
  const lock = database.engine === 'postgres';

  /**
   * Every embedded form must be a form of this workspace. Checked before the write's
   * transaction (the forms domain reads through its own handle): a form archived meanwhile only
   * leaves the page without its form, which the public page handles.
   */
  async function checkForms(workspaceId: string, variants: LandingVariantInput[] | undefined): Promise<void> {
    if (variants === undefined) return;
    const named = embeddedForms(variants);
    const errors: FieldError[] = [];
    for (const { slug, path } of named) {
      const owner = await forms.getPublic(slug).then(
        (found) => found.workspace.id,
        (error: unknown) => {
          if (isDomainError(error) && error.code === 'FORM_NOT_FOUND') return undefined;
          throw error;
        },
      );
      if (owner !== workspaceId) errors.push({ path, message: 'is not a form of this workspace' });
    }
    if (errors.length > 0) throw validationError(errors);
  }

  /** Refuses bodies that would fail or stall every view of the page (see `unrenderableBody`). */
  function checkBodiesRender(variants: LandingPageInput['variants']): void {
    const errors = (variants ?? []).flatMap((variant, i) => {
      const problem = variant.body === undefined ? undefined : unrenderableBody(variant.body);
      return problem ? [{ path: `/variants/${i}/body`, message: problem }] : [];
    });
    if (errors.length > 0) throw validationError(errors);
  }

  /** Runs a write, turning a lost race for the slug into the same 409 as a taken one. */
  const writeWithTakenSlug = <T>(slug: string, work: (trx: Transaction<DB>) => Promise<T>): Promise<T> =>
    writeWithSlug(database, work, () => slugTaken(slug));

  return {
    list: (workspaceId: string, filter: store.LandingPageFilter = {}) =>
      store.listLandingPages(db, workspaceId, filter),

    async get(workspaceId: string, id: string): Promise<LandingPage> {
      const page = await store.findLandingPage(db, workspaceId, id);
      if (!page) throw notFound(id);
      return page;
    },

    async create(workspaceId: string, input: LandingPageInput): Promise<LandingPage> {
      const prepared = prepareLandingPage(null, input, { id: newId(), workspaceId }, clock());
      if (!prepared.ok) throw validationError(prepared.errors);
      checkBodiesRender(input.variants);
      await checkForms(workspaceId, input.variants);
      const page = prepared.page;
      return writeWithTakenSlug(page.slug, async (trx) => {
        // ON CONFLICT DO NOTHING rather than look-then-insert: two creations of one slug give
        // one page and one 409, not a unique-violation 500.
        if (!(await store.insertLandingPage(trx, page))) throw slugTaken(page.slug);
        return page;
      });
    },

    /** Changes the given fields; `variants` replaces the whole list. */
    async update(workspaceId: string, id: string, input: LandingPageInput): Promise<LandingPage> {
      checkBodiesRender(input.variants);
      await checkForms(workspaceId, input.variants);
      return writeWithTakenSlug(input.slug ?? '', async (trx) => {
        const current = await store.findLandingPage(trx, workspaceId, id, lock);
        if (!current) throw notFound(id);
        const prepared = prepareLandingPage(current, input, { id, workspaceId }, clock());
        if (!prepared.ok) throw validationError(prepared.errors);
        const page = prepared.page;
        if (page.slug !== current.slug) {
          const holder = await store.slugHolder(trx, page.slug);
          if (holder !== undefined && holder !== id) throw slugTaken(page.slug);
        }
        await store.updateLandingPage(trx, page);
        return page;
      });
    },

    /** What DELETE does: the page answers 410 from then on and its slug stays taken. */
    async archive(workspaceId: string, id: string): Promise<LandingPage> {
      return database.writes.run(async (trx) => {
        const current = await store.findLandingPage(trx, workspaceId, id, lock);
        if (!current) throw notFound(id);
        if (current.status === 'archived') return current;
        const page: LandingPage = { ...current, status: 'archived', updatedAt: clock() };
        await store.updateLandingPage(trx, page);
        return page;
      });
    },

    /** A page of the workspace with the workspace (for the preview: any status). */
    async getWithWorkspace(
      workspaceId: string,
      id: string,
    ): Promise<{ workspace: Workspace; page: LandingPage }> {
      const page = await store.findLandingPage(db, workspaceId, id);
      if (!page) throw notFound(id);
      return { workspace: await workspaces.getWorkspace(workspaceId), page };
    },

    /**
     * The page at a public address with its workspace; drafts are not public (404). Archived
     * pages are returned: the public route answers them with 410.
     */
    async getPublic(slug: string): Promise<{ workspace: Workspace; page: LandingPage }> {
      const page = await store.findLandingPageBySlug(db, slug);
      if (!page || page.status === 'draft') throw notFound(slug);
      return { workspace: await workspaces.getWorkspace(page.workspaceId), page };
    },
  };
}
