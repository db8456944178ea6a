// /var/runtime/index.mjs for the Node.js 22 runtime, built on aws-lambda-ric 3.x: starts the
// runtime loop for _HANDLER under LAMBDA_TASK_ROOT, as Lambda's nodejs22.x bootstrap does.
// (aws-lambda-ric 4.x, used for Node.js 24, starts itself from the same variables.)
import { run } from './dist/index.mjs';

await run(process.env.LAMBDA_TASK_ROOT, process.env._HANDLER);
