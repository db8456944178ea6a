/**
 * `NODE_OPTIONS` handling: the preload's `--import` is added to what is already there, once,
 * and a second OpenTelemetry preload is refused because two SDKs would patch the same modules.
 */

/** Flags whose value names a module that Node.js loads before the handler. */
const PRELOAD_FLAGS = new Set(['--import', '--require', '-r', '--loader', '--experimental-loader']);

/** Module names that start another OpenTelemetry SDK or tracer. */
const CONFLICTING_PRELOAD = /opentelemetry|otel|aws-xray-sdk|dd-trace|newrelic|elastic-apm|lumigo|@sentry\/aws-serverless|@instana/i;

/** Splits `NODE_OPTIONS` into its words, honouring double and single quotes. */
export function splitNodeOptions(value: string): string[] {
  const words: string[] = [];
  const pattern = /"((?:[^"\\]|\\.)*)"|'([^']*)'|(\S+)/g;
  let match: RegExpExecArray | null;
  while ((match = pattern.exec(value)) !== null) {
    words.push(match[1] ?? match[2] ?? match[3]);
  }
  return words;
}

/** The modules a `NODE_OPTIONS` value preloads, with the flag that loads each. */
export function preloadedModules(value: string): { flag: string; module: string }[] {
  const words = splitNodeOptions(value);
  const found: { flag: string; module: string }[] = [];
  for (let i = 0; i < words.length; i++) {
    const word = words[i];
    const eq = word.indexOf('=');
    if (eq > 0 && PRELOAD_FLAGS.has(word.slice(0, eq))) {
      found.push({ flag: word.slice(0, eq), module: word.slice(eq + 1) });
    } else if (PRELOAD_FLAGS.has(word) && i + 1 < words.length) {
      found.push({ flag: word, module: words[++i] });
    }
  }
  return found;
}

/**
 * Adds `preloadOption` (e.g. `OtelPreloadLayer.NODE_OPTION`, the preload's `--import`) to
 * `existing`, keeping every other flag in its place and never adding it twice.
 *
 * @param existing the `NODE_OPTIONS` set so far, if any
 * @param preloadOption the flag and module of our preload
 * @param where names the setting in error messages
 */
export function mergeNodeOptions(existing: string | undefined, preloadOption: string, where: string): string {
  const [, ourModule] = splitNodeOptions(preloadOption);
  const current = (existing ?? '').trim();
  const preloads = preloadedModules(current);
  if (preloads.some(p => p.module === ourModule)) {
    return current;
  }
  const conflict = preloads.find(p => CONFLICTING_PRELOAD.test(p.module));
  if (conflict) {
    throw new Error(
      `${where}: '${conflict.flag} ${conflict.module}' loads another tracer, which would patch the same modules as ` +
      `this library's preload (${preloadOption}) and duplicate or break spans. Remove it from NODE_OPTIONS; ` +
      'instrumentations are chosen with the `instrumentations` prop.',
    );
  }
  return current.length > 0 ? `${current} ${preloadOption}` : preloadOption;
}
