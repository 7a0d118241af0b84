/**
 * The names of node:fs's surface (node 20) that the facade does not
 * provide, each with the reason; everything else node:fs, fs.promises,
 * FileHandle, Dir, ReadStream, WriteStream, Stats and Dirent have, the
 * facade has (test/fs-surface-names.test.ts enumerates node's and fails on
 * any name that is neither there nor here; docs/fs.md lists these).
 */
export const NOT_PROVIDED: Readonly<Record<string, string>> = {
  'Dir.processReadResult': "node's internal step of Dir.read (undocumented); NrFS's Dir lists its entries at opendir",
  'Dir.readSyncRecursive': "node's internal step of a recursive Dir (undocumented)",
  'Stats._checkModeProperty': "node's internal helper of the is*() tests (undocumented)",
  'BigIntStats._checkModeProperty': "node's internal helper of the is*() tests (undocumented)",
};
