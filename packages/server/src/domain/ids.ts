/** Identifiers: Speckle-style 10-char lower-hex ids, token parts, and the helpers that check them. */
import { createHash, randomBytes } from 'node:crypto';

/** Random lower-case hex string of `length` characters. */
export function randomHex(length: number): string {
  return randomBytes(Math.ceil(length / 2)).toString('hex').slice(0, length);
}

/** Speckle entity id (users, projects, models, versions): 10 lower-hex chars. */
export const newId = (): string => randomHex(10);

export const sha256Hex = (s: string): string => createHash('sha256').update(s).digest('hex');

export const isHex = (s: string, length?: number): boolean =>
  (length === undefined || s.length === length) && /^[0-9a-f]+$/.test(s);
