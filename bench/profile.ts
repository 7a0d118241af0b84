/**
 * `NR_BENCH_PROFILE=DIR`: benchmark threads write a CPU profile of their
 * measured rounds to DIR (open it in Chrome DevTools), every thread, so both
 * sides of a shared log show. Without the variable, `run` runs as is.
 */
import { mkdirSync, writeFileSync } from 'node:fs';

/** Run `run`, profiling it into `$NR_BENCH_PROFILE/<name>-<time>.cpuprofile` when the variable is set. */
export async function profiled<T>(name: string, run: () => Promise<T>): Promise<T> {
  const dir = process.env.NR_BENCH_PROFILE;
  if (!dir) return run();
  const { Session } = await import('node:inspector/promises');
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  const out = await run();
  const { profile } = await session.post('Profiler.stop');
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${dir}/${name}-${Date.now()}.cpuprofile`, JSON.stringify(profile));
  session.disconnect();
  return out;
}
