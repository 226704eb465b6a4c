// EMQX's slow subscriptions API (emqx_slow_subs_api): every running member's slowest deliveries,
// slowest first, paged; the lists cleared on every member; the settings in force (`slow_subs` of
// emqx.conf; a PUT is refused, as for the other settings kept in emqx.conf).
import { mergeSlowSubs, type SlowSub } from '../../broker/slow-subs.js';
import { effectiveTree } from '../../config/schema.js';
import type { ApiContext } from '../context.js';
import { ERROR_SCHEMA } from '../errors.js';
import { putRefused } from './extensions.js';
import { onEveryMember } from './paging.js';
import { noContent, ok, PAGE_QUERY, S, type RouteDef } from './route.js';

export function slowSubsRoutes(ctx: ApiContext): RouteDef[] {
  return [
    {
      method: 'GET',
      url: '/slow_subscriptions',
      tags: ['Slow Subscriptions'],
      summary: "The running members' slowest deliveries per client and topic, slowest first (timespan in ms)",
      querystring: S.obj({ ...PAGE_QUERY }),
      response: { 200: S.any() },
      async handler(req) {
        const { page, limit } = req.query as { page: number; limit: number };
        const g = await ctx.rpc.gather<SlowSub[]>({ op: 'slow_subs' });
        const all = mergeSlowSubs(g.answers.map((a) => ({ node: a.node, rows: a.value })));
        const data = all.slice((page - 1) * limit, page * limit);
        return ok({ data, meta: { page, limit, count: all.length, hasnext: page * limit < all.length, ...(g.down.length > 0 ? { down_nodes: g.down } : {}) } });
      },
    },
    {
      method: 'DELETE',
      url: '/slow_subscriptions',
      tags: ['Slow Subscriptions'],
      summary: 'Clears the lists of every running member',
      response: { 204: S.any(), 503: ERROR_SCHEMA },
      async handler() {
        await onEveryMember(ctx.rpc, { op: 'slow_subs_clear' }, 'their lists may remain');
        return noContent();
      },
    },
    {
      method: 'GET',
      url: '/slow_subscriptions/settings',
      tags: ['Slow Subscriptions'],
      summary: 'The settings in force (slow_subs of emqx.conf)',
      response: { 200: S.any() },
      handler: () => ok(effectiveTree(ctx.config()).slow_subs),
    },
    putRefused('/slow_subscriptions/settings', 'slow_subs', S.any()),
  ];
}
