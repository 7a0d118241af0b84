/**
 * Runs one `kv` suite cell in its own process and prints its row as JSON:
 * lmdb with `encryptionKey` and writers in several threads sometimes aborts
 * the whole process (a native assertion), and a cell must not take the suite
 * down with it.
 */
import { runKvCell, type KvCell } from './kv.js';

const cell = JSON.parse(process.argv[2] ?? '{}') as KvCell;
runKvCell(cell).then(
  (row) => {
    process.stdout.write(`\nKV-ROW ${JSON.stringify(row)}\n`);
    process.exit(0);
  },
  (e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
    process.exit(1);
  },
);
