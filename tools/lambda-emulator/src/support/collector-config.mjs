// Points the collector's awsxray exporter at the local X-Ray stand-in without touching the layer
// (an awsxray_daemon exporter needs nothing: it sends to the daemon stand-in's address):
// the function's collector configuration (the contract's collector.env.configUri, a confmap URI with
// the file:, yaml: or env: scheme) is read, its awsxray exporters get `endpoint`, and the result is
// handed back through an env: URI.
// awsxray exporter settings: https://github.com/open-telemetry/opentelemetry-collector-contrib/tree/main/exporter/awsxrayexporter
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { CONTRACT } from './contract.mjs';

export const CONFIG_URI_ENV = CONTRACT.collector.env.configUri;
export const DEFAULT_CONFIG_URI = `file:${CONTRACT.collector.layerConfigPath}`;
/** The variable that carries the rewritten configuration. */
export const LOCAL_CONFIG_ENV = 'LAMBDA_EMULATOR_COLLECTOR_CONFIG';

/**
 * @param {Record<string,string>} functionEnv   the function's configured environment
 * @param {string} optDir                      host directory standing for /opt
 * @param {string} xrayEndpoint                X-Ray endpoint as seen from inside the environment
 * @returns {Record<string,string>} environment overrides
 */
export function collectorConfigOverrides(functionEnv, optDir, xrayEndpoint) {
  const uri = functionEnv[CONFIG_URI_ENV] ?? DEFAULT_CONFIG_URI;
  const config = loadConfig(uri, functionEnv, optDir);
  const exporters = Object.keys(config.exporters ?? {}).filter((id) => id === 'awsxray' || id.startsWith('awsxray/'));
  const toDaemon = Object.keys(config.exporters ?? {}).some((id) => id === 'awsxray_daemon' || id.startsWith('awsxray_daemon/'));
  // The awsxray_daemon exporter sends to AWS_XRAY_DAEMON_ADDRESS: the daemon stand-in
  // (`xrayDaemon`) forwards to the local X-Ray, nothing to rewrite.
  if (exporters.length === 0 && toDaemon) return {};
  if (exporters.length === 0) {
    throw new Error(`${CONFIG_URI_ENV}=${uri}: the configuration has no awsxray exporter to point at ${xrayEndpoint}; add one under exporters`);
  }
  for (const id of exporters) {
    config.exporters[id] = { ...(config.exporters[id] ?? {}), endpoint: xrayEndpoint };
  }
  return { [CONFIG_URI_ENV]: `env:${LOCAL_CONFIG_ENV}`, [LOCAL_CONFIG_ENV]: stringify(config) };
}

function loadConfig(uri, functionEnv, optDir) {
  const colon = uri.indexOf(':');
  const scheme = uri.slice(0, colon);
  const rest = uri.slice(colon + 1);
  if (scheme === 'file') {
    if (!rest.startsWith('/opt/')) throw new Error(`${CONFIG_URI_ENV}=${uri}: only files under /opt (from layers) can be read locally`);
    return parse(readFileSync(join(optDir, rest.slice('/opt/'.length)), 'utf8')) ?? {};
  }
  if (scheme === 'yaml') return parse(rest) ?? {};
  if (scheme === 'env') {
    if (functionEnv[rest] === undefined) throw new Error(`${CONFIG_URI_ENV}=${uri}: variable ${rest} is not in the function's environment`);
    return parse(functionEnv[rest]) ?? {};
  }
  throw new Error(`${CONFIG_URI_ENV}=${uri}: scheme ${JSON.stringify(scheme)} is not supported: use file:, yaml: or env:`);
}
