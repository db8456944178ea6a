// Lambda's CPU share and memory limit for one execution environment, with cgroup v1.
//
// Lambda allocates CPU in proportion to the configured memory: 1,769 MB is the equivalent of one
// vCPU (https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html), so a 128 MB
// function gets about 7% of one. The emulator expresses that as a CFS bandwidth limit on a cgroup
// v1 `cpu` group: cpu.cfs_quota_us = cpu.cfs_period_us × memorySize / 1769. The memory limit is a
// cgroup v1 `memory` group with memory.limit_in_bytes = memorySize MB (and the same for
// memory+swap where the kernel accounts swap), so the kernel's OOM killer ends an environment
// that goes past it, as Lambda does.
//
// One group per environment and controller, created as a child of the emulator's own group (read
// from /proc/self/cgroup), so a machine-wide limit on the emulator still holds; removed when the
// environment is torn down. Processes join by writing their PID to cgroup.procs before they exec
// the runtime or extension (`joinCommand`), so every child they start is in the group too.
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Memory size, in MB, that Lambda gives the CPU equivalent of one vCPU. */
export const VCPU_MEMORY_MB = 1769;
/** Default CFS period: the kernel's own default for cpu.cfs_period_us (100 ms). */
export const DEFAULT_CPU_PERIOD_MICROS = 100_000;
/** The kernel accepts cpu.cfs_period_us from 1 ms to 1 s, and a quota of at least 1 ms. */
export const MIN_CPU_PERIOD_MICROS = 1_000;
export const MAX_CPU_PERIOD_MICROS = 1_000_000;
export const MIN_CPU_QUOTA_MICROS = 1_000;
/** Where cgroup v1 hierarchies are mounted. */
export const CGROUP_ROOT = '/sys/fs/cgroup';

const LIMIT_VALUES = [true, false, 'if-available'];
const INIT_CPU_VALUES = ['burst', 'share'];

/**
 * The CFS quota for a memory size: period × memorySize / 1769, in whole microseconds.
 * Throws an error naming the values and the fix when the kernel could not express it.
 */
export function cpuQuotaMicros(memorySize, periodMicros = DEFAULT_CPU_PERIOD_MICROS) {
  const quota = Math.round((periodMicros * memorySize) / VCPU_MEMORY_MB);
  if (quota < MIN_CPU_QUOTA_MICROS) {
    const smallestPeriod = Math.ceil((MIN_CPU_QUOTA_MICROS * VCPU_MEMORY_MB) / memorySize);
    throw new Error(
      `cpuShare: memorySize ${memorySize} MB with cpuPeriodMicros ${periodMicros} gives a CPU quota of ${quota} µs, below the kernel's minimum of ${MIN_CPU_QUOTA_MICROS} µs: ` +
        `use a cpuPeriodMicros of at least ${smallestPeriod} for this memory size`,
    );
  }
  return quota;
}

/**
 * The resource limits of a function: its own settings over the service's defaults, checked.
 * Throws an error that names the option, the value and the fix.
 * @param {{name: string, memorySize: number, cpuShare?: boolean|'if-available', memoryLimit?: boolean|'if-available', cpuPeriodMicros?: number, initCpu?: 'burst'|'share'}} fn
 * @param {{cpuShare?: boolean|'if-available', memoryLimit?: boolean|'if-available', cpuPeriodMicros?: number, initCpu?: 'burst'|'share'}} [defaults]
 * @param {string} [where]  how errors name the settings
 * @returns {{cpuShare: boolean|'if-available', memoryLimit: boolean|'if-available', cpuPeriodMicros: number, initCpu: 'burst'|'share', cpuQuotaMicros?: number, memoryBytes?: number}}
 */
export function resourceLimits(fn, defaults = {}, where = `function ${fn.name}`) {
  const pick = (key, fallback) => (fn[key] !== undefined ? fn[key] : defaults[key] !== undefined ? defaults[key] : fallback);
  const limits = {
    cpuShare: pick('cpuShare', false),
    memoryLimit: pick('memoryLimit', false),
    cpuPeriodMicros: pick('cpuPeriodMicros', DEFAULT_CPU_PERIOD_MICROS),
    initCpu: pick('initCpu', 'burst'),
  };
  for (const key of ['cpuShare', 'memoryLimit']) {
    if (!LIMIT_VALUES.includes(limits[key])) {
      throw new Error(`${where}: ${key} ${JSON.stringify(limits[key])} is not valid: use true (fail when cgroups are not writable), 'if-available' (warn and run without the limit) or false`);
    }
  }
  if (!INIT_CPU_VALUES.includes(limits.initCpu)) {
    throw new Error(`${where}: initCpu ${JSON.stringify(limits.initCpu)} is not valid: use 'burst' (Init runs without the CPU quota) or 'share' (Init gets the same share as invocations)`);
  }
  const period = limits.cpuPeriodMicros;
  if (!Number.isInteger(period) || period < MIN_CPU_PERIOD_MICROS || period > MAX_CPU_PERIOD_MICROS) {
    throw new Error(`${where}: cpuPeriodMicros ${JSON.stringify(period)} is not valid: use a whole number of microseconds from ${MIN_CPU_PERIOD_MICROS} to ${MAX_CPU_PERIOD_MICROS} (the kernel's range for cpu.cfs_period_us)`);
  }
  if ((limits.cpuShare || limits.memoryLimit) && !(Number.isInteger(fn.memorySize) && fn.memorySize >= 128 && fn.memorySize <= 10240)) {
    throw new Error(`${where}: memorySize ${JSON.stringify(fn.memorySize)} cannot be limited: use a whole number of MB from 128 to 10240, as Lambda accepts`);
  }
  if (limits.cpuShare) limits.cpuQuotaMicros = cpuQuotaMicros(fn.memorySize, period);
  if (limits.memoryLimit) limits.memoryBytes = fn.memorySize * 1024 * 1024;
  return limits;
}

/**
 * The directory of this process's own group in a cgroup v1 hierarchy, e.g.
 * /sys/fs/cgroup/memory/some/path; the hierarchy's root when that path is not visible here
 * (a cgroup namespace).
 */
export function ownGroupDir(controller, { root = CGROUP_ROOT, procSelfCgroup = '/proc/self/cgroup' } = {}) {
  const mount = join(root, controller);
  let own = '/';
  try {
    for (const line of readFileSync(procSelfCgroup, 'utf8').split('\n')) {
      const [, controllers, path] = line.split(':');
      if (controllers?.split(',').includes(controller)) own = path;
    }
  } catch {
    // no /proc: the root
  }
  const candidate = join(mount, own);
  return existsSync(join(candidate, 'cgroup.procs')) ? candidate : mount;
}

/** Why cgroup v1 `controller` cannot be used here, or undefined when it can. */
function unavailableReason(controller, root) {
  if (existsSync(join(root, controller, 'cgroup.procs'))) return undefined;
  if (existsSync(join(root, 'cgroup.controllers'))) {
    return `this machine mounts cgroup v2 only at ${root}; the emulator uses cgroup v1's ${controller} controller`;
  }
  return `no cgroup v1 ${controller} hierarchy at ${join(root, controller)}`;
}

/**
 * The cgroups of one execution environment.
 */
export class EnvironmentCgroup {
  /**
   * Creates the groups the limits ask for. A limit set to true throws when its group cannot be
   * made; one set to 'if-available' is skipped, with a line for `log`.
   * @param {string} name   unique per environment
   * @param {ReturnType<typeof resourceLimits>} limits
   * @param {{log: (line: string) => void, root?: string}} options
   * @returns {EnvironmentCgroup | undefined}   undefined when no limit applies
   */
  static create(name, limits, { log, root = CGROUP_ROOT }) {
    const wanted = [];
    if (limits.cpuShare) wanted.push({ controller: 'cpu', option: 'cpuShare', required: limits.cpuShare === true });
    if (limits.memoryLimit) wanted.push({ controller: 'memory', option: 'memoryLimit', required: limits.memoryLimit === true });
    if (wanted.length === 0) return undefined;
    const group = new EnvironmentCgroup(limits);
    for (const { controller, option, required } of wanted) {
      const dir = join(ownGroupDir(controller, { root }), `lambda-emulator-${name}`);
      let reason = unavailableReason(controller, root);
      if (!reason) {
        try {
          mkdirSync(dir);
          group.dirs[controller] = dir;
          if (controller === 'cpu') {
            writeFileSync(join(dir, 'cpu.cfs_period_us'), String(limits.cpuPeriodMicros));
            group.setCpuQuota(limits.initCpu === 'share' ? limits.cpuQuotaMicros : -1);
          } else {
            writeFileSync(join(dir, 'memory.limit_in_bytes'), String(limits.memoryBytes));
            // Where swap is accounted, memory+swap gets the same limit: the limit is not swapped around.
            if (existsSync(join(dir, 'memory.memsw.limit_in_bytes'))) writeFileSync(join(dir, 'memory.memsw.limit_in_bytes'), String(limits.memoryBytes));
            writeFileSync(join(dir, 'memory.swappiness'), '0');
          }
        } catch (err) {
          reason = `cannot create or write ${dir} (${err.code ?? err.message})`;
          group.#removeSync(controller);
        }
      }
      if (reason) {
        const fix = `run the emulator as root on a machine whose cgroup v1 ${controller} controller is mounted writable (mount -t cgroup -o ${controller} cgroup ${join(root, controller)})`;
        if (required) {
          group.#removeAllSync();
          throw new Error(`${option}: ${reason}: ${fix}, or set ${option}: 'if-available' to run without the limit`);
        }
        log(`${option}: 'if-available' and ${reason}: the environment runs without the ${controller === 'cpu' ? 'CPU share' : 'memory limit'}`);
      }
    }
    if (Object.keys(group.dirs).length === 0) return undefined;
    group.baseline = group.memoryEvents();
    return group;
  }

  constructor(limits) {
    this.limits = limits;
    /** @type {Partial<Record<'cpu'|'memory', string>>} */
    this.dirs = {};
    this.baseline = { oomKills: 0, failcnt: 0 };
  }

  /** The cgroup.procs files a process writes its PID to, to join every group. */
  get procsFiles() {
    return Object.values(this.dirs).map((dir) => join(dir, 'cgroup.procs'));
  }

  /** The CFS quota in µs; -1 for none. */
  setCpuQuota(micros) {
    if (!this.dirs.cpu) return;
    writeFileSync(join(this.dirs.cpu, 'cpu.cfs_quota_us'), String(micros));
    this.cpuQuotaMicros = micros;
  }

  /** Applies the invocation share (after a burst Init). */
  applyInvokeShare() {
    if (this.dirs.cpu && this.cpuQuotaMicros !== this.limits.cpuQuotaMicros) this.setCpuQuota(this.limits.cpuQuotaMicros);
  }

  /** cpu.stat: periods, throttled periods, throttled time (ns); undefined without a cpu group. */
  cpuStat() {
    if (!this.dirs.cpu) return undefined;
    return parseFlatKeyed(readFileSync(join(this.dirs.cpu, 'cpu.stat'), 'utf8'));
  }

  /** OOM kills and failed charges so far (memory.oom_control's oom_kill, memory.failcnt). */
  memoryEvents() {
    if (!this.dirs.memory) return { oomKills: 0, failcnt: 0 };
    try {
      const control = parseFlatKeyed(readFileSync(join(this.dirs.memory, 'memory.oom_control'), 'utf8'));
      const failcnt = Number(readFileSync(join(this.dirs.memory, 'memory.failcnt'), 'utf8').trim());
      return { oomKills: control.oom_kill ?? 0, failcnt, underOom: control.under_oom === 1 };
    } catch {
      return { oomKills: 0, failcnt: 0 };
    }
  }

  /** True when the kernel's OOM killer has ended a process of the group since it was made. */
  oomKilled() {
    const now = this.memoryEvents();
    return now.oomKills > this.baseline.oomKills;
  }

  /** The group's peak memory use in bytes (memory.max_usage_in_bytes), or undefined. */
  maxMemoryBytes() {
    if (!this.dirs.memory) return undefined;
    try {
      return Number(readFileSync(join(this.dirs.memory, 'memory.max_usage_in_bytes'), 'utf8').trim());
    } catch {
      return undefined;
    }
  }

  /**
   * Removes the groups once their processes are gone (rmdir fails while a process, even a zombie
   * being reaped, is still in the group). Resolves with the directories that could not be removed.
   */
  async remove({ timeoutMs = 2000 } = {}) {
    const until = Date.now() + timeoutMs;
    for (;;) {
      for (const controller of Object.keys(this.dirs)) this.#removeSync(controller);
      const left = Object.values(this.dirs);
      if (left.length === 0 || Date.now() > until) return left;
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  #removeSync(controller) {
    const dir = this.dirs[controller];
    if (!dir) return;
    try {
      rmdirSync(dir);
      delete this.dirs[controller];
    } catch (err) {
      if (err.code === 'ENOENT') delete this.dirs[controller];
    }
  }

  #removeAllSync() {
    for (const controller of Object.keys(this.dirs)) this.#removeSync(controller);
  }

  /** Removes empty groups at once (a probe that never held a process). */
  removeNow() {
    this.#removeAllSync();
  }
}

/**
 * argv that runs `argv` after the process has joined the groups whose cgroup.procs files are
 * given: a shell writes its own PID to each, then execs `argv` (same PID), so the process is in
 * the groups from its first instruction and every process it starts inherits them.
 * @param {string[]} procsFiles
 * @param {string[]} argv
 */
export function joinCommand(procsFiles, argv) {
  if (procsFiles.length === 0) return argv;
  const script = 'n=$1; shift; while [ "$n" -gt 0 ]; do echo $$ > "$1" || exit 126; shift; n=$((n-1)); done; exec "$@"';
  return ['/bin/sh', '-c', script, 'cgroup-join', String(procsFiles.length), ...procsFiles, ...argv];
}

function parseFlatKeyed(text) {
  const out = {};
  for (const line of text.split('\n')) {
    const [key, value] = line.trim().split(/\s+/);
    if (key) out[key] = Number(value);
  }
  return out;
}
