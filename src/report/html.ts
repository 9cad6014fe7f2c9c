import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { ChartConfiguration } from 'chart.js';
import type { RunResult } from '../model/run-result.js';

/** A chart of the report: its file in charts/ (as report.md links it) and its configuration, drawn live in the page. */
export interface HtmlChart {
  file: string;
  title: string;
  config: ChartConfiguration;
}

const escapeHtml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Inline Markdown: code spans, bold, nothing else (the report uses no more). */
const inline = (s: string) =>
  escapeHtml(s)
    .replace(/`([^`]+)`/g, '<code>$1</code>')
    .replace(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>');

/**
 * report.md as HTML: the same text and tables, so that the two never say different things. Only the Markdown the
 * report writes is understood: headings, paragraphs, bullet lists, tables, fenced code and image lines, which
 * become live charts where the page has the chart's configuration.
 */
export function markdownToHtml(md: string, charts: readonly HtmlChart[]): string {
  const out: string[] = [];
  const lines = md.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.startsWith('```')) {
      const code: string[] = [];
      for (i++; i < lines.length && !lines[i]!.startsWith('```'); i++) code.push(lines[i]!);
      out.push(`<pre><code>${escapeHtml(code.join('\n'))}</code></pre>`);
    } else if (/^#{1,3} /.test(line)) {
      const level = line.indexOf(' ');
      out.push(`<h${level}>${inline(line.slice(level + 1))}</h${level}>`);
    } else if (line.startsWith('|')) {
      // Cells split at unescaped pipes (markdownTable writes a pipe in a cell as \|); the second line gives alignment.
      const cells = (row: string) =>
        row
          .slice(1, -1)
          .split(/(?<!\\)\|/)
          .map((c) => c.trim().replace(/\\\|/g, '|'));
      const rows: string[][] = [];
      for (; i < lines.length && lines[i]!.startsWith('|'); i++) rows.push(cells(lines[i]!));
      i--;
      const [head, align, ...body] = rows;
      const right = (align ?? []).map((a) => a.endsWith(':'));
      const cell = (tag: string, c: string, j: number) => `<${tag}${right[j] ? ' class="num"' : ''}>${inline(c)}</${tag}>`;
      out.push(
        `<table><thead><tr>${head!.map((c, j) => cell('th', c, j)).join('')}</tr></thead><tbody>${body.map((r) => `<tr>${r.map((c, j) => cell('td', c, j)).join('')}</tr>`).join('')}</tbody></table>`,
      );
    } else if (line.startsWith('- ')) {
      const items: string[] = [];
      for (; i < lines.length && lines[i]!.startsWith('- '); i++) items.push(`<li>${inline(lines[i]!.slice(2))}</li>`);
      i--;
      out.push(`<ul>${items.join('')}</ul>`);
    } else if (/^!\[.*\]\(.*\)$/.test(line)) {
      const [, title, file] = /^!\[(.*)\]\((.*)\)$/.exec(line)!;
      const index = charts.findIndex((c) => c.file === file);
      out.push(
        index >= 0
          ? `<figure><div class="chart"><canvas data-chart="${index}" aria-label="${escapeHtml(title!)}"></canvas></div><figcaption>${escapeHtml(title!)} (<a href="${escapeHtml(file!)}">PNG</a>)</figcaption></figure>`
          : `<p><img src="${escapeHtml(file!)}" alt="${escapeHtml(title!)}"></p>`,
      );
    } else if (line.trim() !== '') {
      out.push(`<p>${inline(line)}</p>`);
    }
  }
  return out.join('\n');
}

/** JSON for a <script> element: functions (tick placement, legend filters) travel as their source; no `</script>`. */
const scriptJson = (value: unknown) => JSON.stringify(value, (_key, v: unknown) => (typeof v === 'function' ? { __fn: v.toString() } : v)).replace(/</g, '\\u003c');

const STYLE = `
body { font-family: "DejaVu Sans", system-ui, sans-serif; color: #1a1a1a; max-width: 1100px; margin: 2em auto; padding: 0 1em; line-height: 1.45; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; margin-top: 1.6em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: .6em 0; font-size: .92em; }
th, td { border: 1px solid #ccc; padding: .25em .55em; text-align: left; } th { background: #f3f3f3; } .num { text-align: right; }
pre { background: #f6f6f6; padding: .7em; overflow-x: auto; } code { font-family: "DejaVu Sans Mono", monospace; font-size: .9em; }
figure { margin: 1.2em 0; } .chart { position: relative; width: 100%; aspect-ratio: 1000 / 560; }
figcaption { color: #555; font-size: .9em; } .download { margin: 1em 0; }
`;

/**
 * report.html: one file with everything in it (no network: Chart.js, the styles, the charts' data and the run's
 * JSON are inline), the report's text and tables as in report.md, and the charts drawn live (values on hover,
 * series toggled from the legend). It opens from the file system in any browser.
 */
export function renderHtmlReport(r: RunResult, markdown: string, charts: readonly HtmlChart[]): string {
  // Chart.js's browser build, beside the build Node resolves (the package exports no path to it).
  const umd = join(dirname(createRequire(import.meta.url).resolve('chart.js')), 'chart.umd.min.js');
  const chartJs = readFileSync(umd, 'utf8').replace(/<\/script/gi, '<\\/script');
  const runJson = JSON.stringify(r, null, 2);
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(`hsm-bench ${r.runId}`)}</title>
<style>${STYLE}</style>
</head>
<body>
${markdownToHtml(markdown, charts)}
<p class="download"><a download="run.json" href="data:application/json;charset=utf-8,${encodeURIComponent(runJson)}">Download run.json</a> (the data of every table and chart here)</p>
<script>${chartJs}</script>
<script id="hsm-bench-charts" type="application/json">${scriptJson(charts.map((c) => c.config))}</script>
<script>
(function () {
  var revive = function (v) {
    if (Array.isArray(v)) return v.map(revive);
    if (v && typeof v === 'object') {
      if (typeof v.__fn === 'string') return new Function('return (' + v.__fn + ')')();
      var o = {};
      for (var k in v) o[k] = revive(v[k]);
      return o;
    }
    return v;
  };
  var configs = revive(JSON.parse(document.getElementById('hsm-bench-charts').textContent));
  var canvases = document.querySelectorAll('canvas[data-chart]');
  for (var i = 0; i < canvases.length; i++) {
    var config = configs[Number(canvases[i].getAttribute('data-chart'))];
    config.options = Object.assign({}, config.options, { responsive: true, maintainAspectRatio: false, animation: false });
    new Chart(canvases[i], config);
  }
  document.body.setAttribute('data-charts-drawn', String(canvases.length));
})();
</script>
</body>
</html>
`;
}
