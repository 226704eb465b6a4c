// Wire format of the control socket (pure: no sockets here).
//
// Request:  "ECTL" | kind (1 byte) | body length (u32 big-endian) | body
//           body = the arguments, each terminated by a NUL byte (UTF-8).
// Reply:    "ECTR" | exit code (1 byte) | output bytes until the server closes the connection.
//           With lines for stderr: "ECTE" | exit code | stdout length (u32 big-endian) | stdout |
//           stderr bytes until the server closes the connection. Stdout carries exactly what EMQX
//           prints; our own hints go to stderr, after it.
//
// A client that found the socket through a pointer (src/ctl/pointer.ts) sends the kind in lower
// case and the pointer key it computed as the first argument. A node whose own key differs (the
// pointer is stale and another node now owns the socket) answers "ECTM" and closes without running
// anything, and the client falls back to resolving the configuration.
//
// The reply is streamed to EOF rather than length-prefixed so that a client (native/emqx_ctl.c)
// can copy it straight to stdout without buffering. The C client implements the same format.

export const REQUEST_MAGIC = 'ECTL';
export const REPLY_MAGIC = 'ECTR';
/** A reply with stderr lines. */
export const SPLIT_REPLY_MAGIC = 'ECTE';
/** "Not the node you computed the pointer for." */
export const MISMATCH_MAGIC = 'ECTM';
export const HEADER_LENGTH = 9;
export const REPLY_HEADER_LENGTH = 5;
export const SPLIT_REPLY_HEADER_LENGTH = 9;
/** Larger requests are garbage or abuse: nobody types 64 KiB of arguments. */
export const MAX_BODY_LENGTH = 64 * 1024;

export const RequestKind = {
  /** `emqx ctl <args>`: run a registered command. */
  command: 'C',
  /** `emqx ping`: answered with `pong` without touching any other part of the node. */
  ping: 'P',
  /** `emqx pid` and internal tooling: JSON `{name, pid, version}`. */
  info: 'I',
  /** `emqx stop`: reply first, then shut down gracefully. */
  stop: 'S',
} as const;
export type RequestKind = (typeof RequestKind)[keyof typeof RequestKind];
const KINDS = new Set<string>(Object.values(RequestKind));

export interface CtlRequest {
  readonly kind: RequestKind;
  readonly args: readonly string[];
  /** The pointer key the client expects the node to have (set when found through a pointer). */
  readonly expectedKey?: string;
}

export function encodeRequest(req: CtlRequest): Buffer {
  const args = req.expectedKey === undefined ? req.args : [req.expectedKey, ...req.args];
  const body = Buffer.concat(args.map((a) => Buffer.from(`${a}\0`, 'utf8')));
  const header = Buffer.alloc(HEADER_LENGTH);
  header.write(REQUEST_MAGIC, 0, 'latin1');
  header.write(req.expectedKey === undefined ? req.kind : req.kind.toLowerCase(), 4, 'latin1');
  header.writeUInt32BE(body.length, 5);
  return Buffer.concat([header, body]);
}

export type ParseResult =
  | { readonly status: 'incomplete' }
  | { readonly status: 'ok'; readonly request: CtlRequest }
  | { readonly status: 'invalid'; readonly reason: string };

/** Parses a request from the bytes received so far. */
export function parseRequest(buf: Buffer): ParseResult {
  const magicLen = Math.min(buf.length, 4);
  if (buf.subarray(0, magicLen).toString('latin1') !== REQUEST_MAGIC.slice(0, magicLen)) {
    return { status: 'invalid', reason: 'not a control request (bad magic)' };
  }
  if (buf.length < HEADER_LENGTH) return { status: 'incomplete' };
  const rawKind = buf.toString('latin1', 4, 5);
  const kind = rawKind.toUpperCase();
  const keyed = rawKind !== kind;
  if (!KINDS.has(kind)) return { status: 'invalid', reason: `unknown request kind ${JSON.stringify(rawKind)}` };
  const len = buf.readUInt32BE(5);
  if (len > MAX_BODY_LENGTH) return { status: 'invalid', reason: `request too large (${len} bytes, limit ${MAX_BODY_LENGTH})` };
  if (buf.length < HEADER_LENGTH + len) return { status: 'incomplete' };
  if (buf.length > HEADER_LENGTH + len) return { status: 'invalid', reason: 'trailing bytes after the request' };
  const body = buf.subarray(HEADER_LENGTH);
  if (len > 0 && body[len - 1] !== 0) return { status: 'invalid', reason: 'arguments are not NUL-terminated' };
  const text = body.toString('utf8');
  const args = len === 0 ? [] : text.slice(0, -1).split('\0');
  if (!keyed) return { status: 'ok', request: { kind: kind as RequestKind, args } };
  const [expectedKey, ...rest] = args;
  if (expectedKey === undefined) return { status: 'invalid', reason: 'keyed request without a key' };
  return { status: 'ok', request: { kind: kind as RequestKind, args: rest, expectedKey } };
}

// Exit codes are 0..255 for the shell; anything else becomes a generic failure.
const exitCode = (code: number): number => (Number.isInteger(code) && code >= 0 && code <= 255 ? code : 1);

export function encodeReplyHeader(code: number): Buffer {
  const header = Buffer.alloc(REPLY_HEADER_LENGTH);
  header.write(REPLY_MAGIC, 0, 'latin1');
  header.writeUInt8(exitCode(code), 4);
  return header;
}

/** A whole reply; the split form only when there is something for stderr. */
export function encodeReply(code: number, output: string, stderr = ''): Buffer {
  const out = Buffer.from(output, 'utf8');
  if (stderr === '') return Buffer.concat([encodeReplyHeader(code), out]);
  const header = Buffer.alloc(SPLIT_REPLY_HEADER_LENGTH);
  header.write(SPLIT_REPLY_MAGIC, 0, 'latin1');
  header.writeUInt8(exitCode(code), 4);
  header.writeUInt32BE(out.length, 5);
  return Buffer.concat([header, out, Buffer.from(stderr, 'utf8')]);
}

export type ReplyParse =
  | { readonly status: 'incomplete' }
  | { readonly status: 'invalid' }
  | { readonly status: 'mismatch' }
  | { readonly status: 'ok'; readonly code: number; readonly output: Buffer; readonly stderr: Buffer };

/** Parses a complete reply (all bytes up to EOF). */
export function parseReply(buf: Buffer): ReplyParse {
  if (buf.length >= 4 && buf.toString('latin1', 0, 4) === MISMATCH_MAGIC) return { status: 'mismatch' };
  if (buf.length < REPLY_HEADER_LENGTH) return { status: 'incomplete' };
  const magic = buf.toString('latin1', 0, 4);
  if (magic === REPLY_MAGIC) return { status: 'ok', code: buf.readUInt8(4), output: buf.subarray(REPLY_HEADER_LENGTH), stderr: Buffer.alloc(0) };
  if (magic !== SPLIT_REPLY_MAGIC) return { status: 'invalid' };
  if (buf.length < SPLIT_REPLY_HEADER_LENGTH) return { status: 'incomplete' };
  const outEnd = SPLIT_REPLY_HEADER_LENGTH + buf.readUInt32BE(5);
  if (buf.length < outEnd) return { status: 'incomplete' };
  return { status: 'ok', code: buf.readUInt8(4), output: buf.subarray(SPLIT_REPLY_HEADER_LENGTH, outEnd), stderr: buf.subarray(outEnd) };
}
