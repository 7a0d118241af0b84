export { HashMap, HashMapCnr, digestEntries, type Key, type Value } from './hashmap.js';
export { Counter, Stack } from './counter.js';
