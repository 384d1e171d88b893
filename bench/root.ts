import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (bench/..): where `./tally` and `src/` are. */
export const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
