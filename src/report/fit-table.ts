import Table from 'cli-table3';

type Cell = string | number;

/** The width the tables of hsm-bench's terminal output keep within, where they can choose their columns. */
export const TERMINAL_COLUMNS = 100;

/** The grid: an empty style keeps cli-table3 from writing colour codes into pipes and files; no rule between rows (a row is a line). */
function gridOf(head: string[], rows: Cell[][]): string {
  const table = new Table({ head, style: { head: [], border: [] }, chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' } });
  table.push(...rows.map((r) => r.map(String)));
  return table.toString();
}

/** How wide the grid of a table is, in columns. */
export const gridWidth = (head: string[], rows: Cell[][]) =>
  Math.max(
    ...gridOf(head, rows)
      .split('\n')
      .map((l) => l.length),
  );

/**
 * A table for the terminal: the usual grid where it fits the terminal's width, else one block per row with a
 * "column: value" line each, which reads at any width (a 170-column grid wrapped into a 100-column terminal does
 * not). Off a terminal (a pipe, a file, CI) the grid is always used: nothing wraps there.
 */
export function fitTable(head: string[], rows: Cell[][], columns: number | undefined = process.stdout.isTTY ? process.stdout.columns : undefined): string {
  const grid = gridOf(head, rows);
  const width = Math.max(...grid.split('\n').map((l) => l.length));
  if (columns === undefined || columns <= 0 || width <= columns) return grid;
  // A header on two lines in the grid is one line here.
  const names = head.slice(1).map((h) => h.replace(/\n/g, ' '));
  const label = Math.max(...names.map((h) => h.length));
  return rows.map((r) => [String(r[0]), ...names.map((h, i) => `  ${h.padEnd(label)}  ${String(r[i + 1])}`)].join('\n')).join('\n\n');
}
