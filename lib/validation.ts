import * as fs from 'fs';
import * as path from 'path';
import { Duration, Tokenization } from 'aws-cdk-lib';
import { ILayerVersion, Runtime, RuntimeFamily } from 'aws-cdk-lib/aws-lambda';
import { COLLECTOR_DEFAULT_FLUSH_TIMEOUT_MS } from './contract.generated';
import { Instrumentation } from './instrumentation';

/**
 * Synth-time checks shared by the constructs. Each error names the prop, the value received
 * and the fix; `where` names the construct.
 */

/** Lambda allows at most five layers on a function. */
export const MAX_LAYERS = 5;

/**
 * Lambda refuses a function whose environment is larger than 4 KB, counted as the JSON of its
 * variables map (`{"KEY":"value",...}`, UTF-8).
 */
export const MAX_ENVIRONMENT_BYTES = 4096;

/** The size of an environment as Lambda counts it, and the values not known at synth time. */
export interface EnvironmentSize {
  /** Bytes of the JSON of the variables, values known only at deploy time counted by their literal text. */
  readonly bytes: number;
  /** Names of the variables whose value is known only at deploy time (a CloudFormation reference). */
  readonly unresolved: string[];
}

/**
 * Measures resolved environment variables (`Stack.resolve` of the function's environment) as
 * Lambda does. A value known only at deploy time (`{ Ref }`, `{ 'Fn::GetAtt' }`, ...) counts as
 * its literal text: the strings of an `Fn::Join`, nothing for a reference. So the size is a lower
 * bound: a function it refuses is refused by Lambda too.
 */
export function environmentSize(variables: { [key: string]: unknown }): EnvironmentSize {
  const known: { [key: string]: string } = {};
  const unresolved: string[] = [];
  for (const [key, value] of Object.entries(variables)) {
    if (typeof value === 'string') {
      known[key] = value;
    } else {
      known[key] = literalText(value);
      if (typeof value !== 'number' && typeof value !== 'boolean') unresolved.push(key);
    }
  }
  return { bytes: Buffer.byteLength(JSON.stringify(known), 'utf8'), unresolved };
}

/** The text of a resolved value that is known at synth time: all of a literal, the literal parts of an `Fn::Join`. */
function literalText(value: unknown): string {
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
    return String(value);
  }
  const join = (value as { [key: string]: unknown } | undefined)?.['Fn::Join'];
  if (Array.isArray(join) && typeof join[0] === 'string' && Array.isArray(join[1])) {
    return join[1].map(literalText).join(join[0]);
  }
  return '';
}

/**
 * The runtimes the preload is built and tested for: the one list, which the preload layer's
 * compatible runtimes and every runtime check follow.
 */
export const PRELOAD_RUNTIMES: Runtime[] = [Runtime.NODEJS_22_X, Runtime.NODEJS_24_X];

/** The Node.js major of a runtime name such as `nodejs24.x`. */
function nodeMajor(runtime: Runtime): number | undefined {
  const major = /^nodejs(\d+)\.x$/.exec(runtime.name)?.[1];
  return major === undefined ? undefined : Number(major);
}

/** The oldest Node.js major the preload supports. */
export const MIN_NODE_MAJOR = Math.min(...PRELOAD_RUNTIMES.map(runtime => nodeMajor(runtime)!));

/** `Runtime.NODEJS_22_X or Runtime.NODEJS_24_X`: the supported runtimes as a user writes them. */
function supportedMembers(): string {
  const members = PRELOAD_RUNTIMES.map(runtime => `Runtime.NODEJS_${nodeMajor(runtime)}_X`);
  return `${members.slice(0, -1).join(', ')} or ${members[members.length - 1]}`;
}

/**
 * Why the preload cannot serve a runtime of the Node.js family, as a clause with the fix, or
 * `undefined` when it can.
 */
export function preloadRuntimeProblem(runtime: Runtime): string | undefined {
  if (PRELOAD_RUNTIMES.some(supported => supported.name === runtime.name)) {
    return undefined;
  }
  const major = nodeMajor(runtime);
  if (major !== undefined && major < MIN_NODE_MAJOR) {
    return `runtime ${runtime.name} is older than Node.js ${MIN_NODE_MAJOR}, which the preload needs; use ${supportedMembers()}`;
  }
  const supported = PRELOAD_RUNTIMES.map(r => r.name).join(', ');
  const newest = PRELOAD_RUNTIMES[PRELOAD_RUNTIMES.length - 1];
  return `runtime ${runtime.name} is not one the preload of this version of cdk-lambda-otel-xray supports (${supported}); ` +
    `use Runtime.NODEJS_${nodeMajor(newest)}_X, or a version of cdk-lambda-otel-xray that supports ${runtime.name}`;
}

export function validateRuntime(runtime: Runtime, where: string): void {
  if (runtime.family !== RuntimeFamily.NODEJS) {
    throw new Error(
      `${where}: runtime ${runtime.name} is not a Node.js runtime; use ${supportedMembers()}. ` +
      'To trace a function of another runtime, use OtelTracing.addToFunction or the OtelTracing Aspect.',
    );
  }
  const problem = preloadRuntimeProblem(runtime);
  if (problem !== undefined) {
    throw new Error(`${where}: ${problem}.`);
  }
}

/**
 * Lambda's limit of five layers, the one check every path makes: why a function holding
 * `present` layers (`holding` says where they are) cannot take `adding` more (`what` names
 * them), or `undefined` when it can.
 */
export function layerLimitProblem(present: number, adding: number, what: string, holding: string = 'it has'): string | undefined {
  const total = present + adding;
  if (total <= MAX_LAYERS) {
    return undefined;
  }
  return `${holding} ${present} layer(s); with ${what} that makes ${total}, and Lambda allows ${MAX_LAYERS}. ` +
    'Merge layers, or move their content into the function\'s code';
}

export function validateLayerCount(layers: ILayerVersion[] | undefined, where: string): void {
  const problem = layerLimitProblem(layers?.length ?? 0, 2, 'the collector and preload layers', 'layers holds');
  if (problem !== undefined) {
    throw new Error(`${where}: ${problem}.`);
  }
}

/** Why `AWS_LAMBDA_EXEC_WRAPPER` rules tracing out (another OpenTelemetry set-up), or `undefined`. */
export function execWrapperProblem(wrapper: unknown): string | undefined {
  if (typeof wrapper !== 'string' || !/otel|opentelemetry/i.test(wrapper)) {
    return undefined;
  }
  return `environment.AWS_LAMBDA_EXEC_WRAPPER is '${wrapper}', another OpenTelemetry set-up that would trace the function twice; ` +
    'remove it (this library loads its own preload through NODE_OPTIONS)';
}

export function validateExecWrapper(environment: { [key: string]: string } | undefined, where: string): void {
  const problem = execWrapperProblem(environment?.AWS_LAMBDA_EXEC_WRAPPER);
  if (problem !== undefined) {
    throw new Error(`${where}: ${problem}.`);
  }
}

export function validateInstrumentations(instrumentations: Instrumentation[], where: string): Instrumentation[] {
  const known = Object.values(Instrumentation) as string[];
  instrumentations.forEach((name, i) => {
    if (!known.includes(name)) {
      throw new Error(
        `${where}: instrumentations[${i}] is '${name}', which the preload does not know; ` +
        `use one of ${known.map(k => `'${k}'`).join(', ')} (the Instrumentation enum), or remove it.`,
      );
    }
  });
  return [...new Set(instrumentations)];
}

/**
 * Whether an npm package can be taken from the function's project, searched as Node.js and
 * NodejsFunction do from each of `directories` up to the root: installed
 * (`node_modules/<name>/package.json`), or listed in the dependencies, devDependencies or
 * peerDependencies of a `package.json`.
 */
export function packageAvailable(name: string, directories: string[]): boolean {
  for (const start of directories) {
    for (let dir = path.resolve(start); ; dir = path.dirname(dir)) {
      if (fs.existsSync(path.join(dir, 'node_modules', name, 'package.json')) || listedIn(path.join(dir, 'package.json'), name)) {
        return true;
      }
      if (dir === path.dirname(dir)) break;
    }
  }
  return false;
}

function listedIn(packageJsonPath: string, name: string): boolean {
  if (!fs.existsSync(packageJsonPath)) return false;
  try {
    const manifest = JSON.parse(fs.readFileSync(packageJsonPath, 'utf-8'));
    return ['dependencies', 'devDependencies', 'peerDependencies'].some(field => typeof manifest[field]?.[name] === 'string');
  } catch {
    // Not JSON: NodejsFunction reports it when it reads it.
    return false;
  }
}

/** Lambda's default function timeout. */
const DEFAULT_FUNCTION_TIMEOUT = Duration.seconds(3);

/**
 * The flush timeout as the collector reads it (`2000ms`), always shorter than the function's
 * timeout, since the export after each response counts toward it: one given must be positive
 * and shorter; none given is the collector's default (no setting), or, for a function whose
 * timeout is not longer than that default, half its timeout. A Token-valued duration (or
 * function timeout) cannot be checked at synth and is passed through.
 */
export function flushTimeoutSetting(
  flushTimeout: Duration | undefined, timeout: Duration | undefined, where: string,
  notShorter: (message: string) => Error = message => new Error(message),
): string | undefined {
  const functionTimeout = timeout ?? DEFAULT_FUNCTION_TIMEOUT;
  if (flushTimeout === undefined) {
    if (functionTimeout.isUnresolved() || functionTimeout.toMilliseconds() > COLLECTOR_DEFAULT_FLUSH_TIMEOUT_MS) {
      return undefined;
    }
    return `${Math.floor(functionTimeout.toMilliseconds() / 2)}ms`;
  }
  if (flushTimeout.isUnresolved()) {
    return unresolvedDurationSetting(flushTimeout, where);
  }
  const ms = flushTimeout.toMilliseconds();
  if (ms <= 0) {
    throw new Error(
      `${where}: collectorFlushTimeout is ${flushTimeout.toHumanString()}; ` +
      `give a positive duration such as Duration.seconds(${COLLECTOR_DEFAULT_FLUSH_TIMEOUT_MS / 1000}), the collector's default.`,
    );
  }
  if (!functionTimeout.isUnresolved() && ms >= functionTimeout.toMilliseconds()) {
    throw notShorter(
      `${where}: collectorFlushTimeout (${flushTimeout.toHumanString()}) is not shorter than the function's timeout ` +
      `(${functionTimeout.toHumanString()}), and the export after each response counts toward it; ` +
      'lower collectorFlushTimeout or raise timeout.',
    );
  }
  return `${ms}ms`;
}

/** A Token-valued duration in its own unit (a token cannot be converted to another one). */
function unresolvedDurationSetting(duration: Duration, where: string): string {
  const units: Array<[() => number, string]> = [
    [() => duration.toMilliseconds(), 'ms'],
    [() => duration.toSeconds(), 's'],
    [() => duration.toMinutes(), 'm'],
  ];
  for (const [amount, suffix] of units) {
    try {
      return `${Tokenization.stringifyNumber(amount())}${suffix}`;
    } catch {
      // another unit
    }
  }
  throw new Error(
    `${where}: collectorFlushTimeout is a Token in a unit the collector cannot read; ` +
    'give it as Duration.millis(), Duration.seconds() or Duration.minutes().',
  );
}
