// MQTT topic names and topic filters (MQTT 3.1.1 §4.7, MQTT 5.0 §4.7 and §4.8.2 for shared
// subscriptions). Pure string work on the hot path of every PUBLISH and SUBSCRIBE: everything here
// walks the string by char code, with no regex and no splitting, so a check allocates nothing.

/** Why a topic name or filter is refused; stable codes for logs, reason codes and tests. */
export type TopicProblem =
  | 'empty'
  | 'too_long'
  | 'wildcard_in_name'
  | 'bad_wildcard'
  | 'null_char'
  | 'too_many_levels'
  | 'bad_share';

/** A topic (name or filter) is a UTF-8 string with a two-byte length prefix on the wire. */
export const MAX_TOPIC_BYTES = 65535;

const SLASH = 0x2f; // '/'
const PLUS = 0x2b; // '+'
const HASH = 0x23; // '#'
const DOLLAR = 0x24; // '$'
const NUL = 0;

const SHARE_PREFIX = '$share/';
const QUEUE_PREFIX = '$queue/';
/** EMQX's `$queue/t` is `$share/$queue/t`: one group named `$queue`. */
export const QUEUE_GROUP = '$queue';

export function describeTopicProblem(p: TopicProblem): string {
  switch (p) {
    case 'empty':
      return 'the topic is empty';
    case 'too_long':
      return `the topic is longer than ${MAX_TOPIC_BYTES} bytes (UTF-8)`;
    case 'wildcard_in_name':
      return "a topic name may not contain '+' or '#'";
    case 'bad_wildcard':
      return "'+' must be a whole level and '#' the whole last level";
    case 'null_char':
      return 'the topic contains U+0000';
    case 'too_many_levels':
      return 'the topic has more levels than mqtt.max_topic_levels allows';
    case 'bad_share':
      return "a shared subscription must be '$share/<group>/<filter>' or '$queue/<filter>', with a group free of '+', '#' and '/' and a non-empty, unshared filter";
  }
}

/**
 * The byte limit only matters for strings that could reach it: a UTF-16 code unit is at most three
 * UTF-8 bytes, so anything up to 21845 code units is within it without counting.
 */
function tooLong(s: string): boolean {
  return s.length > MAX_TOPIC_BYTES / 3 && Buffer.byteLength(s, 'utf8') > MAX_TOPIC_BYTES;
}

/** A topic name, as in PUBLISH (and a will topic): no wildcards anywhere. */
export function validateTopicName(name: string, maxLevels: number): TopicProblem | undefined {
  if (name.length === 0) return 'empty';
  if (tooLong(name)) return 'too_long';
  let levels = 1;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c === SLASH) levels++;
    else if (c === PLUS || c === HASH) return 'wildcard_in_name';
    else if (c === NUL) return 'null_char';
  }
  return levels > maxLevels ? 'too_many_levels' : undefined;
}

/**
 * A plain filter's syntax from `from` on: '+' alone in its level, '#' alone in the last level, no
 * U+0000. Returns the level count, or the problem.
 */
function checkFilterSyntax(filter: string, from: number): number | TopicProblem {
  let levels = 1;
  let levelStart = from;
  const end = filter.length;
  for (let i = from; i < end; i++) {
    const c = filter.charCodeAt(i);
    if (c === SLASH) {
      levels++;
      levelStart = i + 1;
    } else if (c === PLUS) {
      if (i !== levelStart || (i + 1 < end && filter.charCodeAt(i + 1) !== SLASH)) return 'bad_wildcard';
    } else if (c === HASH) {
      if (i !== levelStart || i + 1 !== end) return 'bad_wildcard';
    } else if (c === NUL) return 'null_char';
  }
  return levels;
}

/**
 * A filter as in SUBSCRIBE and UNSUBSCRIBE. A shared form (`$share/...`, `$queue/...`) is checked
 * as parseShared does, with the level limit applied to its inner filter, so one call validates
 * anything a client may subscribe to.
 */
export function validateFilter(filter: string, maxLevels: number): TopicProblem | undefined {
  if (filter.length === 0) return 'empty';
  if (isSharedForm(filter)) {
    const shared = parseShared(filter, maxLevels);
    return typeof shared === 'string' ? shared : undefined;
  }
  if (tooLong(filter)) return 'too_long';
  const r = checkFilterSyntax(filter, 0);
  if (typeof r === 'string') return r;
  return r > maxLevels ? 'too_many_levels' : undefined;
}

function isSharedForm(filter: string): boolean {
  return filter.charCodeAt(0) === DOLLAR && (filter.startsWith(SHARE_PREFIX) || filter.startsWith(QUEUE_PREFIX));
}

/**
 * `$share/<group>/<filter>` or EMQX's `$queue/<filter>` (group `$queue`); undefined for a filter
 * that is not shared. The group may not be empty or hold '+', '#' (MQTT 5.0 §4.8.2) or '/' (it
 * ends at the first one); the inner filter must be a valid, non-empty filter that is not itself
 * shared, as EMQX refuses `$share/g/$share/...`. `maxLevels` applies to the inner filter, the
 * one that is matched (as EMQX counts it).
 */
export function parseShared(
  filter: string,
  maxLevels = Number.POSITIVE_INFINITY,
): { group: string; filter: string } | undefined | TopicProblem {
  let group: string;
  let innerStart: number;
  if (filter.startsWith(SHARE_PREFIX)) {
    const slash = filter.indexOf('/', SHARE_PREFIX.length);
    if (slash < 0) return 'bad_share';
    for (let i = SHARE_PREFIX.length; i < slash; i++) {
      const c = filter.charCodeAt(i);
      if (c === PLUS || c === HASH) return 'bad_share';
      if (c === NUL) return 'null_char';
    }
    if (slash === SHARE_PREFIX.length) return 'bad_share';
    group = filter.slice(SHARE_PREFIX.length, slash);
    innerStart = slash + 1;
  } else if (filter.startsWith(QUEUE_PREFIX)) {
    group = QUEUE_GROUP;
    innerStart = QUEUE_PREFIX.length;
  } else {
    return undefined;
  }
  if (innerStart === filter.length) return 'bad_share';
  if (filter.startsWith(SHARE_PREFIX, innerStart) || filter.startsWith(QUEUE_PREFIX, innerStart)) return 'bad_share';
  if (tooLong(filter)) return 'too_long';
  const r = checkFilterSyntax(filter, innerStart);
  if (typeof r === 'string') return r;
  if (r > maxLevels) return 'too_many_levels';
  return { group, filter: filter.slice(innerStart) };
}

/** Whether a (valid) filter holds a wildcard level. */
export function isWildcard(filter: string): boolean {
  return filter.includes('+') || filter.includes('#');
}

/**
 * Whether a valid plain filter matches a topic name. The `$` rule (MQTT 5.0 §4.7.2): a topic whose
 * first level starts with '$' is not matched by a filter whose first level is '+' or '#', so `#`
 * does not see `$SYS/...` while `$SYS/#` does. Levels may be empty (`a//b`, `/a`, `a/`); '+'
 * matches an empty level, and `a/#` matches `a` itself. A shared subscription matches by its inner
 * filter (parseShared's `filter`).
 */
export function matches(filter: string, topic: string): boolean {
  const fl = filter.length;
  const tl = topic.length;
  if (topic.charCodeAt(0) === DOLLAR) {
    const f0 = filter.charCodeAt(0);
    if ((f0 === PLUS || f0 === HASH) && (fl === 1 || filter.charCodeAt(1) === SLASH)) return false;
  }
  let fi = 0;
  let ti = 0;
  for (;;) {
    // fi and ti are each at the start of a level.
    let fe = filter.indexOf('/', fi);
    if (fe < 0) fe = fl;
    let te = topic.indexOf('/', ti);
    if (te < 0) te = tl;
    const flen = fe - fi;
    if (flen === 1 && filter.charCodeAt(fi) === HASH) return true;
    if (flen !== 1 || filter.charCodeAt(fi) !== PLUS) {
      if (flen !== te - ti) return false;
      for (let k = 0; k < flen; k++) if (filter.charCodeAt(fi + k) !== topic.charCodeAt(ti + k)) return false;
    }
    if (fe === fl) return te === tl;
    if (te === tl) {
      // The topic ends here: only a trailing `/#` (matching its parent level) is left to match.
      return fe + 2 === fl && filter.charCodeAt(fe + 1) === HASH;
    }
    fi = fe + 1;
    ti = te + 1;
  }
}

/** The filter after `$exclusive/` (EMQX's exclusive subscriptions), or undefined for any other. */
export function exclusiveFilter(filter: string): string | undefined {
  return filter.startsWith('$exclusive/') ? filter.slice('$exclusive/'.length) : undefined;
}
