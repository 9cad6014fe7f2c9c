/**
 * The layers of src/ (docs/internals.md, "Layers"): each folder has a level, and a file may import only from its own
 * folder or from folders of a lower level. Folders of one level never import each other, so that, for instance,
 * `report` (reports from run.json and records) works without `run` (the runs on tokens), and the other way round.
 */
export const LEVELS: Record<string, number> = {
  // errors and exit codes, parsers, files, quoting, words
  core: 0,
  // the types every stage shares: run.json, plan, configuration, workload, records, algorithms, return values
  model: 1,
  // statistics; the only code that calls PKCS#11; PINs
  stats: 2,
  pkcs11: 2,
  secrets: 2,
  // run directory, run.json, records, checkpoint and spill files on disk
  result: 3,
  // one descriptor per operation with its host check; thresholds, baselines, capacity gates
  operations: 4,
  verdict: 4,
  // flags or lab file to one plan; provisioning, cloning, the embedded workspace
  plan: 5,
  keys: 5,
  // the timed loop: engines, the control block, the watchdog
  measure: 6,
  // host checks off the timed path, recording
  pipeline: 7,
  // runs on tokens, emitting events; reports from what is on disk
  run: 8,
  report: 8,
  // commands, options, progress, the one exit
  cli: 9,
};

export interface SourceFile {
  /** Relative to src/, e.g. 'model/plan.ts'. */
  path: string;
  /** The src/ files it imports, relative to src/. */
  imports: string[];
}

const folderOf = (path: string): string | null => (path.includes('/') ? path.slice(0, path.indexOf('/')) : null);

/** What breaks the layers: imports against the levels, circles of files, files and folders without a level. */
export function importProblems(files: readonly SourceFile[]): string[] {
  const problems: string[] = [];
  for (const f of files) {
    const from = folderOf(f.path);
    if (from === null) {
      problems.push(`${f.path}: a file of src/ belongs in a folder with a level`);
      continue;
    }
    if (LEVELS[from] === undefined) {
      problems.push(`${f.path}: folder ${from} has no level (test/helpers/layers.ts)`);
      continue;
    }
    for (const target of f.imports) {
      const to = folderOf(target);
      if (to === from || to === null || LEVELS[to] === undefined) continue;
      if (LEVELS[to] === LEVELS[from]) problems.push(`${f.path} imports ${target}: ${from} and ${to} are of one level (${LEVELS[from]}) and never import each other`);
      else if (LEVELS[to]! > LEVELS[from]!) problems.push(`${f.path} imports ${target}: ${from} (level ${LEVELS[from]}) may import only from lower levels, not ${to} (level ${LEVELS[to]})`);
    }
  }
  return [...problems, ...circles(files)];
}

/** Each circle of imports among files, once, starting at its first file in path order. */
function circles(files: readonly SourceFile[]): string[] {
  const edges = new Map(files.map((f) => [f.path, f.imports.filter((i) => i !== f.path)]));
  const found = new Set<string>();
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string) => {
    state.set(node, 'open');
    stack.push(node);
    for (const next of edges.get(node) ?? []) {
      if (!edges.has(next)) continue;
      if (state.get(next) === 'open') {
        const circle = stack.slice(stack.indexOf(next));
        const start = circle.indexOf([...circle].sort()[0]!);
        const ordered = [...circle.slice(start), ...circle.slice(0, start)];
        found.add(`a circle of imports: ${[...ordered, ordered[0]].join(' → ')}`);
      } else if (state.get(next) === undefined) visit(next);
    }
    stack.pop();
    state.set(node, 'done');
  };
  for (const f of [...files].sort((a, b) => a.path.localeCompare(b.path))) if (state.get(f.path) === undefined) visit(f.path);
  return [...found];
}

/** The relative module specifiers a source text names: in from, a bare import, import(), require() and new URL(). */
export const importSpecifiers = (text: string): string[] => [...text.matchAll(/(?:\bfrom\s+|\bimport\s*\(?\s*|\brequire\(\s*|\bnew URL\(\s*)['"](\.{1,2}\/[^'"]+)['"]/g)].map((m) => m[1]!);
