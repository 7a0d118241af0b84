// Cost of the secure KV's stream records (src/kv/stream-*.ts), one thread, no NATS:
// sealing a one-put record (100 B value, keys k0..k999) as a KvSite does, and applying it on a replica
// (open, parse, chain and writer checks, index update) as every site does.
//
//   node bench/kv-stream-cost.mjs <checkout with dist/ built> seal|apply N
//
// `seal` seals N records; `apply` seals N and applies them: apply's cost per record is the
// difference. Instruction counts: under callgrind at two N, the difference divided by the records between them:
//   valgrind --tool=callgrind --callgrind-out-file=/dev/null --smc-check=all-non-file \
//     node --single-threaded bench/kv-stream-cost.mjs <checkout> apply 20000   (then 60000)
// Prints the thread's CPU time per record too (/proc/thread-self/schedstat).
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';

const [dir, mode, nArg] = process.argv.slice(2);
const n = Number(nArg);
if (!dir || (mode !== 'seal' && mode !== 'apply') || !Number.isInteger(n) || n < 1) {
  console.error('usage: node bench/kv-stream-cost.mjs <checkout> seal|apply N');
  process.exit(2);
}
const { newStreamParams, streamCipher, recordAd, sealRecord, OP_PUT } = await import(dir + '/dist/src/kv/stream-record.js');
const { kvStreamStructureFor } = await import(dir + '/dist/src/kv/stream-structure.js');
const key = new Uint8Array(randomBytes(32));
const store = newStreamParams(key);
const S = kvStreamStructureFor({ key, store });
const cipher = streamCipher(store, key);
const ad = recordAd(store.storeId);
const value = Buffer.alloc(100, 0x61);
const cpu = () => Number(readFileSync('/proc/thread-self/schedstat', 'latin1').split(' ')[0]);

const st = S.create();
const t0 = cpu();
let known = { count: 0, head: '' };
for (let i = 1; i <= n; i++) {
  const sealed = sealRecord(cipher, ad, { writer: 1, seq: i, ownAck: i - 1, knownCount: known.count, knownHead: known.head, cond: null, items: [{ op: OP_PUT, key: `k${i % 1000}`, value }] });
  if (mode === 'apply') {
    const r = S.writes.record(st, sealed);
    if (r.failed !== null) throw new Error(r.failed);
    if ((i & 15) === 0) known = S.reads.info(st);
  }
}
const ns = (cpu() - t0) / n;
console.log(JSON.stringify({ mode, n, cpuNsPerRecord: Math.round(ns), size: mode === 'apply' ? S.reads.info(st).size : 0 }));
