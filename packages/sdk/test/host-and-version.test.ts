/**
 * Pure parts, checked against the values specklepy produces: host normalisation
 * (re.sub(r"((^\w+:|^)\/\/)|(\/$)", "", host), scheme chosen by use_ssl) and version parsing
 * (re.split(r"\.|-", v), digit-only segments as ints).
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_HOST, SpeckleClient, normaliseHost, parseRetryAfter, parseServerVersion } from '../src/index.js';

describe('normaliseHost (specklepy host handling)', () => {
  it.each([
    ['https://app.speckle.systems', 'app.speckle.systems'],
    ['https://app.speckle.systems/', 'app.speckle.systems'],
    ['http://localhost:3000/', 'localhost:3000'],
    ['localhost:3000', 'localhost:3000'],
    ['//speckle.example.com/', 'speckle.example.com'],
    ['ftp://host', 'host'],
    ['https://host/sub/path/', 'host/sub/path'],
    // only one trailing slash goes
    ['https://host//', 'host/'],
    // "//" later in the string is kept: only a leading scheme is stripped
    ['host//x', 'host//x'],
    ['', ''],
  ])('%j → %j', (input, expected) => {
    expect(normaliseHost(input)).toBe(expected);
  });

  it('uses https unless useSsl is false, whatever scheme the host names', () => {
    const secure = new SpeckleClient({ host: 'http://localhost:3000/' });
    expect(secure.host).toBe('localhost:3000');
    expect(secure.url).toBe('https://localhost:3000');
    expect(secure.graphqlUrl).toBe('https://localhost:3000/graphql');
    expect(secure.wsUrl).toBe('wss://localhost:3000/graphql');
    expect(secure.useSsl).toBe(true);

    const plain = new SpeckleClient({ host: 'https://example.com/', useSsl: false });
    expect(plain.url).toBe('http://example.com');
    expect(plain.graphqlUrl).toBe('http://example.com/graphql');
    expect(plain.wsUrl).toBe('ws://example.com/graphql');
  });

  it('defaults to app.speckle.systems over https, not authenticated', () => {
    const client = new SpeckleClient();
    expect(DEFAULT_HOST).toBe('app.speckle.systems');
    expect(client.url).toBe('https://app.speckle.systems');
    expect(client.isAuthenticated).toBe(false);
    expect(client.account).toEqual({ token: null, serverInfo: { url: 'https://app.speckle.systems' }, userInfo: {} });
    expect(client.serverVersion).toBeUndefined();
    expect(String(client)).toBe('SpeckleClient( server: https://app.speckle.systems, authenticated: false )');
  });
});

describe('parseServerVersion (specklepy server.version())', () => {
  it.each([
    ['2.31.14', [2, 31, 14]],
    ['2.23.5', [2, 23, 5]],
    ['2.6.4-alpha.4711', [2, 6, 4, 'alpha', 4711]],
    ['3.0.0-rc-2', [3, 0, 0, 'rc', 2]],
    ['dev', ['dev']],
    ['2.5.x', [2, 5, 'x']],
    ['1..2', [1, '', 2]],
    ['007', [7]],
  ] as const)('%j → %j', (input, expected) => {
    expect(parseServerVersion(input)).toEqual(expected);
  });

  it('keeps numbers as numbers so versions compare numerically', () => {
    const [major, minor] = parseServerVersion('2.10.0');
    expect(typeof major).toBe('number');
    expect(minor as number).toBeGreaterThan(9);
  });
});

describe('parseRetryAfter', () => {
  it('reads delay-seconds and HTTP dates, ignores junk', () => {
    expect(parseRetryAfter(null)).toBeUndefined();
    expect(parseRetryAfter('0')).toBe(0);
    expect(parseRetryAfter(' 2 ')).toBe(2000);
    expect(parseRetryAfter('1.5')).toBe(1500);
    const now = Date.parse('Wed, 21 Oct 2015 07:28:00 GMT');
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:03 GMT', now)).toBe(3000);
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:27:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon')).toBeUndefined();
  });
});
