// The link layer of one node: listener, dials, the single link per peer, reconnects, gossip.
import { randomBytes } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { EventEmitter } from 'node:events';
import type { Server, Socket } from 'node:net';
import type { Logger } from 'pino';
import { distPort, parseNodeName } from '../node/name.js';
import { familyOf, formatAddress, isTls, ownsName, resolveHost, resolveNode } from './address.js';
import { backoffDelay } from './backoff.js';
import { BusyPoll } from './busy-poll.js';
import { encodeFrame } from './framing.js';
import { HandshakeRefusal } from './handshake.js';
import { acceptorHandshake, dialerHandshake, type AcceptDecision, type HandshakeResult } from './handshake-io.js';
import { LineBudget } from './line-budget.js';
import { Link, type LinkSettings } from './link.js';
import { Kind } from './protocol.js';
import { resolveOptions, type DistOptions, type DistReconfig, type ResolvedDistOptions } from './options.js';
import { createListener, dialSocket, listen } from './transport.js';
import {
  LinkError, type ChannelHandler, type Dist, type DistEvents, type LinkInfo, type LinkRefusal, type NodeDownReason,
} from './types.js';

interface Dial {
  readonly promise: Promise<void>;
  /**
   * The connection is established (TCP connected, TLS negotiated). Our hello goes out only after
   * this, so before it the peer cannot have deferred to this dial.
   */
  readonly connected: boolean;
  /** Our dial lost a simultaneous-dial tie-break: drop its socket, wait for the other link. */
  supersede(): void;
}

interface Reconnect {
  attempt: number;
  timer?: NodeJS.Timeout;
}

export class DistNode extends EventEmitter<DistEvents> implements Dist {
  readonly self: string;
  private o: ResolvedDistOptions;
  private readonly log: Logger;
  private readonly instance = randomBytes(8).toString('hex');
  // Replaced by reconfigure(): links made afterwards use the new values.
  private family: 4 | 6;
  private transport: LinkInfo['transport'];
  private settings: LinkSettings;
  private server: Server | undefined;
  private selfAddress = '';
  private stopping = false;
  private readonly links = new Map<string, Link>();
  private readonly dials = new Map<string, Dial>();
  private peers = new Set<string>();
  private readonly reconnects = new Map<string, Reconnect>();
  private readonly handlers = new Map<string, ChannelHandler>();
  private readonly upWaiters = new Map<string, Set<() => void>>();
  private readonly pending = new Set<Socket>();
  private readonly busyPoll: BusyPoll;
  private readonly inboundRefusals: LineBudget;
  private heldRefusalsTimer: NodeJS.Timeout | undefined;

  constructor(opts: DistOptions) {
    super();
    this.o = resolveOptions(opts);
    parseNodeName(opts.self);
    this.self = opts.self;
    this.log = opts.logger.child({ component: 'dist' });
    this.busyPoll = new BusyPoll(this.o.busyPollUs / 1000);
    this.inboundRefusals = new LineBudget(this.o.inboundRefusalLog.lines, this.o.inboundRefusalLog.windowMs);
    const derived = DistNode.derive(this.o, this.busyPoll);
    this.family = derived.family;
    this.transport = derived.transport;
    this.settings = derived.settings;
  }

  private static derive(o: ResolvedDistOptions, busyPoll: BusyPoll): { family: 4 | 6; transport: LinkInfo['transport']; settings: LinkSettings } {
    const family = familyOf(o.protoDist);
    const tls = isTls(o.protoDist);
    if (tls && !o.tls) throw new Error(`cluster.proto_dist = ${o.protoDist} needs TLS options (ssl_dist.conf)`);
    return {
      family,
      transport: `${tls ? 'tls' : 'tcp'}${family === 6 ? '6' : ''}` as LinkInfo['transport'],
      // A tick every quarter of the ticktime: a peer must miss four in a row to be declared down.
      settings: {
        tickMs: Math.max(50, Math.floor(o.netTicktimeMs / 4)),
        ticktimeMs: o.netTicktimeMs,
        maxFrameBytes: o.maxFrameBytes,
        maxQueueBytes: o.maxQueueBytes,
        busyPoll,
      },
    };
  }

  ticktimeMs(): number {
    return this.o.netTicktimeMs;
  }

  private get tls(): boolean {
    return isTls(this.o.protoDist);
  }

  async start(): Promise<void> {
    this.selfAddress = await this.resolveSelf();
    for (const w of this.o.tls?.warnings ?? []) this.log.warn(`ssl_dist.conf: ${w}`);
    const port = distPort(this.self, this.o.basePort);
    const server = this.createServer();
    await listen(server, this.selfAddress, port);
    this.server = server;
    this.stopping = false;
    this.log.info({ address: formatAddress(this.selfAddress, port), transport: this.transport }, 'listening for links');
  }

  async reconfigure(next: DistReconfig): Promise<{ relistened: boolean; relinked: boolean }> {
    const prev = { o: this.o, family: this.family, transport: this.transport, settings: this.settings, selfAddress: this.selfAddress };
    const o: ResolvedDistOptions = { ...this.o, ...next, tls: next.tls };
    const derived = DistNode.derive(o, this.busyPoll);
    const newTransport = o.protoDist !== prev.o.protoDist || o.basePort !== prev.o.basePort;
    const newTls = isTls(o.protoDist) && !isDeepStrictEqual(o.tls, prev.o.tls);
    const selfAddress = derived.family === prev.family ? prev.selfAddress : await this.resolveSelf(derived.family, o.protoDist);
    this.o = o;
    // Links up now see the new window at their next call.
    this.busyPoll.windowMs = o.busyPollUs / 1000;
    this.family = derived.family;
    this.transport = derived.transport;
    this.settings = derived.settings;
    this.selfAddress = selfAddress;
    if (!this.server || this.stopping || (!newTransport && !newTls)) return { relistened: false, relinked: false };
    for (const w of o.tls?.warnings ?? []) this.log.warn(`ssl_dist.conf: ${w}`);
    try {
      await this.relisten();
    } catch (e) {
      Object.assign(this, prev);
      this.busyPoll.windowMs = prev.o.busyPollUs / 1000;
      await this.relisten().catch((e2: unknown) => this.log.error({ err: (e2 as Error).message }, 'could not listen again with the previous settings'));
      throw e;
    }
    // Links on the old transport or credentials go (a replaced certificate may have been
    // revoked); the peers set re-dials each with the new ones. The peers stay members: to
    // membership this is a link going down and coming back.
    for (const d of this.dials.values()) d.supersede();
    for (const s of this.pending) s.destroy();
    for (const link of [...this.links.values()]) link.close('disconnect', newTransport ? `transport changed to ${this.transport}` : 'new TLS settings (ssl_dist.conf)');
    return { relistened: true, relinked: true };
  }

  /** Closes the listener (links stay up) and listens with the current settings. */
  private async relisten(): Promise<void> {
    const old = this.server;
    this.server = undefined;
    // close() frees the port at once; its callback would wait for every accepted link to end.
    old?.close();
    const port = distPort(this.self, this.o.basePort);
    const server = this.createServer();
    await listen(server, this.selfAddress, port);
    this.server = server;
    this.log.info({ address: formatAddress(this.selfAddress, port), transport: this.transport }, 'listening for links (reconfigured)');
  }

  private async resolveSelf(family = this.family, protoDist = this.o.protoDist): Promise<string> {
    const { host } = parseNodeName(this.self);
    try {
      return await resolveHost(host, family);
    } catch (e) {
      throw new Error(`cannot resolve this node's host ${host} for ${protoDist}: ${(e as Error).message}`, { cause: e });
    }
  }

  private createServer(): Server {
    return createListener(this.tls ? this.o.tls : undefined, this.o.handshakeTimeoutMs, {
      onSocket: (s) => this.accept(s),
      onTlsError: (addr, p, detail) => this.refused(undefined, formatAddress(addr, p), 'tls_handshake_failed', detail, 'in'),
      onTlsRejected: (s, detail) => {
        this.refused(undefined, formatAddress(s.remoteAddress, s.remotePort), 'tls_handshake_failed', detail, 'in');
        s.on('error', () => undefined);
        s.end(encodeFrame(Kind.Refuse, Buffer.from(JSON.stringify({ reason: 'tls_handshake_failed', detail }))));
        setTimeout(() => s.destroy(), 1000).unref();
      },
    });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    for (const r of this.reconnects.values()) clearTimeout(r.timer);
    this.reconnects.clear();
    for (const d of this.dials.values()) d.supersede();
    for (const s of this.pending) s.destroy();
    for (const link of [...this.links.values()]) link.close('stopped', 'this node is stopping');
    clearTimeout(this.heldRefusalsTimer);
    this.heldRefusalsTimer = undefined;
    this.logHeldRefusals();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  connect(node: string, opts: { timeoutMs?: number } = {}): Promise<void> {
    parseNodeName(node);
    if (node === this.self) return Promise.reject(new Error(`cannot link ${node} to itself`));
    if (this.stopping || !this.server) return Promise.reject(new LinkError('unreachable', node, `${this.self} is not started`));
    if (this.isUp(node)) return Promise.resolve();
    const existing = this.dials.get(node);
    if (existing) return existing.promise;
    const timeoutMs = opts.timeoutMs ?? this.o.handshakeTimeoutMs + 2000;
    return this.dial(node, timeoutMs);
  }

  disconnect(node: string): void {
    const r = this.reconnects.get(node);
    if (r) clearTimeout(r.timer);
    this.reconnects.delete(node);
    this.dials.get(node)?.supersede();
    // A dial dropped here must not be handed to the next connect(): it only waits for a link
    // that nobody is making any more.
    this.dials.delete(node);
    this.links.get(node)?.close('disconnect', 'disconnected by this node');
  }

  setPeers(nodes: Iterable<string>): void {
    const next = new Set<string>();
    for (const n of nodes) {
      if (n === this.self) continue;
      parseNodeName(n);
      next.add(n);
    }
    for (const n of this.peers) {
      if (!next.has(n)) {
        const r = this.reconnects.get(n);
        if (r) clearTimeout(r.timer);
        this.reconnects.delete(n);
      }
    }
    this.peers = next;
    for (const n of next) this.scheduleReconnect(n);
  }

  failedDials(node: string): number {
    return this.reconnects.get(node)?.attempt ?? 0;
  }

  isUp(node: string): boolean {
    const l = this.links.get(node);
    return l !== undefined && !l.isClosed;
  }

  nodes(): string[] {
    return [...this.links.keys()].filter((n) => this.isUp(n)).sort();
  }

  linkInfo(node: string): LinkInfo | undefined {
    return this.links.get(node)?.linkInfo();
  }

  send(node: string, channel: string, payload: unknown): boolean {
    const l = this.links.get(node);
    return l !== undefined && l.send(channel, payload);
  }

  call(node: string, channel: string, payload: unknown, timeoutMs?: number): Promise<unknown> {
    const l = this.links.get(node);
    if (!l || l.isClosed) return Promise.reject(new Error(`nodedown: no link to ${node}`));
    return l.call(channel, payload, timeoutMs ?? this.o.callTimeoutMs);
  }

  broadcast(channel: string, payload: unknown): void {
    for (const l of this.links.values()) l.send(channel, payload);
  }

  handle(channel: string, handler: ChannelHandler): void {
    this.handlers.set(channel, handler);
  }

  busyPollTurns(): number {
    return this.busyPoll.turns;
  }

  /** Output-queue drops per linked node (back-pressure accounting). */
  droppedSends(): Record<string, number> {
    return Object.fromEntries([...this.links].map(([n, l]) => [n, l.dropped]));
  }

  // ---- dialing ----------------------------------------------------------------------------

  private dial(node: string, timeoutMs: number): Promise<void> {
    let socket: Socket | undefined;
    let superseded = false;
    let timedOut = false;
    let done = false;
    let connected = false;
    const deadline = Date.now() + timeoutMs;
    const timer = setTimeout(() => {
      timedOut = true;
      socket?.destroy();
    }, timeoutMs);
    const attempt = async (): Promise<void> => {
      let address = '?';
      try {
        let host: string;
        try {
          host = await resolveNode(node, this.family);
        } catch (e) {
          throw new HandshakeRefusal('unreachable', `cannot resolve ${node}: ${(e as Error).message}`);
        }
        const port = distPort(node, this.o.basePort);
        address = formatAddress(host, port);
        const d = dialSocket(host, port, this.selfAddress, this.tls ? this.o.tls : undefined, parseNodeName(node).host);
        socket = d.socket;
        socket.on('error', () => undefined);
        if (superseded || timedOut) socket.destroy();
        await d.ready;
        connected = true;
        const res = await dialerHandshake(socket, { ...this.common(), dialed: node });
        if (superseded) throw new HandshakeRefusal('duplicate', 'superseded by the peer\'s link');
        // From here the socket belongs to the link: superseding the dial must not touch it.
        done = true;
        if (this.dials.get(node) === dial) this.dials.delete(node);
        this.linkUp(socket, res, address, 'out');
      } catch (e) {
        socket?.destroy();
        if (this.stopping) throw new LinkError('unreachable', node, `cannot link to ${node}: ${this.self} is stopping`);
        if (superseded || (e instanceof HandshakeRefusal && e.reason === 'duplicate')) {
          await this.waitUp(node, deadline - Date.now());
          return;
        }
        const err = timedOut
          ? new HandshakeRefusal('timeout', `no link to ${node} within ${timeoutMs} ms`)
          : e instanceof HandshakeRefusal ? e : new HandshakeRefusal('unreachable', (e as Error).message);
        this.refused(node, address, err.reason as LinkRefusal, err.detail, 'out');
        throw new LinkError(err.reason as LinkRefusal, node, `cannot link to ${node}: ${err.reason}: ${err.detail}`, err.detail);
      } finally {
        clearTimeout(timer);
      }
    };
    const promise = attempt().finally(() => {
      if (this.dials.get(node) === dial) this.dials.delete(node);
    });
    const dial: Dial = {
      promise,
      get connected() {
        return connected;
      },
      supersede: () => {
        if (done) return;
        superseded = true;
        socket?.destroy();
      },
    };
    this.dials.set(node, dial);
    return promise;
  }

  private waitUp(node: string, ms: number): Promise<void> {
    if (this.isUp(node)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const set = this.upWaiters.get(node) ?? new Set();
      this.upWaiters.set(node, set);
      const done = (): void => {
        clearTimeout(timer);
        set.delete(done);
        resolve();
      };
      const timer = setTimeout(() => {
        set.delete(done);
        reject(new LinkError('timeout', node, `cannot link to ${node}: timeout: the other link of a simultaneous dial did not come up`));
      }, Math.max(0, ms));
      set.add(done);
    });
  }

  private scheduleReconnect(node: string): void {
    if (this.stopping || !this.server || !this.peers.has(node) || this.isUp(node)) return;
    const r = this.reconnects.get(node) ?? { attempt: 0 };
    this.reconnects.set(node, r);
    if (r.timer) return;
    const delay = r.attempt === 0 ? 0 : backoffDelay(r.attempt - 1, this.o.reconnectMinMs, this.o.reconnectMaxMs);
    r.timer = setTimeout(() => {
      r.timer = undefined;
      if (this.stopping || !this.peers.has(node) || this.isUp(node)) return;
      this.connect(node).then(
        () => {
          r.attempt = 0;
        },
        (e: unknown) => {
          r.attempt++;
          this.log.debug({ peer: node, attempt: r.attempt, err: (e as Error).message }, 'reconnect failed');
          this.scheduleReconnect(node);
        },
      );
    }, delay);
    r.timer.unref();
  }

  // ---- accepting --------------------------------------------------------------------------

  private accept(socket: Socket): void {
    const address = formatAddress(socket.remoteAddress, socket.remotePort);
    socket.on('error', () => undefined);
    if (this.stopping) {
      socket.destroy();
      return;
    }
    this.pending.add(socket);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      socket.destroy();
    }, this.o.handshakeTimeoutMs);
    const source = socket.remoteAddress ?? '';
    const run = async (): Promise<void> => {
      const res = await acceptorHandshake(socket, this.common(), {
        ownsName: (claimed) => ownsName(claimed, source),
        decide: (peer, instance) => this.decide(peer, instance),
      });
      this.linkUp(socket, res, address, 'in');
    };
    run()
      .catch((e: unknown) => {
        socket.destroy();
        const peer = (e as { peer?: string }).peer;
        if (e instanceof HandshakeRefusal && e.reason === 'duplicate') return;
        if (timedOut) {
          this.refused(peer, address, 'timeout', `no complete handshake within ${this.o.handshakeTimeoutMs} ms`, 'in');
        } else if (e instanceof HandshakeRefusal) {
          this.refused(peer, address, e.reason as LinkRefusal, e.detail, 'in');
        } else if (!this.stopping) {
          this.log.debug({ address, err: (e as Error).message }, 'incoming connection dropped');
        }
      })
      .finally(() => {
        clearTimeout(timer);
        this.pending.delete(socket);
      });
  }

  /**
   * Exactly one link per pair: when both nodes dial at once, the link dialed by the node with
   * the smaller name wins on both sides. A link from a restarted peer (new instance) replaces
   * the stale one.
   */
  private decide(peer: string, instance: string): AcceptDecision {
    const ourDialWins = this.self < peer;
    const up = this.links.get(peer);
    if (up && !up.isClosed && up.instance === instance && up.info.direction === 'out' && ourDialWins) return 'duplicate';
    const dial = this.dials.get(peer);
    if (dial) {
      // Defer only to a dial that is connected: one still connecting may never arrive (its SYN
      // dropped by a partition that has just healed), and the peer would wait for it in vain.
      if (ourDialWins && dial.connected) return 'duplicate';
      dial.supersede();
    }
    return 'accept';
  }

  // ---- links ------------------------------------------------------------------------------

  private common(): { self: string; cookie: string; cluster: string; instance: string; tls: boolean } {
    return { self: this.self, cookie: this.o.cookie, cluster: this.o.clusterName, instance: this.instance, tls: this.tls };
  }

  private linkUp(socket: Socket, res: HandshakeResult, address: string, direction: 'in' | 'out'): void {
    if (this.stopping) {
      socket.destroy();
      return;
    }
    const node = res.peer;
    const old = this.links.get(node);
    if (old && !old.isClosed) old.close('connection_closed', 'replaced by a new link from the same node', false);
    const link = new Link(socket, res.input, { node, address, transport: this.transport, direction }, res.instance, this.settings);
    this.links.set(node, link);
    const r = this.reconnects.get(node);
    if (r) r.attempt = 0;
    this.log.info({ peer: node, address, direction, transport: this.transport }, 'link up');
    this.emit('nodeup', node, link.linkInfo());
    for (const w of [...(this.upWaiters.get(node) ?? [])]) w();
    this.upWaiters.delete(node);
    if (this.o.meshGossip) link.sendPeers(this.nodes().filter((n) => n !== node));
    // Reading starts after nodeup, so a nodedown (e.g. a Bye that came with the handshake) follows it.
    link.start({
      onSend: (channel, payload) => this.dispatchSend(node, channel, payload),
      onCall: (channel, payload) => this.dispatchCall(node, channel, payload),
      onPeers: (nodes) => this.onPeers(nodes),
      onDown: (reason, detail) => this.linkDown(link, reason, detail),
    });
  }

  private linkDown(link: Link, reason: NodeDownReason, detail: string): void {
    const node = link.info.node;
    if (this.links.get(node) === link) this.links.delete(node);
    this.log.warn({ peer: node, address: link.info.address, reason, detail }, 'link down');
    this.emit('nodedown', node, reason);
    if (!this.stopping) this.scheduleReconnect(node);
  }

  private onPeers(nodes: string[]): void {
    if (!this.o.meshGossip || this.stopping) return;
    for (const n of nodes) {
      if (n === this.self || this.isUp(n) || this.dials.has(n)) continue;
      try {
        parseNodeName(n);
      } catch {
        continue;
      }
      this.connect(n).catch((e: unknown) => this.log.debug({ peer: n, err: (e as Error).message }, 'mesh link failed'));
    }
  }

  private dispatchSend(from: string, channel: string, payload: unknown): void {
    const h = this.handlers.get(channel);
    if (!h) {
      this.log.debug({ from, channel }, 'message on a channel without handler dropped');
      return;
    }
    try {
      const r = h(from, payload);
      if (r instanceof Promise) r.catch((e: unknown) => this.log.warn({ from, channel, err: (e as Error).message }, 'handler failed'));
    } catch (e) {
      this.log.warn({ from, channel, err: (e as Error).message }, 'handler failed');
    }
  }

  /** The handler's result as it is: a plain value is answered without a trip through promises. */
  private dispatchCall(from: string, channel: string, payload: unknown): unknown {
    const h = this.handlers.get(channel);
    if (!h) throw new Error(`no handler for channel ${channel} on ${this.self}`);
    return h(from, payload);
  }

  /** Our own dials are paced by the reconnect backoff; incoming ones by whoever connects: budgeted. */
  private refused(node: string | undefined, address: string, reason: LinkRefusal, detail: string, direction: 'in' | 'out'): void {
    if (direction === 'out' || this.inboundRefusals.admit(Date.now(), reason)) {
      this.log.warn({ peer: node, address, reason, detail }, 'link refused');
    } else if (!this.heldRefusalsTimer) {
      this.heldRefusalsTimer = setTimeout(() => {
        this.heldRefusalsTimer = undefined;
        this.logHeldRefusals();
      }, Math.max(0, this.inboundRefusals.windowEnd() - Date.now()));
      this.heldRefusalsTimer.unref();
    }
    this.emit('refused', node, reason, detail);
  }

  private logHeldRefusals(): void {
    const held = this.inboundRefusals.takeHeld();
    if (!held) return;
    const { lines, windowMs } = this.o.inboundRefusalLog;
    this.log.warn(
      { refused: held.count, reasons: held.reasons },
      `${held.count} more incoming links refused, not logged one by one (at most ${lines} lines per ${windowMs / 1000} s)`,
    );
  }
}

/** The link layer as the rest of the node sees it. */
export function createDist(opts: DistOptions): Dist {
  return new DistNode(opts);
}
