/** Entry point of the `atrium` command (see cli.ts). */
import { main } from './cli.js';

await main();
