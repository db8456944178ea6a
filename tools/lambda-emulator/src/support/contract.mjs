// The contract between the construct, the preload and the collector (contract/contract.json at the
// repository root), read as it is: the extension's name, the receiver's address, the paths in the
// layers and the environment variable names.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_DIR } from './paths.mjs';

/** @type {{collector: Record<string, any>, preload: Record<string, any>}} */
export const CONTRACT = JSON.parse(readFileSync(join(REPO_DIR, 'contract', 'contract.json'), 'utf8'));

const [host, port] = CONTRACT.collector.otlpHttpListen.split(':');
/** The collector's OTLP/HTTP receiver inside an environment. */
export const COLLECTOR_RECEIVER = { host, port: Number(port) };
