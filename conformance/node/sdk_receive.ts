/**
 * Receives an object with @atrium/sdk's operations.receive and prints one JSON line: the summary of
 * interop_model.ts (the twin of interop_summary() in conformance/helpers_speckle_interop.py), the
 * root's id and speckle_type, and the time taken.
 *
 *   node --import tsx conformance/node/sdk_receive.ts <url> <token> <projectId> <objectId>
 */
import { SpeckleClient, operations } from '../../packages/sdk/src/index.js';
import { summary } from './interop_model.js';

async function main(argv: string[]): Promise<void> {
  const [url, token, projectId, objectId] = argv;
  if (!url || !token || !projectId || !objectId) throw new Error('usage: sdk_receive.ts <url> <token> <projectId> <objectId>');
  const client = new SpeckleClient({ host: url, useSsl: url.startsWith('https:') });
  await client.authenticateWithToken(token);
  const warnings: string[] = [];
  const t0 = performance.now();
  const root = await operations.receive(objectId, { client, projectId, onWarning: (w) => warnings.push(w) });
  const seconds = (performance.now() - t0) / 1000;
  const out = {
    id: root.id,
    speckle_type: root.speckle_type,
    summary: summary(root),
    warnings,
    seconds: Math.round(seconds * 100) / 100,
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (err) => {
    console.error(err instanceof Error ? err.stack ?? err.message : err);
    process.exit(1);
  },
);
