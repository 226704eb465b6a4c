// An in-process implementation of the Dist contract, for protocol unit tests of cluster/ and db/
// only (integration tests use real processes). Payloads go through v8 serialize like the real
// codec, links can be cut both ways to simulate partitions, and nodes can be "killed".
import { EventEmitter } from 'node:events';
import { deserialize, serialize } from 'node:v8';
import { LinkError, type ChannelHandler, type Dist, type DistEvents, type LinkInfo, type NodeDownReason } from '../../src/link/types.js';

export class MemoryNet {
  readonly nodes = new Map<string, MemoryDist>();
  private readonly blocked = new Set<string>();

  private pair(a: string, b: string): string {
    return a < b ? `${a}|${b}` : `${b}|${a}`;
  }

  create(self: string, cookie = 'cookie'): MemoryDist {
    return new MemoryDist(this, self, cookie);
  }

  isBlocked(a: string, b: string): boolean {
    return this.blocked.has(this.pair(a, b));
  }

  /** Cuts every link between the two groups and refuses new ones until heal(). */
  partition(groupA: readonly string[], groupB: readonly string[]): void {
    for (const a of groupA) {
      for (const b of groupB) {
        this.blocked.add(this.pair(a, b));
        this.nodes.get(a)?.dropLink(b, 'heartbeat_timeout');
        this.nodes.get(b)?.dropLink(a, 'heartbeat_timeout');
      }
    }
  }

  heal(): void {
    this.blocked.clear();
  }
}

interface Pending {
  resolve(v: unknown): void;
  reject(e: unknown): void;
}

export class MemoryDist extends EventEmitter<DistEvents> implements Dist {
  private readonly handlers = new Map<string, ChannelHandler>();
  private readonly links = new Map<string, LinkInfo>();
  private peers = new Set<string>();
  private running = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly pending = new Map<string, Set<Pending>>();
  /** The real link layer's failure-detection time; unset here unless a test sets it. */
  ticktimeMs?: () => number;

  constructor(
    private readonly net: MemoryNet,
    readonly self: string,
    readonly cookie: string,
  ) {
    super();
  }

  async start(): Promise<void> {
    this.running = true;
    this.net.nodes.set(this.self, this);
    // Reconnect loop, like the real link layer: bounded by the node's lifetime.
    this.timer = setInterval(() => {
      for (const p of this.peers) if (!this.links.has(p)) this.connect(p, { timeoutMs: 100 }).catch(() => {});
    }, 20);
    this.timer.unref();
  }

  /** Stops without telling anyone (the others see connection_closed), like kill -9. */
  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearInterval(this.timer);
    if (this.net.nodes.get(this.self) === this) this.net.nodes.delete(this.self);
    for (const n of [...this.links.keys()]) {
      this.dropLink(n, 'stopped');
      this.net.nodes.get(n)?.dropLink(this.self, 'connection_closed');
    }
  }

  async connect(node: string, _opts?: { timeoutMs?: number }): Promise<void> {
    if (this.links.has(node)) return;
    const other = this.net.nodes.get(node);
    if (!this.running || !other || !other.running || this.net.isBlocked(this.self, node)) {
      throw new LinkError('unreachable', node, `${node} is unreachable`);
    }
    if (other.cookie !== this.cookie) throw new LinkError('authentication_failed', node, `${node} refused our cookie`);
    const now = Date.now();
    this.linkUp(node, now, 'out');
    other.linkUp(this.self, now, 'in');
  }

  private linkUp(node: string, since: number, direction: 'in' | 'out'): void {
    if (this.links.has(node)) return;
    const info: LinkInfo = { node, address: `mem:${node}`, transport: 'tcp', since, lastSeen: since, direction };
    this.links.set(node, info);
    setImmediate(() => this.links.get(node) === info && this.emit('nodeup', node, info));
  }

  dropLink(node: string, reason: NodeDownReason): void {
    if (!this.links.delete(node)) return;
    for (const p of this.pending.get(node) ?? []) p.reject(new Error(`nodedown ${node}`));
    this.pending.delete(node);
    setImmediate(() => this.emit('nodedown', node, reason));
  }

  disconnect(node: string): void {
    if (!this.links.has(node)) return;
    this.dropLink(node, 'disconnect');
    this.net.nodes.get(node)?.dropLink(this.self, 'disconnect');
  }

  setPeers(nodes: Iterable<string>): void {
    this.peers = new Set([...nodes].filter((n) => n !== this.self));
  }

  isUp(node: string): boolean {
    return this.links.has(node);
  }

  nodes(): string[] {
    return [...this.links.keys()];
  }

  linkInfo(node: string): LinkInfo | undefined {
    return this.links.get(node);
  }

  send(node: string, channel: string, payload: unknown): boolean {
    const other = this.net.nodes.get(node);
    if (!this.links.has(node) || !other) return false;
    const copy = deserialize(serialize(payload));
    setImmediate(() => {
      if (other.links.has(this.self)) void Promise.resolve(other.handlers.get(channel)?.(this.self, copy)).catch(() => {});
    });
    return true;
  }

  call(node: string, channel: string, payload: unknown, timeoutMs = 5000): Promise<unknown> {
    const other = this.net.nodes.get(node);
    if (!this.links.has(node) || !other) return Promise.reject(new Error(`no link to ${node}`));
    const copy = deserialize(serialize(payload));
    return new Promise((resolve, reject) => {
      const set = this.pending.get(node) ?? new Set<Pending>();
      this.pending.set(node, set);
      const timer = setTimeout(() => finish(() => reject(new Error(`call ${channel} to ${node} timed out`))), timeoutMs);
      const entry: Pending = { resolve: (v) => finish(() => resolve(v)), reject: (e) => finish(() => reject(e)) };
      const finish = (f: () => void): void => {
        clearTimeout(timer);
        set.delete(entry);
        f();
      };
      set.add(entry);
      setImmediate(async () => {
        const h = other.handlers.get(channel);
        if (!h) return entry.reject(new Error(`no handler for ${channel} on ${node}`));
        try {
          const r = await h(this.self, copy);
          if (this.links.has(node)) entry.resolve(deserialize(serialize(r ?? null)));
        } catch (err) {
          entry.reject(new Error(err instanceof Error ? err.message : String(err)));
        }
      });
    });
  }

  broadcast(channel: string, payload: unknown): void {
    for (const n of this.links.keys()) this.send(n, channel, payload);
  }

  handle(channel: string, handler: ChannelHandler): void {
    this.handlers.set(channel, handler);
  }
}
