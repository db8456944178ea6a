// The emulator's resource limits: Lambda's CPU share for the memory size (cgroup v1 cpu quota,
// 1,769 MB = one vCPU) over the runtime and every extension, and the memory limit, whose breach
// ends the invocation with Runtime.OutOfMemory and resets the environment. Skipped, with a line
// saying why, where cgroup v1 is not writable.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { eventually, FIXTURES, json, startService, WORK_ROOT } from './harness.mjs';
import { cpuQuotaMicros, EnvironmentCgroup, resourceLimits } from '../../tools/lambda-emulator/index.mjs';

const recorderLayer = join(FIXTURES, 'layers', 'recorder-extension');

// A handler that burns CPU for a given CPU time, allocates memory it touches, or reports where it runs.
const HANDLER = `
const { readFileSync } = require('node:fs');
let invocations = 0;
const kept = [];
exports.handler = async (event) => {
  invocations++;
  if (event.burnCpuMs) {
    const wallStart = process.hrtime.bigint();
    const cpuStart = process.cpuUsage();
    let x = 0;
    for (;;) {
      for (let i = 0; i < 100000; i++) x += i;
      const used = process.cpuUsage(cpuStart);
      if ((used.user + used.system) / 1000 >= event.burnCpuMs) {
        return { wallMs: Number(process.hrtime.bigint() - wallStart) / 1e6, cpuMs: (used.user + used.system) / 1000, x };
      }
    }
  }
  if (event.allocateMb) {
    for (let i = 0; i < event.allocateMb; i++) kept.push(Buffer.alloc(1024 * 1024, 1));
    return { allocatedMb: kept.length };
  }
  return { invocations, pid: process.pid, cgroup: readFileSync('/proc/self/cgroup', 'utf8') };
};
`;

/** Why this machine cannot run the limits (undefined when it can). */
function cgroupsUnavailable() {
  try {
    const limits = resourceLimits({ name: 'probe', memorySize: 128, cpuShare: true, memoryLimit: true });
    EnvironmentCgroup.create(`${process.pid}-limits-probe`, limits, { log: () => {} })?.removeNow();
    return undefined;
  } catch (err) {
    return err.message;
  }
}

const unavailable = cgroupsUnavailable();
if (unavailable) console.log(`# skipping the CPU share and memory limit scenarios: cgroups are not writable here (${unavailable})`);

describe('resource limits: CPU share and memory', { skip: unavailable ? `cgroups are not writable: ${unavailable}` : false }, () => {
  let service;
  const codeDir = join(WORK_ROOT, 'limits-code');
  before(async () => {
    mkdirSync(codeDir, { recursive: true });
    writeFileSync(join(codeDir, 'index.js'), HANDLER);
    service = await startService('limits');
    service.register({ name: 'share-128', runtime: 'nodejs22.x', memorySize: 128, timeoutSeconds: 60, codeDir, layerDirs: [recorderLayer], cpuShare: true });
    service.register({ name: 'oom-128', runtime: 'nodejs24.x', memorySize: 128, timeoutSeconds: 30, codeDir, memoryLimit: true });
  });
  after(async () => {
    await service?.stop();
  });

  test('every process of a 128 MB environment, runtime and extensions, runs in one cpu group with quota = period × 128 / 1769', async () => {
    const first = await service.invoke('share-128', {});
    assert.equal(first.functionError, undefined, first.payload.toString());
    await first.done;
    const env = service.environments('share-128').at(-1);
    const dir = env.cgroup.dirs.cpu;
    assert.ok(dir, 'the environment has a cpu group');
    assert.equal(Number(readFileSync(join(dir, 'cpu.cfs_period_us'), 'utf8')), 100_000);
    assert.equal(Number(readFileSync(join(dir, 'cpu.cfs_quota_us'), 'utf8')), cpuQuotaMicros(128, 100_000));
    assert.equal(cpuQuotaMicros(128, 100_000), 7236);
    const inGroup = readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
    for (const name of ['runtime', 'extension:recorder']) {
      const pid = env.processes.get(name).child.pid;
      assert.ok(inGroup.includes(pid), `${name} (PID ${pid}) is in the group ${dir}: ${inGroup.join(', ')}`);
    }
    assert.match(json(first).cgroup, new RegExp(`cpu:.*lambda-emulator-${process.pid}-${env.id}`), 'the handler sees its own group');
  });

  test('a 200 ms CPU burn at 128 MB takes more than 3x its CPU time in wall time, throttled by the quota', async () => {
    await (await service.invoke('share-128', {})).done;
    const env = service.environments('share-128').at(-1);
    const before = env.cgroup.cpuStat();
    const result = await service.invoke('share-128', { burnCpuMs: 200 });
    assert.equal(result.functionError, undefined, result.payload.toString());
    const { wallMs, cpuMs } = json(result);
    const after = env.cgroup.cpuStat();
    // 128 / 1769 of one CPU is 7.2%: the ideal ratio is about 13.8; 3 is far from both it and 1.
    assert.ok(wallMs / cpuMs > 3, `wall ${wallMs.toFixed(1)} ms for ${cpuMs.toFixed(1)} ms of CPU: ratio ${(wallMs / cpuMs).toFixed(2)}`);
    assert.ok(after.nr_throttled > before.nr_throttled, `the group was throttled (nr_throttled ${before.nr_throttled} -> ${after.nr_throttled})`);
  });

  test('the groups are removed with the environment', async () => {
    const env = service.environments('share-128').at(-1);
    const dir = env.cgroup.dirs.cpu;
    await service.settle();
    await env.shutdown('spindown');
    assert.deepEqual(Object.keys(env.cgroup.dirs), [], `no group left (${dir})`);
  });

  test('allocating past memorySize ends the invocation with Runtime.OutOfMemory and the next one starts cold', async () => {
    const warm = await service.invoke('oom-128', {});
    assert.equal(warm.functionError, undefined, warm.payload.toString());
    await warm.done;
    const env = service.environments('oom-128').at(-1);
    assert.ok(env.cgroup.dirs.memory, 'the environment has a memory group');
    assert.equal(Number(readFileSync(join(env.cgroup.dirs.memory, 'memory.limit_in_bytes'), 'utf8')), 128 * 1024 * 1024);

    const result = await service.invoke('oom-128', { allocateMb: 400 });
    assert.equal(result.functionError, 'Unhandled', result.payload.toString());
    const error = json(result);
    assert.equal(error.errorType, 'Runtime.OutOfMemory', result.payload.toString());
    assert.equal(error.errorMessage, `RequestId: ${result.requestId} Error: Runtime exited with error: signal: killed`);
    const record = await result.done;
    assert.equal(record.status, 'failure');
    assert.equal(record.errorType, 'Runtime.OutOfMemory');
    assert.equal(env.phase, 'dead', 'the environment was reset');
    assert.ok(await eventually(() => env.logs.some((l) => /Runtime\.OutOfMemory/.test(l.line))), 'the environment logged Runtime.OutOfMemory');

    const next = await service.invoke('oom-128', {});
    assert.equal(next.functionError, undefined, next.payload.toString());
    assert.equal(json(next).invocations, 1, 'the next invocation ran in a fresh runtime');
    assert.notEqual(service.environments('oom-128').at(-1), env, 'a new environment (cold start) served it');
  });
});

describe('resource limit options', () => {
  test('a bad value is refused at register, naming the option and the fix', async () => {
    const service = await startService('limits-options');
    try {
      const base = { runtime: 'nodejs22.x', codeDir: join(WORK_ROOT, 'limits-code') };
      assert.throws(() => service.register({ ...base, name: 'bad-share', cpuShare: 'yes' }), /cpuShare "yes" is not valid: use true .* 'if-available'/);
      assert.throws(() => service.register({ ...base, name: 'bad-period', cpuShare: true, cpuPeriodMicros: 500 }), /cpuPeriodMicros 500 is not valid: use a whole number of microseconds from 1000 to 1000000/);
      assert.throws(() => service.register({ ...base, name: 'bad-init', initCpu: 'fast' }), /initCpu "fast" is not valid/);
      // 128 MB over a 10 ms period would be a 724 µs quota: below the kernel's 1 ms.
      assert.throws(() => service.register({ ...base, name: 'tiny-quota', memorySize: 128, cpuShare: 'if-available', cpuPeriodMicros: 10_000 }), /quota of 724 µs, below the kernel's minimum of 1000 µs: use a cpuPeriodMicros of at least 13821/);
      assert.throws(() => service.register({ ...base, name: 'odd-memory', memorySize: 64, memoryLimit: 'if-available' }), /memorySize 64 cannot be limited: use a whole number of MB from 128 to 10240/);
    } finally {
      await service.stop();
    }
  });

  test('where cgroup v1 is missing, true fails naming the option and the fix, and \'if-available\' runs without the limit', () => {
    const root = join(WORK_ROOT, 'limits-no-cgroups');
    mkdirSync(root, { recursive: true });
    const strict = resourceLimits({ name: 'strict', memorySize: 128, cpuShare: true });
    assert.throws(() => EnvironmentCgroup.create('strict', strict, { log: () => {}, root }),
      /^Error: cpuShare: no cgroup v1 cpu hierarchy at .*: run the emulator as root on a machine whose cgroup v1 cpu controller is mounted writable \(mount -t cgroup -o cpu cgroup .*\), or set cpuShare: 'if-available' to run without the limit$/);
    const lines = [];
    const lenient = resourceLimits({ name: 'lenient', memorySize: 128, cpuShare: 'if-available', memoryLimit: 'if-available' });
    assert.equal(EnvironmentCgroup.create('lenient', lenient, { log: (line) => lines.push(line), root }), undefined);
    assert.deepEqual(lines.map((l) => l.replace(/ at .*?:/, ':')), [
      "cpuShare: 'if-available' and no cgroup v1 cpu hierarchy: the environment runs without the CPU share",
      "memoryLimit: 'if-available' and no cgroup v1 memory hierarchy: the environment runs without the memory limit",
    ]);
  });
});
