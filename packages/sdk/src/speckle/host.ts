/**
 * Host handling, as specklepy's SpeckleClient does it: any scheme (`https://`, `http://`, `//`) and one
 * trailing slash are stripped, then the scheme is chosen by `useSsl` alone. So
 * `normaliseHost('http://localhost:3000/')` is `localhost:3000`, and without `useSsl: false` the client
 * still talks https to it.
 */

// specklepy: re.sub(r"((^\w+:|^)\/\/)|(\/$)", "", host); Python's \w is Unicode-aware, hence \p{L}\p{N}.
const SCHEME_OR_TRAILING_SLASH = /((^[\p{L}\p{N}_]+:|^)\/\/)|(\/$)/gu;

/** Strips a leading scheme (or `//`) and one trailing slash. */
export function normaliseHost(host: string): string {
  return host.replace(SCHEME_OR_TRAILING_SLASH, '');
}

/** The endpoints a client derives from a host. */
export interface ServerEndpoints {
  /** host without scheme, e.g. `app.speckle.systems` or `localhost:3000` */
  host: string;
  /** `https://host` (or `http://host` when useSsl is false) */
  url: string;
  /** `{url}/graphql` */
  graphqlUrl: string;
  /** `wss://host/graphql` (or `ws://`) */
  wsUrl: string;
  useSsl: boolean;
}

export function serverEndpoints(host: string, useSsl = true): ServerEndpoints {
  const h = normaliseHost(host);
  const url = `${useSsl ? 'https' : 'http'}://${h}`;
  return { host: h, url, graphqlUrl: `${url}/graphql`, wsUrl: `${useSsl ? 'wss' : 'ws'}://${h}/graphql`, useSsl };
}
