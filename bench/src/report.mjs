// Renders a run's results: the console lines and bench/RESULTS.md, each figure beside its budget,
// its same-run baseline and its anchor.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { BUDGETS, format, formatLimit, judge } from './budgets.mjs';

const STATUS_TEXT = { within: 'within', over: 'MISSED', reported: 'reported', unmeasured: 'not measured in this run' };

/** One row per budget: the strings both renderings show. */
export function rows(results) {
  return BUDGETS.map((budget) => {
    const verdict = judge(budget, results);
    const limit = formatLimit(budget, results);
    const baseline = budget.baseline ? results[budget.baseline] : undefined;
    return {
      label: budget.label,
      key: budget.key,
      measured: format(results[budget.key], budget.unit),
      budget: limit ?? (budget.mustBeatBaseline ? 'below baseline' : '-'),
      baseline: typeof baseline === 'number' ? `${format(baseline, budget.unit)} (${budget.baseline})` : '-',
      anchor: budget.anchor,
      status: STATUS_TEXT[verdict.status],
      note: verdict.note,
    };
  });
}

/** The console table. */
export function consoleTable(results) {
  const lines = [];
  for (const row of rows(results)) {
    lines.push(`${row.status.padEnd(12)} ${row.label}`);
    lines.push(`${''.padEnd(12)}   measured ${row.measured} | budget ${row.budget} | baseline ${row.baseline} | anchor: ${row.anchor}${row.note ? ` | ${row.note}` : ''}`);
  }
  return lines.join('\n');
}

const cell = (text) => String(text).replaceAll('|', '\\|');

/** The markdown table, with the machine and the run's settings below it. */
export function markdown(results, { machine, settings, breakdown = [] }) {
  const out = [];
  out.push('| what | measured | budget | baseline (same run) | anchor | status |');
  out.push('|---|---|---|---|---|---|');
  for (const row of rows(results)) {
    const status = row.note ? `${row.status}: ${row.note}` : row.status;
    out.push(`| ${cell(row.label)} | ${cell(row.measured)} | ${cell(row.budget)} | ${cell(row.baseline)} | ${cell(row.anchor)} | ${cell(status)} |`);
  }
  out.push('');
  out.push(`Measured on ${machine.cores} cores (${machine.cpu_model}), ${machine.memory_gib} GiB, Linux ${machine.kernel}; Node.js ${[...new Set(Object.values(machine.node_benchmarked))].join(' and ')} (benchmarked), ${machine.go}; commit ${machine.commit}, ${machine.date}.`);
  out.push(`Runs: ${Object.entries(settings).map(([k, v]) => `${k}=${v}`).join(', ')}.`);
  if (breakdown.length > 0) {
    out.push('');
    out.push('Largest files of the preload layer:');
    out.push('');
    out.push('| file | bytes |');
    out.push('|---|---|');
    for (const { name, bytes } of breakdown) out.push(`| ${cell(name)} | ${bytes.toLocaleString('en-US')} |`);
  }
  return `${out.join('\n')}\n`;
}

/** Replaces the table between the results markers of a README with `table`. */
export function updateReadme(readmePath, table) {
  if (!existsSync(readmePath)) return;
  const text = readFileSync(readmePath, 'utf8');
  const start = '<!-- results:start -->';
  const end = '<!-- results:end -->';
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  if (from < 0 || to < from) return;
  writeFileSync(readmePath, `${text.slice(0, from + start.length)}\n${table}${text.slice(to)}`);
}
