// /data/export, /data/import, /data/files (EMQX's emqx_mgmt_api_data_backup): the `emqx ctl data`
// archives through the API. An export is written by the node answering; files are listed from every
// running member (each with its node) and read, deleted or imported on the node holding them; an
// uploaded file is stored on `node` once it reads as an export.
import type { BackupFileInfo } from '../../db/backup/backup-files.js';
import type { ImportAnswer } from '../cluster/local-ops.js';
import { NodeDownError } from '../cluster/rpc.js';
import type { ApiContext } from '../context.js';
import { ApiError, ERROR_SCHEMA, badRequest } from '../errors.js';
import { rfc3339 } from '../format/time.js';
import { boundaryOf, filePart } from '../format/multipart.js';
import { attachment, noContent, ok, PAGE_QUERY, S, type RouteDef } from './route.js';

/** An import reads, checks and writes the whole archive: longer than any other call between nodes. */
const IMPORT_TIMEOUT_MS = 10 * 60_000;
/**
 * The largest upload. An upload travels to its node in one message between nodes (links take
 * 64 MiB); a busy cluster's export of 100,000 retained messages is under 1 MB.
 */
export const UPLOAD_LIMIT_BYTES = 60 * 1024 * 1024;

const FILE_INFO = S.obj({ node: S.str(), filename: S.str(), size: S.int(), created_at: S.str(), created_at_sec: S.int() }, [], true);
const FILENAME_PARAM = S.obj({ filename: { type: 'string', minLength: 1, maxLength: 255 } }, ['filename']);

const fileJson = (f: BackupFileInfo): Record<string, unknown> => ({ node: f.node, filename: f.filename, size: f.size, created_at: rfc3339(f.createdMs, 'second'), created_at_sec: Math.floor(f.createdMs / 1000) });

export function dataBackupRoutes(ctx: ApiContext): RouteDef[] {
  const { rpc } = ctx;
  /** `node` of a request: this node when absent; EMQX's 400 for one not running. */
  const nodeOf = (v: unknown): string => {
    const node = v === undefined ? rpc.self : String(v);
    if (!rpc.isRunning(node)) throw badRequest(`Unknown node: ${node}`);
    return node;
  };
  const onNode = async <T>(node: string, op: Parameters<typeof rpc.call>[1], timeoutMs?: number): Promise<T> => {
    try {
      return await rpc.call<T>(node, op, timeoutMs);
    } catch (err) {
      if (err instanceof NodeDownError) throw new ApiError(503, 'NODE_DOWN', err.message);
      throw err;
    }
  };
  /** The uploaded file's name and bytes, from a form (`curl -F filename=@x.tar.gz`) or a raw body (`?filename=`). */
  const uploaded = (req: Parameters<RouteDef['handler']>[0]): { filename: string; data: Buffer } => {
    const type = String(req.headers['content-type'] ?? '');
    if (!Buffer.isBuffer(req.body)) throw new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', 'send the file as multipart/form-data (field filename) or application/octet-stream (?filename=)');
    if (/^multipart\/form-data/i.test(type)) {
      // A page of another site can post a form; a browser may add cached Basic credentials (an
      // API key) to it, never a login token: forms need the token.
      if (req.principal?.kind !== 'token') throw new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', 'with an API key, send the file as application/octet-stream with ?filename= (a form upload needs a login token)');
      const boundary = boundaryOf(type);
      if (boundary === undefined) throw badRequest('multipart/form-data without a boundary');
      const part = filePart(req.body, boundary, 'filename');
      if ('error' in part) throw badRequest(part.error);
      return part;
    }
    const filename = req.query.filename;
    if (typeof filename !== 'string' || filename === '') throw badRequest('name the file: ?filename=<name>.tar.gz');
    return { filename, data: req.body };
  };
  return [
    {
      method: 'POST',
      url: '/data/files',
      tags: ['Data Backup'],
      summary: 'Upload an export file to `node` (default: this node); stored once it reads as an export, never over an existing file',
      querystring: S.obj({ node: S.str(), filename: { type: 'string', maxLength: 255 } }),
      upload: { limitBytes: UPLOAD_LIMIT_BYTES },
      response: { 204: { description: 'Stored' }, 400: ERROR_SCHEMA, 415: ERROR_SCHEMA, 503: ERROR_SCHEMA },
      async handler(req) {
        const { filename, data } = uploaded(req);
        const refused = await onNode<string | null>(nodeOf(req.query.node), { op: 'backup_upload', filename, data }, IMPORT_TIMEOUT_MS);
        if (refused !== null) throw badRequest(refused);
        return noContent();
      },
    },
    {
      method: 'POST',
      url: '/data/export',
      tags: ['Data Backup'],
      summary: "Export the cluster's data to a file on this node (as `emqx ctl data export`)",
      response: { 200: FILE_INFO, 400: ERROR_SCHEMA },
      async handler() {
        try {
          return ok(fileJson(await ctx.local.backupExport()));
        } catch (err) {
          throw badRequest(err instanceof Error ? err.message : String(err));
        }
      },
    },
    {
      method: 'POST',
      url: '/data/import',
      notWhileJoining: true,
      tags: ['Data Backup'],
      summary: 'Import an export file held by `node` (default: this node), checked whole first, merged cluster-wide',
      body: S.obj({ filename: { type: 'string', minLength: 1, maxLength: 255 }, node: S.str() }, ['filename']),
      response: { 204: { description: 'Imported' }, 400: ERROR_SCHEMA, 404: ERROR_SCHEMA, 409: ERROR_SCHEMA },
      async handler(req) {
        const b = req.body as { filename: string; node?: string };
        const a = await onNode<ImportAnswer>(nodeOf(b.node), { op: 'backup_import', filename: b.filename }, IMPORT_TIMEOUT_MS);
        if (a.ok) return noContent();
        throw new ApiError(a.code === 'NOT_FOUND' ? 404 : a.code === 'CONFLICT' ? 409 : 400, a.code, a.message);
      },
    },
    {
      method: 'GET',
      url: '/data/files',
      tags: ['Data Backup'],
      summary: 'The export files of every running member, newest first',
      querystring: S.obj(PAGE_QUERY),
      response: { 200: S.obj({ data: S.arr(FILE_INFO), meta: S.any() }, ['data', 'meta']) },
      async handler(req) {
        const q = req.query as { page: number; limit: number };
        const g = await rpc.gather<BackupFileInfo[]>({ op: 'backup_files' });
        const all = g.answers.flatMap((a) => a.value).sort((x, y) => y.createdMs - x.createdMs || (x.filename < y.filename ? 1 : -1));
        const start = (q.page - 1) * q.limit;
        return ok({ data: all.slice(start, start + q.limit).map(fileJson), meta: { page: q.page, limit: q.limit, count: all.length, hasnext: start + q.limit < all.length } });
      },
    },
    {
      method: 'GET',
      url: '/data/files/:filename',
      tags: ['Data Backup'],
      summary: 'Download an export file of `node` (default: this node)',
      params: FILENAME_PARAM,
      querystring: S.obj({ node: S.str() }),
      response: { 400: ERROR_SCHEMA, 404: ERROR_SCHEMA },
      async handler(req) {
        const filename = req.params.filename!;
        const data = await onNode<Uint8Array | null>(nodeOf((req.query as { node?: string }).node), { op: 'backup_read', filename });
        if (data === null) throw new ApiError(404, 'NOT_FOUND', 'Backup file not found');
        return attachment(Buffer.from(data), filename);
      },
    },
    {
      method: 'DELETE',
      url: '/data/files/:filename',
      tags: ['Data Backup'],
      summary: 'Delete an export file of `node` (default: this node)',
      params: FILENAME_PARAM,
      querystring: S.obj({ node: S.str() }),
      response: { 204: { description: 'Deleted' }, 400: ERROR_SCHEMA, 404: ERROR_SCHEMA },
      async handler(req) {
        const gone = await onNode<boolean>(nodeOf((req.query as { node?: string }).node), { op: 'backup_delete', filename: req.params.filename! });
        if (!gone) throw new ApiError(404, 'NOT_FOUND', 'Backup file not found');
        return noContent();
      },
    },
  ];
}
