// A client's read rates (EMQX's listener `messages_rate` and `bytes_rate`). A PUBLISH over the
// message rate waits, with every packet behind it, until the rate allows it, as EMQX's limiter
// defers what it parsed; a read over the byte rate is handled and the next one waits. While
// anything waits the socket is not read: the kernel's buffers fill and TCP slows the client
// down, so what waits here is at most what one read brought in.
import { TokenBucket } from '../base/token-bucket.js';
import type { ChannelSettings } from './channel.js';

export type LimitedRate = 'messages_rate' | 'bytes_rate';

export interface ReadLimitHooks {
  pause(): void;
  /** The wait is over: the shell handles what waited and resumes reading unless something else holds it. */
  resume(): void;
  /** Each hold: to log (rate-limited) which rate held the client back. */
  limited(rate: LimitedRate, waitMs: number): void;
}

const limitedRate = (perSec: number | undefined): perSec is number => perSec !== undefined && perSec > 0 && perSec < Number.POSITIVE_INFINITY;

export class ReadLimit {
  readonly #messages: TokenBucket | undefined;
  readonly #bytes: TokenBucket | undefined;
  #timer: NodeJS.Timeout | undefined;
  #until = 0;

  /** The limit for one connection, or undefined when its listener sets no rate. */
  static for(settings: ChannelSettings, hooks: ReadLimitHooks, now: () => number = Date.now): ReadLimit | undefined {
    const { messagesRate, bytesRate } = settings;
    if (!limitedRate(messagesRate) && !limitedRate(bytesRate)) return undefined;
    return new ReadLimit(limitedRate(messagesRate) ? messagesRate : undefined, limitedRate(bytesRate) ? bytesRate : undefined, hooks, now);
  }

  private constructor(
    messagesRate: number | undefined,
    bytesRate: number | undefined,
    private readonly hooks: ReadLimitHooks,
    private readonly now: () => number,
  ) {
    this.#messages = messagesRate === undefined ? undefined : new TokenBucket(messagesRate, now());
    this.#bytes = bytesRate === undefined ? undefined : new TokenBucket(bytesRate, now());
  }

  /** Whether the client is held back now. */
  get holding(): boolean {
    return this.#timer !== undefined;
  }

  /** One PUBLISH: false when it must wait (the limit now holds; it is paid for already). */
  message(): boolean {
    const wait = this.#messages?.take(1, this.now()) ?? 0;
    if (wait <= 0) return true;
    this.#hold('messages_rate', wait);
    return false;
  }

  /** A read of `n` bytes, handled: the next read waits while the byte rate is exceeded. */
  read(n: number): void {
    const wait = this.#bytes?.take(n, this.now()) ?? 0;
    if (wait > 0) this.#hold('bytes_rate', wait);
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Holds reading for `wait` ms; a hold already running is lengthened, never shortened. */
  #hold(rate: LimitedRate, wait: number): void {
    const until = this.now() + wait;
    if (this.#timer !== undefined) {
      if (until <= this.#until) return;
      clearTimeout(this.#timer);
    } else {
      this.hooks.limited(rate, wait);
      this.hooks.pause();
    }
    this.#until = until;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.hooks.resume();
    }, wait);
  }
}
