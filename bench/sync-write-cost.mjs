// Cost of one write on one replica (HashMap puts), on the synchronous path
// (`replica.writes.put`) or the combined one (`writeAsync`, awaited per 64);
// `cnr`: the synchronous path on 4 parallel logs (attachCnr, HashMapCnr: the
// view's inline key routing in front of the replica's);
// `batch`: `replica.writeBatch` of 64 puts (one reused array of reused op tuples: writeBatch keeps neither);
// `remote`: the combined one plus a second replica in the same thread that
// replays each batch (decodes and applies another replica's entry), so
// remote minus combined is what a write costs every other replica.
//
// Timed (3 rounds of 500k, ns/put):  node bench/sync-write-cost.mjs <checkout with dist/ built> [sync|combined]
// Instruction counts: run N puts once, under callgrind at two N, and divide the difference by the puts between them:
//   valgrind --tool=callgrind --callgrind-out-file=/dev/null --smc-check=all-non-file \
//     node --single-threaded bench/sync-write-cost.mjs <checkout> sync 200000   (then 600000)
// CLIENTS=1: the handle has a client slot, so the replica has a hub (what a node's own writes pay for serving clients).
const [dir, mode = 'sync', nArg] = process.argv.slice(2);
if (!dir || !['sync', 'combined', 'remote', 'cnr', 'batch', 'batch-remote'].includes(mode)) throw new Error('usage: sync-write-cost.mjs <checkout dir> [sync|combined|remote|cnr|batch|batch-remote] [N]');
const { attach, attachCnr, createCnrHandle, createHandle } = await import(dir + '/dist/src/nr/index.js');
const { HashMap, HashMapCnr } = await import(dir + '/dist/src/nr/structures/index.js');
const remote = mode.endsWith('remote');
const h = mode === 'cnr' ? createCnrHandle(HashMapCnr, { logs: 4, replicas: 1 }) : createHandle(HashMap, { replicas: remote ? 2 : 1, ...(process.env.CLIENTS ? { clients: +process.env.CLIENTS } : {}) });
const r = mode === 'cnr' ? attachCnr(h, HashMapCnr) : attach(h, HashMap);
const other = remote ? attach(h, HashMap) : null;
const ops = Array.from({ length: 64 }, () => ['put', 0, 0]);
async function run(n) {
  if (mode.startsWith('batch')) {
    for (let i = 0; i < n; ) {
      for (let j = 0; j < 64; j++, i++) {
        const op = ops[j];
        op[1] = i & 0xffff;
        op[2] = i;
      }
      r.writeBatch(ops);
      other?.sync();
    }
    return;
  }
  if (mode === 'sync' || mode === 'cnr') {
    for (let i = 0; i < n; i++) r.writes.put(i & 0xffff, i);
    return;
  }
  for (let i = 0; i < n; ) {
    let last;
    for (let j = 0; j < 64; j++, i++) last = r.writeAsync('put', i & 0xffff, i);
    await last;
    other?.sync();
  }
}
if (nArg !== undefined) await run(+nArg);
else {
  for (let round = 0; round < 3; round++) {
    const t0 = performance.now();
    await run(500000);
    const t = performance.now() - t0;
    console.log(dir.split('/').pop(), mode, `${((t * 1e6) / 500000).toFixed(0)} ns/put`);
  }
}
other?.detach();
r.detach();
