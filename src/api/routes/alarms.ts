// EMQX's alarms API (emqx_mgmt_api_alarms): GET /alarms lists every running member's active
// alarms (`activated=true`, the default, as in EMQX's code) or their history (`activated=false`),
// paged; DELETE /alarms clears the history on every running member. Each member answers for
// its own alarms, as in EMQX.
import type { ApiContext } from '../context.js';
import { ERROR_SCHEMA } from '../errors.js';
import { clusterPage, onEveryMember } from './paging.js';
import { noContent, ok, PAGE_QUERY, S, type RouteDef } from './route.js';

export function alarmRoutes(ctx: ApiContext): RouteDef[] {
  return [
    {
      method: 'GET',
      url: '/alarms',
      tags: ['Alarms'],
      summary: 'Alarms of the running members: active ones (activated=true, the default) or deactivated ones (activated=false)',
      querystring: S.obj({ ...PAGE_QUERY, activated: { type: 'boolean', default: true } }),
      response: { 200: S.any() },
      async handler(req) {
        const q = req.query as { page: number; limit: number; activated: boolean };
        return ok(await clusterPage(ctx.rpc, (page) => ({ op: 'alarms', activated: q.activated, page }), q.page, q.limit));
      },
    },
    {
      method: 'DELETE',
      url: '/alarms',
      tags: ['Alarms'],
      summary: 'Removes the deactivated alarms of every running member (active ones stay)',
      response: { 204: S.any(), 503: ERROR_SCHEMA },
      async handler() {
        await onEveryMember(ctx.rpc, { op: 'alarms_clear' }, 'their deactivated alarms may remain');
        return noContent();
      },
    },
  ];
}
