/**
 * Server versions, parsed as specklepy's `server.version()` does: the string is split on every dot and
 * hyphen (`re.split(r"\.|-", v)`) and segments made only of digits become numbers.
 *
 *   "2.31.14"          → [2, 31, 14]
 *   "2.6.4-alpha.4711" → [2, 6, 4, 'alpha', 4711]
 *   "dev"              → ['dev']
 */

/** A parsed server version: numbers for digit-only segments, strings otherwise. */
export type ServerVersion = readonly (number | string)[];

export function parseServerVersion(version: string): ServerVersion {
  return Object.freeze(version.split(/\.|-/).map((segment) => (/^[0-9]+$/.test(segment) ? Number(segment) : segment)));
}
