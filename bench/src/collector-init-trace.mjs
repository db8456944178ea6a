// Where the collector's start-up goes before main(): the Go runtime's own trace of package
// initialisation (GODEBUG=inittrace=1, https://pkg.go.dev/runtime#hdr-Environment_Variables),
// from `otel-xray-collector --version`, which returns as soon as main() starts.
import { spawnSync } from 'node:child_process';
import { median, round } from './stats.mjs';

/** Parses inittrace lines: "init <package> @<since start> ms, <clock> ms clock, <bytes> bytes, <allocs> allocs". */
export function parseInitTrace(stderr) {
  const inits = [];
  for (const line of stderr.split('\n')) {
    const match = /^init (\S+) @([\d.]+) ms, ([\d.]+) ms clock, (\d+) bytes, (\d+) allocs/.exec(line);
    if (match) inits.push({ pkg: decodeURIComponent(match[1]), atMs: Number(match[2]), clockMs: Number(match[3]), bytes: Number(match[4]) });
  }
  return inits;
}

/** Median over `runs` of when the last package init ended, and the packages that took longest. */
export function collectorInitTrace(binary, runs = 9) {
  const mainAt = [];
  const clock = [];
  let slowest = [];
  for (let i = 0; i < runs; i++) {
    const out = spawnSync(binary, ['--version'], { env: { ...process.env, GODEBUG: 'inittrace=1' }, encoding: 'utf8' });
    if (out.status !== 0) throw new Error(`${binary} --version exited with ${out.status}: ${out.stderr}`);
    const inits = parseInitTrace(out.stderr);
    if (inits.length === 0) throw new Error(`${binary} printed no inittrace lines: is it a Go binary?`);
    mainAt.push(Math.max(...inits.map((x) => x.atMs + x.clockMs)));
    clock.push(inits.reduce((total, x) => total + x.clockMs, 0));
    slowest = inits.sort((a, b) => b.clockMs - a.clockMs).slice(0, 5).map(({ pkg, clockMs }) => ({ pkg, clockMs }));
  }
  return {
    figures: { collector_go_init_done_ms: round(median(mainAt)), collector_go_init_clock_ms: round(median(clock)) },
    slowest,
  };
}
