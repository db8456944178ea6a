// The size budgets as a test: one line per budget, TAP-like, then "N passed, N failed".
// Sizes do not vary between runs, so unlike the timings they pass or fail.
import { BUDGETS, format, formatLimit, judge } from './budgets.mjs';
import { directorySize, fileSize } from './sizes.mjs';
import { HOW_TO_BUILD, PRELOAD_LAYER_DIR, collectorBinary } from './paths.mjs';

const measure = {
  collector_binary_bytes: () => fileSize(collectorBinary('amd64'), HOW_TO_BUILD),
  collector_binary_bytes_arm64: () => fileSize(collectorBinary('arm64'), HOW_TO_BUILD),
  preload_layer_bytes: () => directorySize(PRELOAD_LAYER_DIR, HOW_TO_BUILD),
};

let passed = 0;
let failed = 0;
let index = 0;
console.log('TAP version 13');
console.log(`1..${Object.keys(measure).length}`);
for (const [key, read] of Object.entries(measure)) {
  const budget = BUDGETS.find((b) => b.key === key);
  index++;
  let value;
  try {
    value = read();
  } catch (err) {
    failed++;
    console.log(`not ok ${index} - ${budget.label}: ${err.message}`);
    continue;
  }
  const verdict = judge(budget, { [key]: value });
  const figure = `${format(value, budget.unit)} (${value} bytes)`;
  if (verdict.status === 'over') {
    failed++;
    console.log(`not ok ${index} - ${budget.label}: ${figure}, ${verdict.note}`);
  } else {
    passed++;
    const limit = budget.limit === undefined ? 'reported, no budget' : `budget ${formatLimit(budget, {})}`;
    console.log(`ok ${index} - ${budget.label}: ${figure}, ${limit}; anchor: ${budget.anchor}`);
  }
}
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed > 0 ? 1 : 0;
