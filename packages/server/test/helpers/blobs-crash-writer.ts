/**
 * Child process for the crash test: opens the filesystem blob store at argv[2] and starts a put of
 * argv[3] whose body sends 2 MiB and then never ends. The test kills this process with SIGKILL
 * mid-write, as a power cut or OOM kill would.
 */
import { Readable } from 'node:stream';
import { openBlobStore } from '../../src/store/blobs/index.js';

const [root, key] = process.argv.slice(2);
if (!root || !key) throw new Error('usage: blobs-crash-writer <root> <key>');

const store = await openBlobStore({ kind: 'fs', root });
const body = Readable.from(
  (async function* () {
    yield Buffer.alloc(1024 * 1024, 0x6e);
    yield Buffer.alloc(1024 * 1024, 0x6e);
    await new Promise(() => setInterval(() => {}, 1000)); // hang here (keeping the process alive) until killed
  })(),
  { objectMode: false },
);
await store.put(key, body, { contentType: 'text/plain' });
