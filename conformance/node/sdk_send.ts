/**
 * Sends the interop model (interop_model.ts) with @atrium/sdk's operations.send and prints one JSON line:
 * {"id": <root id>, "seconds": …}.
 *
 *   node --import tsx conformance/node/sdk_send.ts <url> <token> <projectId> [tag]
 *
 * <url> is the server's base URL (http://127.0.0.1:<port>).
 */
import { SpeckleClient, operations } from '../../packages/sdk/src/index.js';
import { buildModel } from './interop_model.js';

async function main(argv: string[]): Promise<void> {
  const [url, token, projectId, tag = 'interop'] = argv;
  if (!url || !token || !projectId) throw new Error('usage: sdk_send.ts <url> <token> <projectId> [tag]');
  const client = new SpeckleClient({ host: url, useSsl: url.startsWith('https:') });
  await client.authenticateWithToken(token);
  const root = buildModel({ tag });
  const t0 = performance.now();
  const id = await operations.send(root, { client, projectId });
  const seconds = (performance.now() - t0) / 1000;
  process.stdout.write(`${JSON.stringify({ id, seconds: Math.round(seconds * 100) / 100 })}\n`);
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (err) => {
    console.error(err instanceof Error ? err.stack ?? err.message : err);
    process.exit(1);
  },
);
