import { Router, text, type Response } from 'express';
import type { Kysely } from 'kysely';
import { CmdbDocumentError } from '../cmdb/cmdb-document';
import type { CmdbLoader } from '../cmdb/cmdb-loader';
import { readCmdbMeta, readCmdbPages, type CmdbMeta } from '../store/cmdb-store';
import type { Database } from '../store/database';
import { requireRole } from '../http/auth';
import { sendError } from '../http/errors';
import type { RouteDoc } from '../http/route-doc';
import { cmdbDocumentSchema } from '../cmdb/cmdb-schema';

export interface CmdbRouterDeps {
  readonly db: Kysely<Database>;
  readonly loader: CmdbLoader;
  /** QUELL_CMDB_MAX_BYTES: largest document PUT takes. */
  readonly maxBytes: number;
}

const YAML_TYPES = ['application/yaml', 'application/x-yaml', 'text/yaml', 'text/x-yaml'];

/**
 * The CMDB API (v1). Both ways need an admin token: the topology is a map of the whole
 * infrastructure.
 *
 * - `PUT /api/v1/cmdb`: the whole document, JSON (or YAML with a YAML content type), replaces
 *   the topology in one transaction: `200 {"version","changed","cis","relations",…}`; a bad
 *   document is a 400 naming the field, and nothing changes.
 * - `GET /api/v1/cmdb`: the document in force with its `meta` (version, hash, source,
 *   loaded_at, counts), streamed page by page; `ETag` is the version and hash, so
 *   `If-None-Match` answers 304 without a body. PUT ignores `meta`: what GET gives can be PUT back.
 */
export function cmdbRouter(deps: CmdbRouterDeps): Router {
  const router = Router();
  // Both ways need an admin token (not mere reads, even with QUELL_OPEN_READS): the topology
  // is a map of the whole infrastructure, and it is configuration.
  const auth = requireRole('admin');

  router.put('/api/v1/cmdb', auth, text({ type: () => true, limit: deps.maxBytes }), async (req, res) => {
    const format = req.is(YAML_TYPES) ? 'yaml' : 'json';
    const body = typeof req.body === 'string' ? req.body : '';
    try {
      const stored = await deps.loader.load(body, format, { kind: 'api' });
      res.json({ ...metaJson(stored), changed: stored.changed });
    } catch (err) {
      if (!(err instanceof CmdbDocumentError)) throw err;
      if (err.field === '' && format === 'json') { sendError(res, 'invalid_json', `body is ${err.reason}`); return; }
      sendError(res, 'invalid_payload', err.message, {
        field: err.field, ...(err.position ? { line: err.position.line, column: err.position.column } : {}),
      });
    }
  });

  router.get('/api/v1/cmdb', auth, async (req, res) => {
    const meta = await readCmdbMeta(deps.db);
    const etag = `"${meta.version}-${meta.hash.slice(0, 16)}"`;
    res.setHeader('ETag', etag);
    if (req.headers['if-none-match'] === etag) { res.status(304).end(); return; }
    res.status(200).type('application/json');
    try {
      if (!await write(res, `{"meta":${JSON.stringify(metaJson(meta))},"cis":[`)) return;
      let section = 'cis';
      let written = 0;
      for await (const page of readCmdbPages(deps.db, meta)) {
        const [name, rows] = 'cis' in page ? ['cis', page.cis] : ['relations', page.relations];
        if (name !== section) {
          if (!await write(res, '],"relations":[')) return;
          section = name;
          written = 0;
        }
        if (!await write(res, `${written > 0 ? ',' : ''}${rows.map((r) => JSON.stringify(r)).join(',')}`)) return;
        written += rows.length;
      }
      await write(res, section === 'cis' ? '],"relations":[]}' : ']}');
      res.end();
    } catch (err) {
      // Mid-stream (replaced meanwhile, database gone): cut the response so the client sees it incomplete.
      res.destroy(err as Error);
    }
  });
  return router;
}

function metaJson(meta: CmdbMeta): Record<string, unknown> {
  return {
    version: meta.version, hash: meta.hash, source: meta.source, loaded_at: meta.loadedAt?.toISOString() ?? null,
    cis: meta.cis, relations: meta.relations,
  };
}

/** Writes with backpressure; false once the client has gone. */
async function write(res: Response, chunk: string): Promise<boolean> {
  if (res.destroyed) return false;
  if (res.write(chunk)) return true;
  await new Promise<void>((resolve) => {
    const done = (): void => { res.off('drain', done); res.off('close', done); resolve(); };
    res.on('drain', done);
    res.on('close', done);
  });
  return !res.destroyed;
}

/** The routes above as the API description tells them (src/http/openapi-document.ts). */
export const CMDB_ROUTES: readonly RouteDoc[] = [
  {
    method: 'put', path: '/api/v1/cmdb', tag: 'cmdb', access: 'admin', body: cmdbDocumentSchema,
    summary: 'replace the topology (JSON, or YAML with content-type application/yaml)',
  },
  { method: 'get', path: '/api/v1/cmdb', tag: 'cmdb', access: 'admin', summary: 'the topology in force (ETag)' },
];
