// The Lambda emulator's one entry point. Start with startLocalApp(); the rest is for callers that
// drive an environment or an API piece by piece (the benchmark) or test the emulator itself.
// Set-up first, as root: tools/lambda-emulator/setup.sh. The files behind each export: README.md.

// A whole synthesized app, locally.
export { startLocalApp, invokeUrlInside } from './src/local-app.mjs';

// The Lambda service, execution environments and the APIs they serve.
export { LambdaService, INVOKE_PORT_INSIDE, eventStreamMessage, parseEventStream, postInvoke, postInvokeWithResponseStream, runtimeNodeOptions, validateHostPorts } from './src/emulator/lambda-service.mjs';
export { cpuQuotaMicros, DEFAULT_CPU_PERIOD_MICROS, EnvironmentCgroup, joinCommand, resourceLimits, VCPU_MEMORY_MB } from './src/emulator/cgroup.mjs';
export { DAEMON_BATCH_SIZE, DAEMON_FLUSH_INTERVAL_MS, DAEMON_MAX_DATAGRAM_BYTES, daemonSettings, parseDaemonAddress, XRayDaemonStandIn } from './src/emulator/xray-daemon.mjs';
export { decodeExportTraceServiceRequest, spanToSegmentDocument } from './src/emulator/otlp-to-xray.mjs';
export { crashError, ExecutionEnvironment, RUNTIME_API_ADDRESS } from './src/emulator/execution-environment.mjs';
export { RuntimeApi } from './src/emulator/runtime-api.mjs';
export { ExtensionsApi } from './src/emulator/extensions-api.mjs';
export { TelemetryApi, validate as validateTelemetrySubscription } from './src/emulator/telemetry-api.mjs';
export { Sandbox } from './src/emulator/sandbox.mjs';
export { defineFunction, lambdaEnvironment, nodeMajor } from './src/emulator/function-definition.mjs';
export { formatTraceHeader, newTraceId, parseTraceHeader, traceparentToTraceHeader } from './src/emulator/xray-trace-header.mjs';
export { withTimeout } from './src/emulator/http-util.mjs';

// CDK apps: synthesis and the cloud assembly.
export { synthesize, missingPrerequisites } from './src/support/synth.mjs';
export { readCloudAssembly } from './src/support/cloud-assembly.mjs';
export { collectorConfigOverrides, CONFIG_URI_ENV, LOCAL_CONFIG_ENV } from './src/support/collector-config.mjs';
export { CONTRACT, COLLECTOR_RECEIVER } from './src/support/contract.mjs';

// X-Ray: moto, the stand-in in front of it, reading traces back and showing them.
export { startMoto, freePort } from './src/support/moto-server.mjs';
export { startXRayStandIn, XRayStandIn, DOWNSTREAM_PATH } from './src/support/xray-stand-in.mjs';
export { XRayTraceReader } from './src/support/xray-trace-reader.mjs';
export { buildTree, flattenTrace, isLambdaFunctionSegment } from './src/render/trace-model.mjs';
export { renderTraceTree } from './src/render/trace-tree-text.mjs';
export { renderWaterfallSvg } from './src/render/trace-waterfall-svg.mjs';

// What setup.sh installed.
export { CACHE_DIR, nodeDirFor, pythonRuntimes, runtimeDirFor, runtimes, RUNTIME_HOOK, TOOL_DIR } from './src/support/paths.mjs';
