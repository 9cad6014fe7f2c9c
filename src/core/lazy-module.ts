import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/**
 * A CommonJS package loaded on its first use, not at start: every command's code is loaded at start, and a package
 * only some runs need (JUnit's XML writer, the JSON Schema validator) costs 30–50 ms of CPU there, in every run.
 */
export function lazyModule<T>(name: string): () => T {
  let loaded: T | undefined;
  return () => (loaded ??= require(name) as T);
}
