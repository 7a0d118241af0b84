/**
 * The one log a write batch on parallel logs goes to. A batch is one run
 * of one log entry (replica.writeBatch), so all of its ops must map to the
 * same log; a batch spanning logs, or holding a multi-log op, would need
 * the multi-log order for a whole batch, which parallel logs do not have.
 */
import { EncodeError, LogMapperError, UnknownOpError } from '../errors.js';
import { route, type LogMapper } from './mapper.js';

/** Check `ops` as `[name, ...args]` write ops of `writeIds` and return the log they all map to (-1: empty). Throws, with nothing written, otherwise. */
export function batchLog(mapper: LogMapper, writeIds: { readonly [name: string]: number | undefined }, ops: unknown, logs: number): number {
  if (!Array.isArray(ops)) throw new EncodeError('writeBatch', new TypeError(`writeBatch takes an array of [name, ...args] ops, got ${ops === null ? 'null' : typeof ops}`));
  let log = -1;
  let first = '';
  for (let i = 0; i < ops.length; i++) {
    const op: unknown = ops[i];
    if (!Array.isArray(op)) throw new EncodeError(`writeBatch op ${i}`, new TypeError(`a batch op is a [name, ...args] array, got ${op === null ? 'null' : typeof op}`));
    const name: unknown = op[0];
    if (typeof name !== 'string' || writeIds[name] === undefined) throw new UnknownOpError('write', String(name));
    const at = route(mapper, name, op.slice(1), logs);
    if (at < 0) throw new LogMapperError(`writeBatch op ${i} ('${name}') is a multi-log op: on parallel logs a batch takes ops of one log only (issue it with write())`);
    if (log >= 0 && at !== log) throw new LogMapperError(`writeBatch op ${i} ('${name}') maps to log ${at}, op 0 ('${first}') to log ${log}: on parallel logs a batch takes ops of one log only (one batch per log)`);
    if (log < 0) first = name;
    log = at;
  }
  return log;
}
