/** piscina task for the pool tests: each pool thread is a node of the handle's log. */
import { threadId } from 'node:worker_threads';
import { type NrHandle, poolReplica } from '../../src/nr/index.js';
import { HashMap } from '../../src/nr/structures/index.js';

export default function task({ handle, key }: { handle: NrHandle; key: string }): { thread: number; value: unknown; stats: unknown } {
  const replica = poolReplica(handle, HashMap);
  return { thread: threadId, value: replica.reads.get(key) ?? null, stats: replica.stats() };
}
