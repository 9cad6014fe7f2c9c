/** Parts of a records file that were not records: counted, and where the first is (block or line number, from 1). */
export interface BadParts {
  count: number;
  /** `line` in a CSV file (older runs), `block` in a binary one. */
  first?: { unit: 'line' | 'block'; number: number };
}
