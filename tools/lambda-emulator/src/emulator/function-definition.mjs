// What the emulator needs to know about a function, and the environment Lambda gives it.
// Reserved environment variables: https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime

/**
 * @typedef {object} FunctionDefinition
 * @property {string} name
 * @property {string} handler          e.g. `index.handler`
 * @property {string} runtime          `nodejs22.x`, `nodejs24.x` or `python3.13`
 * @property {number} memorySize       MB
 * @property {number} timeoutSeconds
 * @property {Record<string,string>} environment   the function's configured variables
 * @property {string} codeDir          host directory that becomes /var/task
 * @property {string[]} layerDirs      host directories merged into /opt, in order
 * @property {boolean} activeTracing   TracingConfig.Mode Active
 * @property {'JSON'|'Text'} [logFormat]     LoggingConfig.LogFormat: JSON sets AWS_LAMBDA_LOG_FORMAT=JSON
 * @property {string} [applicationLogLevel]  LoggingConfig.ApplicationLogLevel: AWS_LAMBDA_LOG_LEVEL
 * @property {string} [logGroup]             LoggingConfig.LogGroup: AWS_LAMBDA_LOG_GROUP_NAME
 * @property {boolean} [telemetryLogFd]      the runtime gets _LAMBDA_TELEMETRY_LOG_FD and writes its log
 *   lines as frames there, as Lambda's managed runtimes do; otherwise to stdout
 * @property {boolean|'if-available'} [cpuShare]   Lambda's CPU share for memorySize (cgroup v1 cpu quota);
 *   over the service's default (cgroup.mjs)
 * @property {boolean|'if-available'} [memoryLimit] memory limited to memorySize (cgroup v1 memory)
 * @property {number} [cpuPeriodMicros]   CFS period of the CPU share (default 100,000)
 * @property {'burst'|'share'} [initCpu]  Init without the quota (default) or with the share
 * @property {string} region
 * @property {string} accountId
 * @property {string} arn
 */

export const SUPPORTED_RUNTIMES = ['nodejs22.x', 'nodejs24.x', 'python3.13'];

/** Whether a runtime identifier is a Python one, e.g. python3.13. */
export const isPythonRuntime = (runtime) => /^python\d+\.\d+$/.test(runtime);

/**
 * Fills defaults and checks a function definition, throwing an error that names the field.
 * @param {Partial<FunctionDefinition> & {name: string}} input
 * @returns {FunctionDefinition}
 */
export function defineFunction(input) {
  const fn = {
    handler: 'index.handler',
    runtime: 'nodejs22.x',
    memorySize: 128,
    timeoutSeconds: 3,
    environment: {},
    layerDirs: [],
    activeTracing: true,
    region: 'us-east-1',
    accountId: '123456789012',
    ...input,
  };
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(fn.name ?? '')) {
    throw new Error(`function name ${JSON.stringify(fn.name)} is not valid: use 1-64 letters, digits, hyphens or underscores`);
  }
  if (!SUPPORTED_RUNTIMES.includes(fn.runtime)) {
    throw new Error(`function ${fn.name}: runtime ${JSON.stringify(fn.runtime)} is not emulated: use one of ${SUPPORTED_RUNTIMES.join(', ')}`);
  }
  if (!/^[^.]+(\.[^.]+)+$/.test(fn.handler)) {
    throw new Error(`function ${fn.name}: handler ${JSON.stringify(fn.handler)} is not valid: use <file>.<export>, e.g. index.handler`);
  }
  if (!fn.codeDir) throw new Error(`function ${fn.name}: codeDir is missing: give the directory holding the bundled handler`);
  if (!(fn.timeoutSeconds >= 1 && fn.timeoutSeconds <= 900)) {
    throw new Error(`function ${fn.name}: timeoutSeconds ${fn.timeoutSeconds} is out of range: use 1 to 900`);
  }
  fn.arn ??= `arn:aws:lambda:${fn.region}:${fn.accountId}:function:${fn.name}`;
  return fn;
}

/** The Node.js major of a runtime identifier, e.g. 22 for nodejs22.x. */
export function nodeMajor(runtime) {
  return Number(/^nodejs(\d+)\.x$/.exec(runtime)[1]);
}

/**
 * The environment Lambda gives the runtime and extensions: reserved variables, then the
 * function's own (which may not override reserved ones), then emulator overrides.
 * @param {FunctionDefinition} fn
 * @param {{runtimeApi: string, credentials: {accessKeyId: string, secretAccessKey: string, sessionToken: string}, overrides?: Record<string,string>}} options
 */
export function lambdaEnvironment(fn, { runtimeApi, credentials, overrides = {} }) {
  const reserved = {
    _HANDLER: fn.handler,
    AWS_REGION: fn.region,
    AWS_DEFAULT_REGION: fn.region,
    AWS_EXECUTION_ENV: `AWS_Lambda_${fn.runtime}`,
    AWS_LAMBDA_FUNCTION_NAME: fn.name,
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memorySize),
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
    AWS_LAMBDA_LOG_GROUP_NAME: fn.logGroup ?? `/aws/lambda/${fn.name}`,
    AWS_LAMBDA_LOG_STREAM_NAME: `${new Date().toISOString().slice(0, 10).replaceAll('-', '/')}/[$LATEST]${Math.random().toString(16).slice(2, 18).padEnd(16, '0')}${Math.random().toString(16).slice(2, 18).padEnd(16, '0')}`,
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    AWS_SESSION_TOKEN: credentials.sessionToken,
    AWS_LAMBDA_RUNTIME_API: runtimeApi,
    LAMBDA_TASK_ROOT: '/var/task',
    LAMBDA_RUNTIME_DIR: '/var/runtime',
  };
  const defaults = {
    LANG: 'en_US.UTF-8',
    TZ: ':UTC',
    PATH: '/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin',
    LD_LIBRARY_PATH: '/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib',
  };
  if (isPythonRuntime(fn.runtime)) {
    // As Lambda's Python runtimes: the runtime interface client, then layers' packages.
    const version = fn.runtime.replace(/^python/, '');
    defaults.PYTHONPATH = `/var/runtime:/opt/python/lib/python${version}/site-packages:/opt/python`;
  } else {
    const major = nodeMajor(fn.runtime);
    defaults.NODE_PATH = `/opt/nodejs/node${major}/node_modules:/opt/nodejs/node_modules:/var/runtime/node_modules:/var/runtime:/var/task`;
  }
  if (fn.activeTracing) {
    defaults.AWS_XRAY_CONTEXT_MISSING = 'LOG_ERROR';
    defaults.AWS_XRAY_DAEMON_ADDRESS = '169.254.79.129:2000';
  }
  // Advanced logging controls (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-advanced.html).
  if (fn.logFormat === 'JSON') reserved.AWS_LAMBDA_LOG_FORMAT = 'JSON';
  if (fn.applicationLogLevel) reserved.AWS_LAMBDA_LOG_LEVEL = fn.applicationLogLevel;
  const own = { ...fn.environment };
  for (const key of Object.keys(reserved)) {
    if (key in own) throw new Error(`function ${fn.name}: environment variable ${key} is reserved by Lambda: remove it from the function's environment`);
  }
  return { ...defaults, ...own, ...reserved, ...overrides };
}
