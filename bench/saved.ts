/** Where the committed results live: changed only by `npm run bench -- --save` (and re-rendered by `npm run bench:report`). */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const SAVED_JSON = path.join(REPO_ROOT, 'bench/results/latest.json');
