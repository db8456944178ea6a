// What tracing costs per invocation, the pure half: the variants compared, the figures computed
// from their samples (added billed time, added CPU, ratios against AWS's ADOT layer), the budget
// verdicts (met, or missed by how much: reported, never a failure) and the tables. The measuring
// half is cost-run.mjs.

import { median, percentile, round } from './stats.mjs';

/**
 * The variants, in table order. `kind` says how a variant is set up (cost-run.mjs); `needs` what
 * must be there for it to run (a missing peer is skipped with a line).
 */
export const COST_VARIANTS = [
  { name: 'untraced', label: 'untraced', kind: 'untraced', needs: [] },
  { name: 'api', label: 'ours, X-Ray API', kind: 'ours', delivery: 'api', needs: [] },
  { name: 'daemon', label: 'ours, X-Ray daemon', kind: 'ours', delivery: 'daemon', needs: [] },
  { name: 'otlphttp', label: 'ours, otlphttp', kind: 'ours', delivery: 'otlphttp', needs: [] },
  { name: 'adot', label: 'ADOT', kind: 'adot', needs: ['adot'] },
  { name: 'adot_lite', label: 'ADOT lite', kind: 'adot', lite: true, needs: ['adot'] },
  { name: 'peer', label: 'official layer + upstream collector', kind: 'peer', needs: ['officialLayer', 'peerCollector'] },
];
export const VARIANT_NAMES = COST_VARIANTS.map((v) => v.name);
/** Ours, in each export mode: the figures compared with ADOT's. */
export const OURS = ['api', 'daemon', 'otlphttp'];
export const MODES = ['low', 'steady'];
export const MODE_LABEL = { low: 'low traffic', steady: 'back-to-back' };
/** Below this, ADOT's added cost is within a run's noise and no ratio is given. */
export const RATIO_FLOOR_MS = 0.5;
/** The memory sizes the budgets name: at or below ADOT at each, both traffic patterns. */
export const BUDGET_MEMORY_SIZES = [128, 1769];
/** Invocations of a back-to-back burst that are not measured: the collector sees steady traffic from the 4th. */
export const BURST_UNMEASURED = 3;

/**
 * The variants that can run, and why the others cannot.
 * @param {string[]} wanted   variant names (settings)
 * @param {Record<string, string|undefined>} missing   piece -> why it is missing (undefined: present)
 * @returns {{run: typeof COST_VARIANTS, skipped: Record<string, string>}}
 */
export function selectVariants(wanted, missing) {
  const run = [];
  const skipped = {};
  for (const variant of COST_VARIANTS) {
    if (!wanted.includes(variant.name)) continue;
    const why = variant.needs.map((piece) => missing[piece]).filter(Boolean);
    if (why.length > 0) skipped[variant.name] = why.join('; ');
    else run.push(variant);
  }
  if (!run.some((v) => v.name === 'untraced')) throw new Error('the cost comparison needs the untraced variant: every figure is measured against it');
  return { run, skipped };
}

/** A function's name in the emulator: variant and memory size, e.g. api-128. */
export const functionName = (variant, memory) => `${variant.replace('_', '-')}-${memory}`;

/**
 * The figures of one runtime from its samples.
 * @param {Record<number, Record<string, Record<string, {billed: number[], cpu: number[]}>>>} samples
 *   memory -> mode -> variant -> billed milliseconds per measured invocation and CPU milliseconds
 *   per invocation (handler process + extensions, one full core)
 * @returns {Record<number, Record<string, Record<string, {billed_p50_ms: number, billed_p90_ms: number,
 *   added_billed_p50_ms?: number, cpu_ms: number, added_cpu_ms?: number, n: number}>>>}
 */
export function cellFigures(samples) {
  const out = {};
  for (const [memory, byMode] of Object.entries(samples)) {
    out[memory] = {};
    for (const [mode, byVariant] of Object.entries(byMode)) {
      const base = byVariant.untraced;
      if (!base || base.billed.length === 0) throw new Error(`${memory} MB ${mode}: no untraced samples: every figure is measured against the untraced function`);
      const baseBilled = median(base.billed);
      const baseCpu = mean(base.cpu);
      out[memory][mode] = {};
      for (const [variant, series] of Object.entries(byVariant)) {
        if (series.billed.length === 0) continue;
        const billed = median(series.billed);
        const cpu = mean(series.cpu);
        out[memory][mode][variant] = {
          billed_p50_ms: round(billed),
          billed_p90_ms: round(percentile(series.billed, 90)),
          cpu_ms: round(cpu),
          n: series.billed.length,
          ...(variant === 'untraced' ? {} : { added_billed_p50_ms: round(billed - baseBilled), added_cpu_ms: round(cpu - baseCpu) }),
        };
      }
    }
  }
  return out;
}

function mean(series) {
  if (series.length === 0) return Number.NaN;
  return series.reduce((a, b) => a + b, 0) / series.length;
}

/**
 * Ours over ADOT: how many times ADOT's added cost each of our variants adds. Undefined where
 * either was not measured, where ADOT's added cost is under RATIO_FLOOR_MS or ours is below zero
 * (within the noise: no ratio means anything there).
 */
export function ratio(ours, adot) {
  if (typeof ours !== 'number' || typeof adot !== 'number' || !(adot >= RATIO_FLOOR_MS) || ours < 0) return undefined;
  return round(ours / adot);
}

/**
 * The budgets of the cost comparison for one runtime: each of our variants at or below ADOT in
 * added billed time at 128 and 1,769 MB, low traffic and back-to-back, and in added CPU; the CPU
 * stretch of 1 ms. Reported, never a failure.
 * @param {ReturnType<typeof cellFigures>} cells
 * @param {string} ours   our variant judged (the construct's default export)
 * @returns {{what: string, ours: number, limit: number, status: 'met'|'missed', by: number}[]}
 */
export function budgetVerdicts(cells, ours, anchor = 'adot') {
  const verdicts = [];
  const judge = (what, value, limit) => {
    if (typeof value !== 'number' || typeof limit !== 'number') return;
    const by = round(value - limit);
    verdicts.push({ what, ours: value, limit: round(limit), status: value <= limit ? 'met' : 'missed', by: Math.max(by, 0) });
  };
  for (const memory of BUDGET_MEMORY_SIZES) {
    for (const mode of MODES) {
      const cell = cells[memory]?.[mode];
      judge(`added billed time p50, ${memory.toLocaleString('en-US')} MB, ${MODE_LABEL[mode]}`, cell?.[ours]?.added_billed_p50_ms, cell?.[anchor]?.added_billed_p50_ms);
    }
  }
  const full = cells[1769]?.low;
  judge('added CPU per invocation, one full core', full?.[ours]?.added_cpu_ms, full?.[anchor]?.added_cpu_ms);
  judge('added CPU per invocation, stretch', full?.[ours]?.added_cpu_ms, 1);
  return verdicts;
}

/**
 * Start-up added by each layer (Node start to handler ready, minus bare Node, one core) and the
 * budget: ours at most a quarter of ADOT's and a third of its lite mode's, and at most 30 ms.
 * @param {Record<string, number>} results   results.json figures
 * @param {string} suffix   '' (Node.js 22) or '_nodejs24x'
 */
export function startupVerdicts(results, suffix) {
  const ours = results[`preload_startup_ms${suffix}`];
  const out = [];
  const judge = (what, limit) => {
    if (typeof ours !== 'number' || typeof limit !== 'number') return;
    out.push({ what, ours, limit: round(limit), status: ours <= limit ? 'met' : 'missed', by: Math.max(round(ours - limit), 0) });
  };
  judge('start-up added, at most 30 ms', 30);
  judge('start-up added, at most a quarter of ADOT\'s', typeof results[`adot_startup_ms${suffix}`] === 'number' ? results[`adot_startup_ms${suffix}`] / 4 : undefined);
  judge('start-up added, at most a third of ADOT lite\'s', typeof results[`adot_lite_startup_ms${suffix}`] === 'number' ? results[`adot_lite_startup_ms${suffix}`] / 3 : undefined);
  return out;
}

const signed = (ms) => `${ms >= 0 ? '+' : '−'}${Math.abs(ms).toFixed(1)} ms`;
const times = (r) => (r === undefined ? '' : ` (${r.toFixed(r >= 10 ? 0 : 1)}x)`);
const cellText = (text) => String(text).replaceAll('|', '\\|');

/**
 * The cost table of one runtime, markdown: one row per memory size and traffic pattern, then CPU
 * and start-up; one column per variant; ours with its ratio to ADOT.
 * @param {{runtime: string, cells: ReturnType<typeof cellFigures>, variants: string[], startup?: Record<string, number|undefined>, defaultVariant?: string}} options
 *   startup: variant -> start-up added in ms ('untraced' -> bare Node.js's own start)
 */
export function costTable({ runtime, cells, variants, startup = {}, defaultVariant }) {
  const label = (name) => {
    const text = COST_VARIANTS.find((v) => v.name === name)?.label ?? name;
    return name === defaultVariant ? `${text} (default)` : text;
  };
  const columns = variants;
  const header = `| ${cellText(`${nodeLabel(runtime)}, p50`)} | ${columns.map((c) => cellText(c === 'untraced' ? 'untraced (absolute)' : label(c))).join(' | ')} |`;
  const lines = [header, `|---|${columns.map(() => '---').join('|')}|`];
  const memories = Object.keys(cells).map(Number).sort((a, b) => a - b);
  for (const memory of memories) {
    for (const mode of MODES) {
      const cell = cells[memory]?.[mode];
      if (!cell) continue;
      const adot = cell.adot?.added_billed_p50_ms;
      lines.push(`| billed, ${memory.toLocaleString('en-US')} MB, ${MODE_LABEL[mode]} | ${columns.map((c) => {
        const f = cell[c];
        if (!f) return '-';
        if (c === 'untraced') return `${f.billed_p50_ms.toFixed(1)} ms`;
        return `${signed(f.added_billed_p50_ms)}${OURS.includes(c) || c === 'peer' ? times(ratio(f.added_billed_p50_ms, adot)) : ''}`;
      }).join(' | ')} |`);
    }
  }
  const full = cells[1769]?.low ?? cells[memories.at(-1)]?.low;
  if (full) {
    const adot = full.adot?.added_cpu_ms;
    lines.push(`| CPU per invocation, one full core | ${columns.map((c) => {
      const f = full[c];
      if (!f) return '-';
      if (c === 'untraced') return `${f.cpu_ms.toFixed(1)} ms`;
      return `${signed(f.added_cpu_ms)}${OURS.includes(c) || c === 'peer' ? times(ratio(f.added_cpu_ms, adot)) : ''}`;
    }).join(' | ')} |`);
  }
  if (Object.keys(startup).length > 0) {
    lines.push(`| start-up added, one core | ${columns.map((c) => {
      const ms = startup[c];
      if (typeof ms !== 'number') return '-';
      if (c === 'untraced') return `${ms.toFixed(0)} ms (bare Node.js)`;
      return signed(ms) + (OURS.includes(c) ? times(ratio(ms, startup.adot)) : '');
    }).join(' | ')} |`);
  }
  return lines.join('\n');
}

const nodeLabel = (runtime) => `Node.js ${/^nodejs(\d+)/.exec(runtime)?.[1] ?? runtime}`;

/** The verdicts as markdown list items. */
export function verdictLines(verdicts) {
  return verdicts.map((v) => `- ${v.what}: ${v.status === 'met' ? `met (${v.ours.toFixed(2)} ms, limit ${v.limit.toFixed(2)} ms)` : `MISSED by ${v.by.toFixed(2)} ms (${v.ours.toFixed(2)} ms, limit ${v.limit.toFixed(2)} ms)`}`);
}

/**
 * The whole cost section: a table per runtime, the budget verdicts of our default variant against
 * ADOT, the skipped variants and how the figures were measured. `compact`: the first runtime's
 * table and the one line on how it was measured (the project README's "What tracing costs").
 * @param {{byRuntime: Record<string, {cells: object, startup?: object, verdicts: object[], startupVerdicts?: object[]}>, variants: string[], defaultVariant?: string, skipped?: Record<string,string>, settings: Record<string, unknown>, machine?: {cores: number, cpu_model: string}}} cost
 */
export function costMarkdown(cost, { compact = false } = {}) {
  const out = [];
  if (compact) {
    const [runtime, part] = Object.entries(cost.byRuntime)[0] ?? [];
    if (!part) return 'Not measured in this run.\n';
    out.push(costTable({ runtime, cells: part.cells, variants: cost.variants, startup: part.startup, defaultVariant: cost.defaultVariant }));
    out.push('');
    const bundle = cost.bundles?.[runtime] === 'esm' ? 'ES module bundle' : 'CommonJS bundle';
    out.push(`p50, added to the same handler untraced (${bundle}); in brackets, how many times ADOT's added cost. ${cost.machine ? `${cost.machine.cores} cores (${cost.machine.cpu_model}), commit ${cost.machine.commit}; ` : ''}every figure, Node.js 22 and the budgets: [bench/RESULTS.md](bench/RESULTS.md).`);
    return `${out.join('\n')}\n`;
  }
  for (const [runtime, part] of Object.entries(cost.byRuntime)) {
    out.push(costTable({ runtime, cells: part.cells, variants: cost.variants, startup: part.startup, defaultVariant: cost.defaultVariant }));
    out.push('');
  }
  out.push('Added to the same handler untraced (12 spans and one fetch when traced), in the same interleaved rounds; in brackets, how many times ADOT\'s added cost (none where ADOT\'s is under 0.5 ms or ours below zero). Billed: from the Invoke call until the runtime and every extension asked for their next event, p50; low traffic: each function invoked at most once per 200 ms (in practice once per round of every function, a second or more apart); back-to-back: bursts of invocations one right after the other, the first three of each not measured. CPU: handler process and extensions, on-CPU time per invocation at low traffic, mean. Start-up: Node.js start to handler ready, minus bare Node.js, one core, median.');
  for (const [runtime, part] of Object.entries(cost.byRuntime)) {
    const verdicts = [...(part.verdicts ?? []), ...(part.startupVerdicts ?? [])];
    if (verdicts.length === 0) continue;
    out.push('');
    out.push(`Budgets, ${nodeLabel(runtime)}, ours (${cost.defaultVariant ?? 'default'}) against ADOT in the same run:`);
    out.push('');
    out.push(...verdictLines(verdicts));
  }
  const skipped = Object.entries(cost.skipped ?? {});
  if (skipped.length > 0) {
    out.push('');
    out.push(`Skipped: ${skipped.map(([name, why]) => `${name} (${why})`).join('; ')}.`);
  }
  out.push('');
  const loads = Object.values(cost.byRuntime).flatMap((part) => part.load_average ?? []);
  out.push(`The machine is shared: other work ran beside the benchmark${loads.length > 0 ? ` (1-minute load average ${Math.min(...loads).toFixed(1)} to ${Math.max(...loads).toFixed(1)} at the start and end of the cost rounds, on ${cost.machine?.cores ?? 'its'} cores)` : ''}, so single figures move by several milliseconds from run to run; compare the columns of one row, measured in the same rounds.`);
  if (cost.machine) {
    out.push('');
    out.push(`Lambda emulator with the CPU share emulated (cgroup v1 cpu quota = period × memory / 1,769, ${(cost.settings?.cpuPeriodMicros ?? 100000).toLocaleString('en-US')} µs period; Init unthrottled), X-Ray daemon stand-in; ${cost.machine.cores} cores (${cost.machine.cpu_model}), commit ${cost.machine.commit}, ${cost.machine.date}; handler bundles: ${Object.entries(cost.bundles ?? {}).map(([r, f]) => `${r} ${f === 'cjs' ? 'CommonJS (NodejsFunction\'s default)' : 'ES module (ADOT cannot load the CommonJS one there)'}`).join(', ')}; ${Object.entries(cost.settings ?? {}).filter(([k]) => k.startsWith('BENCH_COST')).map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(',') : v}`).join(', ')}.`);
  }
  return `${out.join('\n')}\n`;
}

/** Replaces what is between `<!-- name:start -->` and `<!-- name:end -->` in `text`; unchanged without the markers. */
export function replaceBetween(text, name, body) {
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  if (from < 0 || to < from) return text;
  return `${text.slice(0, from + start.length)}\n${body}${text.slice(to)}`;
}

/**
 * Flat headline figures for results.json and the budgets table: for each variant, added billed
 * time p50 at every memory size and traffic pattern, and added CPU, of one runtime.
 * e.g. cost_api_128mb_low_added_billed_p50_ms, cost_adot_added_cpu_ms; `suffix` for the other runtime.
 */
export function flatFigures(cells, suffix = '') {
  const out = {};
  for (const [memory, byMode] of Object.entries(cells)) {
    for (const [mode, byVariant] of Object.entries(byMode)) {
      for (const [variant, f] of Object.entries(byVariant)) {
        if (variant === 'untraced') {
          out[`cost_untraced_${memory}mb_${mode}_billed_p50_ms${suffix}`] = f.billed_p50_ms;
          continue;
        }
        out[`cost_${variant}_${memory}mb_${mode}_added_billed_p50_ms${suffix}`] = f.added_billed_p50_ms;
        const adot = byVariant.adot?.added_billed_p50_ms;
        const r = variant === 'adot' ? undefined : ratio(f.added_billed_p50_ms, adot);
        if (r !== undefined) out[`cost_${variant}_${memory}mb_${mode}_billed_over_adot${suffix}`] = r;
      }
    }
  }
  const full = cells[1769]?.low;
  for (const [variant, f] of Object.entries(full ?? {})) {
    if (variant === 'untraced') out[`cost_untraced_cpu_ms${suffix}`] = f.cpu_ms;
    else {
      out[`cost_${variant}_added_cpu_ms${suffix}`] = f.added_cpu_ms;
      const r = variant === 'adot' ? undefined : ratio(f.added_cpu_ms, full.adot?.added_cpu_ms);
      if (r !== undefined) out[`cost_${variant}_cpu_over_adot${suffix}`] = r;
    }
  }
  return out;
}
