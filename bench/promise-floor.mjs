// The floor of the combined write path: what any API that returns one promise per write
// costs before it does any replication. A HashMap put (get + set, as the `apply-limit`
// baseline applies it) queued and applied in one microtask flush per 64 writes, each
// caller's promise resolved with the previous value, exactly as `nr-combined` issues its
// writes, against the bare put loop. No log, no encoding, no shared memory.
//
// CPU per op (3 rounds of 2M):  node bench/promise-floor.mjs
// Instructions: run N ops of one side under callgrind at two N and divide the difference:
//   valgrind --tool=callgrind --callgrind-out-file=/dev/null --smc-check=all-non-file \
//     node --single-threaded bench/promise-floor.mjs promise|bare 100000   (then 300000)
const [side, nArg] = process.argv.slice(2);
const m = new Map();
let pending = [];
let scheduled = false;
const put = (map, k, v) => {
  const prev = map.get(k);
  map.set(k, v);
  return prev;
};
const flush = () => {
  scheduled = false;
  const batch = pending;
  pending = [];
  for (const o of batch) o.resolve(put(m, o.k, o.v));
};
function writeAsync(k, v) {
  return new Promise((resolve) => {
    pending.push({ k, v, resolve });
    if (!scheduled) {
      scheduled = true;
      queueMicrotask(flush);
    }
  });
}
async function promised(n) {
  for (let i = 0; i < n; ) {
    let last;
    for (let j = 0; j < 64; j++, i++) last = writeAsync(i & 0xffff, i);
    await last;
  }
}
function bare(n) {
  for (let i = 0; i < n; i++) put(m, i & 0xffff, i);
}
const cpuNs = async (f, n) => {
  const c0 = process.cpuUsage();
  await f(n);
  const c = process.cpuUsage(c0);
  return ((c.user + c.system) * 1000) / n;
};
if (nArg !== undefined) await (side === 'bare' ? bare : promised)(+nArg);
else {
  for (let round = 0; round < 3; round++) {
    const p = await cpuNs(promised, 2_000_000);
    const b = await cpuNs(bare, 2_000_000);
    console.log(`promise per write ${p.toFixed(0)} ns CPU/op, bare put ${b.toFixed(0)} ns, ratio ${(b / p).toFixed(2)}`);
  }
}
