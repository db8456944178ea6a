// Pins a child process to one CPU, as the start-up budget is set "on one core" (a Lambda function
// with less than 1,769 MB has less than one vCPU:
// https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html).
import { availableParallelism } from 'node:os';
import { spawnSync } from 'node:child_process';

let tasksetChecked;

/** The argv prefix that runs a command on the last CPU, or [] when taskset is missing. */
export function onOneCore() {
  tasksetChecked ??= spawnSync('taskset', ['--version'], { stdio: 'ignore' }).status === 0;
  if (!tasksetChecked) return [];
  return ['taskset', '-c', String(availableParallelism() - 1)];
}
