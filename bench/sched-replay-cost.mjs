// One replica's per-task replay work: decode + apply of submit, claim, finish and release
// ops as the log carries them; 8 workers claiming 64 at a time, 512 tasks in flight.
// Usage: node bench/sched-replay-cost.mjs N   (prints ns/task; run under callgrind at two N for instructions/task)
const dist = process.env.DIST ?? new URL('../dist', import.meta.url).pathname;
const st = await import(dist + '/src/sched/state.js');
const { submitCodec, claimCodec, finishCodec, releaseCodec } = await import(dist + '/src/sched/codecs.js');
const { OpWriter, OpReader } = await import(dist + '/src/nr/index.js');
const N = Number(process.argv[2] ?? 100000);
const kinds = ['noop', '50us'];
const sc = submitCodec(kinds);
const s = st.createState({ policy: 'fifo' });
const W = 8;
const workers = []; for (let i = 0; i < W; i++) workers.push(st.join(s, 64, kinds, 1).value);
const w = new OpWriter(1 << 20);
function apply(codec, fn, args) {
  w.pos = 0; codec.encode(w, ...args);
  const r = new OpReader(w.bytes); r.pos = 0; r.end = w.pos;
  return fn(s, ...codec.decode(r));
}
let now = 10, submitted = 0, finished = 0, released = 0, wi = 0;
const running = []; // per worker: claimed tasks
for (let i = 0; i < W; i++) running.push([]);
const t0 = performance.now();
while (finished < N) {
  // submit up to 512 in flight, 64 per op
  while (submitted - finished < 512 && submitted < N) {
    const n = Math.min(64, 512 - (submitted - finished), N - submitted);
    const specs = []; for (let i = 0; i < n; i++) specs.push({ kind: 'noop', payload: now + i });
    apply(sc, st.submit, [0, specs, now]); submitted += n;
  }
  now += 0.01;
  const wk = workers[wi]; const mine = running[wi]; wi = (wi + 1) % W;
  if (mine.length > 0) {
    const items = mine.map((t) => ({ id: t.id, attempt: t.attempt, ok: true, result: 12.5 }));
    apply(finishCodec, st.finish, [wk, items, now]); finished += items.length; mine.length = 0;
  }
  const got = apply(claimCodec, st.claim, [wk, 64, 10000, now]).value;
  // A claim returns ClaimedTask records (before session 7) or { tasks, attempts } (after).
  if (Array.isArray(got)) for (const t of got) mine.push(t);
  else for (let i = 0; i < got.tasks.length; i++) mine.push({ id: got.tasks[i].id, attempt: got.attempts[i] });
  if (finished - released >= 256) { apply(releaseCodec, st.release, [0, finished, false, now]); released = finished; }
}
const dt = performance.now() - t0;
console.log(JSON.stringify({ N, nsPerTask: Math.round(dt * 1e6 / N), counts: s.counts }));
