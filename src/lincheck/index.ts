/**
 * node-replication/lincheck: a linearizability checker for recorded
 * histories against a sequential model (Wing & Gong / Lowe search, split by
 * partition, memoised). See docs/lincheck.md.
 */
export { checkLinearizable, DEFAULT_MAX_STEPS, DEFAULT_WITNESS_STEPS } from './check.js';
export {
  LincheckError,
  type CheckOptions,
  type CheckResult,
  type GaveUp,
  type Linearizable,
  type Model,
  type Operation,
  type Outcome,
  type PartitionKey,
  type Partitioning,
  type StepResult,
  type Violation,
} from './types.js';
export { registerModel, type RegisterInput, type RegisterOutput } from './models/register.js';
export {
  hashMapModel,
  kvModel,
  type CasOutput,
  type HashMapInput,
  type HashMapOperation,
  type HashMapOutput,
  type KvInput,
  type KvModelOptions,
  type KvOperation,
  type KvOutput,
} from './models/kv.js';
export type { Scalar } from './models/interner.js';
