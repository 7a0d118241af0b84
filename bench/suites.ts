/** Every benchmark suite `npm run bench` knows, in the order it runs them by default. */
import { clusterSuite } from './cluster.js';
import { fsSuite } from './fs.js';
import { hashmapSuite } from './hashmap.js';
import { kvSuite } from './kv.js';
import { resilienceSuite } from './resilience.js';
import { schedSuite } from './sched.js';
import type { BenchSuite } from './suite.js';

export const SUITES: readonly BenchSuite[] = [hashmapSuite, resilienceSuite, kvSuite, fsSuite, schedSuite, clusterSuite];
