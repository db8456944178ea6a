import { diag, DiagConsoleLogger, DiagLogLevel } from '@opentelemetry/api';
import { PreloadConfigError } from './config-error.mjs';

/** Values of OTEL_LOG_LEVEL, as the OpenTelemetry SDK environment specification names them. */
const LOG_LEVELS = {
  none: DiagLogLevel.NONE,
  error: DiagLogLevel.ERROR,
  warn: DiagLogLevel.WARN,
  info: DiagLogLevel.INFO,
  debug: DiagLogLevel.DEBUG,
  verbose: DiagLogLevel.VERBOSE,
  all: DiagLogLevel.ALL,
};

/**
 * Turns on OpenTelemetry's diagnostic logger at the level OTEL_LOG_LEVEL asks for.
 * Unset or empty, nothing is logged: the preload stays silent in the function's logs.
 * @param {NodeJS.ProcessEnv} env
 */
export function configureDiagnostics(env) {
  const raw = env.OTEL_LOG_LEVEL?.trim();
  if (!raw) return;
  const level = LOG_LEVELS[raw.toLowerCase()];
  if (level === undefined) {
    throw new PreloadConfigError(
      'OTEL_LOG_LEVEL',
      raw,
      'unknown log level',
      `Set it to one of ${Object.keys(LOG_LEVELS).join(', ')}, or leave it unset for no diagnostics.`,
    );
  }
  diag.setLogger(new DiagConsoleLogger(), { logLevel: level, suppressOverrideMessage: true });
}
