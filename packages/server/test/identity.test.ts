import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIdentityService, type IdentityService } from '../src/services/identity.js';
import { sha256Hex } from '../src/domain/ids.js';
import { freshStore, storeKinds } from './helpers/stores.js';

describe.each(storeKinds)('identity service on %s', (kind) => {
  let store: Awaited<ReturnType<typeof freshStore>>;
  let identity: IdentityService;
  beforeAll(async () => {
    store = await freshStore(kind);
    identity = createIdentityService(store);
  });
  afterAll(() => store.dropAll());

  it('makes the first user an admin and later users plain users', async () => {
    const first = await identity.createUser({ email: 'first@example.com', name: 'First', password: 'correct horse' });
    const second = await identity.createUser({ email: 'second@example.com', name: 'Second', password: 'correct horse' });
    expect(first.role).toBe('admin');
    expect(second.role).toBe('user');
    expect(first.id).toMatch(/^[0-9a-f]{10}$/);
  });

  it('refuses a duplicate email whatever its case, and stores nothing', async () => {
    const before = await identity.countUsers();
    await expect(identity.createUser({ email: 'FIRST@Example.com', name: 'Again', password: 'correct horse' })).rejects.toThrow(
      'Email taken. Try logging in?',
    );
    expect(await identity.countUsers()).toBe(before);
  });

  it('refuses weak or missing passwords and malformed emails', async () => {
    await expect(identity.createUser({ email: 'weak@example.com', name: 'W', password: 'short' })).rejects.toThrow(/at least 8/);
    await expect(identity.createUser({ email: 'weak@example.com', name: 'W', password: '' })).rejects.toThrow(/required/);
    await expect(identity.createUser({ email: 'not-an-email', name: 'W', password: 'long enough' })).rejects.toThrow(/email/i);
    expect(await identity.getUserByEmail('weak@example.com')).toBeNull();
  });

  it('stores passwords as argon2id digests and verifies them', async () => {
    const row = await store.db.selectFrom('users').select('password_digest').where('email_lower', '=', 'first@example.com').executeTakeFirstOrThrow();
    expect(row.password_digest).toMatch(/^\$argon2id\$/);
    expect(row.password_digest).not.toContain('correct horse');
    expect((await identity.verifyPassword('First@example.com', 'correct horse')).email).toBe('first@example.com');
  });

  it('gives the same error for a wrong password and for an unknown account', async () => {
    const wrong = await identity.verifyPassword('first@example.com', 'wrong password').catch((e) => e);
    const missing = await identity.verifyPassword('nobody@example.com', 'wrong password').catch((e) => e);
    expect(wrong.message).toBe('Invalid credentials.');
    expect(missing.message).toBe(wrong.message);
    expect(missing.code).toBe(wrong.code);
  });

  it('mints 42-char lower-hex tokens, stores only the SHA-256 of the secret, and authenticates them', async () => {
    const user = (await identity.getUserByEmail('second@example.com'))!;
    const { token, id } = await identity.mintToken({ userId: user.id, name: 't', scopes: ['streams:read', 'profile:read'] });
    expect(token).toMatch(/^[0-9a-f]{42}$/);
    expect(id).toBe(token.slice(0, 10));
    const row = await store.db.selectFrom('api_tokens').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    expect(row.digest).toBe(sha256Hex(token.slice(10)));
    expect(JSON.stringify(row)).not.toContain(token.slice(10));
    const ctx = await identity.authenticateToken(token);
    expect(ctx).toMatchObject({ auth: true, userId: user.id, role: 'user' });
    expect(ctx!.scopes.sort()).toEqual(['profile:read', 'streams:read']);
  });

  it('rejects a token with a wrong secret, a malformed token and a revoked token', async () => {
    const user = (await identity.getUserByEmail('second@example.com'))!;
    const { token } = await identity.mintToken({ userId: user.id, name: 't', scopes: ['profile:read'] });
    const tampered = token.slice(0, 10) + (token[10] === 'a' ? 'b' : 'a') + token.slice(11);
    expect(await identity.authenticateToken(tampered)).toBeNull();
    expect(await identity.authenticateToken('not-a-token')).toBeNull();
    expect(await identity.revokeToken(token.slice(0, 10))).toBe(true);
    expect(await identity.authenticateToken(token)).toBeNull();
  });

  it('deletes an expired token when it is used', async () => {
    const user = (await identity.getUserByEmail('second@example.com'))!;
    const { token, id } = await identity.mintToken({ userId: user.id, name: 't', scopes: ['profile:read'], lifespanMs: 1 });
    await new Promise((r) => setTimeout(r, 10));
    expect(await identity.authenticateToken(token)).toBeNull();
    expect(await store.db.selectFrom('api_tokens').select('id').where('id', '=', id).executeTakeFirst()).toBeUndefined();
  });

  it('refuses unknown scopes, empty scopes and out-of-range lifespans when minting', async () => {
    const user = (await identity.getUserByEmail('second@example.com'))!;
    await expect(identity.mintToken({ userId: user.id, name: 't', scopes: ['streams:fly'] })).rejects.toThrow(/Unknown scope/);
    await expect(identity.mintToken({ userId: user.id, name: 't', scopes: [] })).rejects.toThrow('No scopes provided');
    await expect(identity.mintToken({ userId: user.id, name: 't', scopes: ['profile:read'], lifespanMs: -5 })).rejects.toThrow(/lifespan/);
    await expect(identity.mintToken({ userId: user.id, name: 't', scopes: ['profile:read'], lifespanMs: 1e15 })).rejects.toThrow(/lifespan/);
  });

  it('creates the first admin from settings only when there is no user yet', async () => {
    expect(await identity.ensureFirstAdmin({ email: 'env@example.com', password: 'from the env', name: 'Env' })).toBeNull();
    expect(await identity.getUserByEmail('env@example.com')).toBeNull();
  });
});
