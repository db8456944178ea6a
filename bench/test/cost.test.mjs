import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  budgetVerdicts, cellFigures, costMarkdown, costTable, flatFigures, functionName, ratio, replaceBetween, selectVariants, startupVerdicts, VARIANT_NAMES,
} from '../src/cost.mjs';
import { variantSetup } from '../src/cost-run.mjs';
import { adotStartupLayer } from '../src/preload-startup.mjs';
import { readSettings } from '../src/settings.mjs';
import { BUDGETS, judge } from '../src/budgets.mjs';

/** Samples of one memory size and mode: billed and CPU series per variant. */
const series = (billed, cpu) => ({ billed, cpu });

test('a variant whose peer is missing is skipped with the reason; untraced must run', () => {
  const { run, skipped } = selectVariants(VARIANT_NAMES, { adot: 'no ADOT layer at /x', officialLayer: undefined, peerCollector: 'not built' });
  assert.deepEqual(run.map((v) => v.name), ['untraced', 'api', 'daemon', 'otlphttp']);
  assert.deepEqual(skipped, { adot: 'no ADOT layer at /x', adot_lite: 'no ADOT layer at /x', peer: 'not built' });
  assert.deepEqual(selectVariants(['untraced', 'daemon'], {}).run.map((v) => v.name), ['untraced', 'daemon']);
  assert.throws(() => selectVariants(['api'], {}), /needs the untraced variant/);
});

test('function names carry the variant and the memory size', () => {
  assert.equal(functionName('adot_lite', 128), 'adot-lite-128');
  assert.equal(functionName('api', 1769), 'api-1769');
});

test('added billed time is the variant\'s median minus untraced\'s; added CPU the difference of the means', () => {
  const cells = cellFigures({
    128: {
      low: {
        untraced: series([10, 12, 11], [2, 2, 2]),
        api: series([40, 30, 35, 1000], [9, 9, 9, 9]),
        adot: series([13, 14, 12], [4, 5, 6]),
      },
    },
  });
  assert.deepEqual(cells[128].low.untraced, { billed_p50_ms: 11, billed_p90_ms: 12, cpu_ms: 2, n: 3 });
  assert.equal(cells[128].low.api.added_billed_p50_ms, 26.5);
  assert.equal(cells[128].low.api.billed_p90_ms, 1000);
  assert.equal(cells[128].low.api.added_cpu_ms, 7);
  assert.equal(cells[128].low.adot.added_billed_p50_ms, 2);
  assert.equal(cells[128].low.adot.added_cpu_ms, 3);
  assert.throws(() => cellFigures({ 128: { low: { api: series([1], [1]) } } }), /128 MB low: no untraced samples/);
});

test('a ratio to ADOT only where ADOT\'s added cost is above the noise floor and ours is not below zero', () => {
  assert.equal(ratio(6, 2), 3);
  assert.equal(ratio(1, 4), 0.25);
  assert.equal(ratio(6, 0.3), undefined);
  assert.equal(ratio(-1, 2), undefined);
  assert.equal(ratio(1, undefined), undefined);
});

const cellsFor = (oursLow, adotLow, oursSteady = 1, adotSteady = 2) => cellFigures(Object.fromEntries([128, 1769].map((memory) => [memory, {
  low: { untraced: series([10], [2]), api: series([10 + oursLow], [2 + oursLow / 4]), adot: series([10 + adotLow], [2 + adotLow / 4]) },
  steady: { untraced: series([10], [2]), api: series([10 + oursSteady], [2]), adot: series([10 + adotSteady], [2]) },
}])));

test('budgets: ours at or below ADOT is met; above it is missed by the difference', () => {
  const verdicts = budgetVerdicts(cellsFor(8, 2), 'api');
  const low128 = verdicts.find((v) => v.what === 'added billed time p50, 128 MB, low traffic');
  assert.deepEqual(low128, { what: 'added billed time p50, 128 MB, low traffic', ours: 8, limit: 2, status: 'missed', by: 6 });
  const steady = verdicts.find((v) => v.what === 'added billed time p50, 1,769 MB, back-to-back');
  assert.equal(steady.status, 'met');
  assert.equal(steady.by, 0);
  const cpu = verdicts.find((v) => v.what === 'added CPU per invocation, one full core');
  assert.deepEqual([cpu.ours, cpu.limit, cpu.status, cpu.by], [2, 0.5, 'missed', 1.5]);
  assert.equal(verdicts.find((v) => v.what === 'added CPU per invocation, stretch').limit, 1);
  // Without ADOT, nothing to judge against but the stretch.
  const alone = budgetVerdicts(cellFigures({ 1769: { low: { untraced: series([1], [1]), api: series([2], [1.5]) } } }), 'api');
  assert.deepEqual(alone.map((v) => v.what), ['added CPU per invocation, stretch']);
  assert.equal(alone[0].status, 'met');
});

test('start-up budgets: 30 ms, a quarter of ADOT\'s and a third of its lite mode\'s', () => {
  const verdicts = startupVerdicts({ preload_startup_ms_nodejs24x: 40, adot_startup_ms_nodejs24x: 200, adot_lite_startup_ms_nodejs24x: 90 }, '_nodejs24x');
  assert.deepEqual(verdicts.map((v) => [v.status, v.limit, v.by]), [['missed', 30, 10], ['met', 50, 0], ['missed', 30, 10]]);
  assert.deepEqual(startupVerdicts({ preload_startup_ms: 20 }, '').map((v) => v.status), ['met']);
});

test('the cost table shows untraced absolute, the others added with their ratio to ADOT, and start-up', () => {
  const table = costTable({ runtime: 'nodejs24.x', cells: cellsFor(8, 2), variants: ['untraced', 'api', 'adot'], defaultVariant: 'api', startup: { untraced: 80, api: 40, adot: 400 } });
  const lines = table.split('\n');
  assert.equal(lines[0], '| Node.js 24, p50 | untraced (absolute) | ours, X-Ray API (default) | ADOT |');
  assert.equal(lines[2], '| billed, 128 MB, low traffic | 10.0 ms | +8.0 ms (4.0x) | +2.0 ms |');
  assert.equal(lines[3], '| billed, 128 MB, back-to-back | 10.0 ms | +1.0 ms (0.5x) | +2.0 ms |');
  assert.equal(lines.at(-2), '| CPU per invocation, one full core | 2.0 ms | +2.0 ms (4.0x) | +0.5 ms |');
  assert.equal(lines.at(-1), '| start-up added, one core | 80 ms (bare Node.js) | +40.0 ms (0.1x) | +400.0 ms |');
  assert.equal(lines.length, 2 + 4 + 2);
});

test('the cost section names skipped variants and the budgets met or missed', () => {
  const cells = cellsFor(8, 2);
  const md = costMarkdown({
    byRuntime: { 'nodejs24.x': { cells, verdicts: budgetVerdicts(cells, 'api') } },
    variants: ['untraced', 'api', 'adot'],
    defaultVariant: 'api',
    skipped: { peer: 'the upstream collector is not built' },
    bundles: { 'nodejs24.x': 'cjs' },
    settings: { BENCH_COST_ROUNDS: 30, BENCH_COST_MEMORY: [128, 1769], cpuPeriodMicros: 100000 },
    machine: { cores: 2, cpu_model: 'test cpu', commit: 'abc1234', date: '2026-01-01' },
  });
  assert.match(md, /- added billed time p50, 128 MB, low traffic: MISSED by 6\.00 ms \(8\.00 ms, limit 2\.00 ms\)/);
  assert.match(md, /- added billed time p50, 128 MB, back-to-back: met \(1\.00 ms, limit 2\.00 ms\)/);
  assert.match(md, /Skipped: peer \(the upstream collector is not built\)\./);
  assert.match(md, /2 cores \(test cpu\), commit abc1234.*nodejs24\.x CommonJS.*BENCH_COST_ROUNDS=30, BENCH_COST_MEMORY=128,1769\./);
});

test('flat figures: every cell\'s added billed time, ratios to ADOT, and CPU at 1,769 MB, with the runtime suffix', () => {
  const flat = flatFigures(cellsFor(8, 2), '_nodejs22x');
  assert.equal(flat.cost_api_128mb_low_added_billed_p50_ms_nodejs22x, 8);
  assert.equal(flat.cost_api_128mb_low_billed_over_adot_nodejs22x, 4);
  assert.equal(flat.cost_adot_1769mb_steady_added_billed_p50_ms_nodejs22x, 2);
  assert.equal(flat.cost_untraced_128mb_low_billed_p50_ms_nodejs22x, 10);
  assert.equal(flat.cost_api_added_cpu_ms_nodejs22x, 2);
  assert.equal(flat.cost_api_cpu_over_adot_nodejs22x, 4);
  assert.equal(flat.cost_untraced_cpu_ms_nodejs22x, 2);
  assert.equal(flat.cost_adot_billed_over_adot_nodejs22x, undefined);
});

test('the cost budgets of the report compare ours with ADOT of the same run', () => {
  const row = BUDGETS.find((b) => b.key === 'cost_daemon_128mb_low_added_billed_p50_ms');
  assert.ok(row, 'a row for the daemon export at 128 MB, low traffic');
  assert.deepEqual(judge(row, { cost_daemon_128mb_low_added_billed_p50_ms: 3, cost_adot_128mb_low_added_billed_p50_ms: 2 }), { status: 'over', note: 'over the budget of ADOT (2.00 ms) by 1.00 ms' });
  assert.equal(judge(row, { cost_daemon_128mb_low_added_billed_p50_ms: 2, cost_adot_128mb_low_added_billed_p50_ms: 2 }).status, 'within');
  assert.equal(judge(row, { cost_daemon_128mb_low_added_billed_p50_ms: 2 }).status, 'reported');
});

test('text between markers is replaced; without them nothing changes', () => {
  const text = 'a\n<!-- cost:start -->\nold\n<!-- cost:end -->\nb\n';
  assert.equal(replaceBetween(text, 'cost', 'new\n'), 'a\n<!-- cost:start -->\nnew\n<!-- cost:end -->\nb\n');
  assert.equal(replaceBetween('no markers', 'cost', 'new'), 'no markers');
});

test('cost settings: lists from the environment, untraced always measured, bad values refused', () => {
  const defaults = readSettings({});
  assert.deepEqual(defaults.BENCH_COST_MEMORY, [128, 512, 1769]);
  assert.deepEqual(defaults.BENCH_COST_MEMORY_OTHER, [128, 1769]);
  assert.deepEqual(defaults.BENCH_COST_RUNTIMES, ['nodejs24.x', 'nodejs22.x']);
  assert.deepEqual(defaults.BENCH_COST_VARIANTS, VARIANT_NAMES);
  const quick = readSettings({ BENCH_COST_MEMORY: '128, 1769', BENCH_COST_VARIANTS: 'api,adot', BENCH_COST_ROUNDS: '5' });
  assert.deepEqual(quick.BENCH_COST_MEMORY, [128, 1769]);
  assert.deepEqual(quick.BENCH_COST_VARIANTS, ['untraced', 'api', 'adot']);
  assert.equal(quick.BENCH_COST_ROUNDS, 5);
  assert.throws(() => readSettings({ BENCH_COST_MEMORY: '64' }), /BENCH_COST_MEMORY="64" is not valid \(64\): give memory sizes in MB/);
  assert.throws(() => readSettings({ BENCH_COST_VARIANTS: 'api,xray' }), /BENCH_COST_VARIANTS="api,xray" is not valid \("xray"\)/);
  assert.throws(() => readSettings({ BENCH_COST_RUNTIMES: 'nodejs18.x' }), /BENCH_COST_RUNTIMES/);
  assert.throws(() => readSettings({ BENCH_COST_BURST_LENGTH: '3' }), /BENCH_COST_BURST_LENGTH="3" is not valid: .*at least 4/);
});

const environments = {
  // Stand-ins: variantSetup hands each environment over as it is.
  api: { NODE_OPTIONS: '--import /p/preload.mjs', OTEL_NODE_ENABLED_INSTRUMENTATIONS: 'aws-lambda,http,undici', COLLECTOR_CONFIG: 'yaml:api' },
  daemon: { NODE_OPTIONS: '--import /p/preload.mjs', COLLECTOR_CONFIG: 'yaml:daemon' },
};
const pieces = { environments, collectorLayerDir: '/c', preloadLayerDir: '/p', adotOptDir: '/adot', officialOptDir: '/official', peerCollectorLayerDir: '/peer', sinkEndpoint: 'http://127.0.0.1:4319' };

test('each variant runs with its own layers and environment, the instrumentations the same everywhere', () => {
  const api = variantSetup({ name: 'api' }, pieces);
  assert.deepEqual(api.layerDirs, ['/c', '/p']);
  assert.equal(api.environment, environments.api);
  assert.equal(variantSetup({ name: 'daemon' }, pieces).environment, environments.daemon);
  const adot = variantSetup({ name: 'adot' }, pieces);
  assert.deepEqual(adot.layerDirs, ['/adot']);
  assert.equal(adot.environment.AWS_LAMBDA_EXEC_WRAPPER, '/opt/otel-instrument');
  assert.equal(adot.environment.OTEL_NODE_ENABLED_INSTRUMENTATIONS, 'aws-lambda,http,undici');
  assert.equal(adot.environment.OTEL_AWS_LAMBDA_FAST_START, undefined);
  assert.equal(variantSetup({ name: 'adot_lite' }, pieces).environment.OTEL_AWS_LAMBDA_FAST_START, 'true');
  const peer = variantSetup({ name: 'peer' }, pieces);
  assert.deepEqual(peer.layerDirs, ['/peer', '/official']);
  assert.equal(peer.environment.AWS_LAMBDA_EXEC_WRAPPER, '/opt/otel-handler');
  assert.match(Object.values(peer.overrides()).join('\n'), /endpoint: "http:\/\/127\.0\.0\.1:4319"/);
  assert.match(Object.values(variantSetup({ name: 'otlphttp' }, pieces).overrides()).join('\n'), /otlphttp:/);
  assert.deepEqual(variantSetup({ name: 'untraced' }, pieces).layerDirs, []);
  assert.throws(() => variantSetup({ name: 'zipkin' }, pieces), /no set-up for the cost variant zipkin/);
});

test('the ADOT layer is made runnable from the host: its /opt paths and handler directory rewritten', () => {
  const base = mkdtempSync(join(tmpdir(), 'bench-adot-'));
  const opt = join(base, 'opt');
  mkdirSync(join(opt, 'nodejs', 'node_modules'), { recursive: true });
  writeFileSync(join(opt, 'otel-instrument'), '#!/bin/bash\n  TASK_DIR="/var/task"\nexport NODE_OPTIONS="${NODE_OPTIONS} --import /opt/wrapper.mjs"\nexec "$@"\n');
  writeFileSync(join(opt, 'wrapper.mjs'), "await import('/opt/wrapper.js');\n");
  writeFileSync(join(opt, 'lite-wrapper.mjs'), "await import('/opt/lite-wrapper.js');\n");
  const work = join(base, 'work');
  mkdirSync(work);
  const layer = adotStartupLayer(opt, work);
  assert.equal(layer.wrapper, join(work, 'adot-opt', 'otel-instrument'));
  const wrapper = readFileSync(layer.wrapper, 'utf8');
  assert.match(wrapper, /TASK_DIR="\$\{LAMBDA_TASK_ROOT\}"/);
  assert.ok(wrapper.includes(`--import ${layer.optDir}/wrapper.mjs`), wrapper);
  assert.equal(readFileSync(join(layer.optDir, 'wrapper.mjs'), 'utf8'), `await import('${layer.optDir}/wrapper.js');\n`);
  assert.equal(readFileSync(join(layer.optDir, 'lite-wrapper.mjs'), 'utf8'), `await import('${layer.optDir}/lite-wrapper.js');\n`);
  assert.equal(readFileSync(join(layer.optDir, 'package.json'), 'utf8'), '{ "type": "commonjs" }\n');
  // A wrapper that finds the handler some other way is not measured blindly.
  writeFileSync(join(opt, 'otel-instrument'), '#!/bin/bash\nexec "$@"\n');
  assert.throws(() => adotStartupLayer(opt, work), /no longer sets TASK_DIR="\/var\/task"/);
});

test('the compact cost section holds the first runtime\'s table and points to the full results', () => {
  const cells = cellsFor(8, 2);
  const cost = {
    byRuntime: { 'nodejs24.x': { cells, verdicts: budgetVerdicts(cells, 'api') }, 'nodejs22.x': { cells, verdicts: [] } },
    variants: ['untraced', 'api', 'adot'],
    defaultVariant: 'api',
    bundles: { 'nodejs24.x': 'cjs' },
    machine: { cores: 2, cpu_model: 'test cpu', commit: 'abc1234' },
  };
  const md = costMarkdown(cost, { compact: true });
  assert.match(md, /^\| Node\.js 24, p50 \|/);
  assert.doesNotMatch(md, /\| Node\.js 22, p50|Budgets,/);
  assert.match(md, /\(CommonJS bundle\).*2 cores \(test cpu\), commit abc1234; .*\[bench\/RESULTS\.md\]\(bench\/RESULTS\.md\)\.\n$/);
  assert.equal(costMarkdown({ byRuntime: {}, variants: [] }, { compact: true }), 'Not measured in this run.\n');
});

test('the cost section says the machine is shared, with the load it measured under', () => {
  const cells = cellsFor(8, 2);
  const md = costMarkdown({ byRuntime: { 'nodejs24.x': { cells, verdicts: [], load_average: [1.5, 3.25] }, 'nodejs22.x': { cells, verdicts: [], load_average: [0.5, 2] } }, variants: ['untraced', 'api'], machine: { cores: 2, cpu_model: 'c', commit: 'x', date: 'd' } });
  assert.match(md, /The machine is shared: other work ran beside the benchmark \(1-minute load average 0\.5 to 3\.3 at the start and end of the cost rounds, on 2 cores\)/);
  assert.match(costMarkdown({ byRuntime: { 'nodejs24.x': { cells, verdicts: [] } }, variants: ['untraced'] }), /The machine is shared: other work ran beside the benchmark, so single figures/);
});
