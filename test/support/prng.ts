/** The seeded PRNG of the benchmarks (mulberry32): every stress run is reproducible from its seed. */
export { mulberry32 } from '../../bench/workload.js';
