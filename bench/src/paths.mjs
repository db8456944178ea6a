// Where the benchmark finds and puts things.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CONTRACT } from '../../tools/lambda-emulator/index.mjs';

export const BENCH_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');
export const REPO_DIR = join(BENCH_DIR, '..');
/** Build outputs of run.sh and sizes-test.sh (gitignored). */
export const BUILD_DIR = join(BENCH_DIR, '.build');
/** Scratch space of a run: bundled handlers, layers, emulator sockets (gitignored, kept short for socket paths). */
export const WORK_DIR = join(BENCH_DIR, '.work');

/** A path of the contract under /opt, relative to the layer directory that provides it. */
const inLayer = (optPath) => optPath.replace(/^\/opt\//, '');
/** collector-go/build.sh output per architecture: extensions/ and collector-config/. */
export const collectorLayerDir = (arch) => join(BUILD_DIR, `collector-${arch}`);
export const collectorBinary = (arch) => join(collectorLayerDir(arch), inLayer(CONTRACT.collector.layerExtensionPath));
/** layer-src/build.mjs output: the preload's init.mjs and what it loads. */
export const PRELOAD_LAYER_DIR = join(BUILD_DIR, 'preload-layer');
export const PRELOAD_INIT = join(PRELOAD_LAYER_DIR, inLayer(CONTRACT.preload.importPath));
/** The preload's init.mjs in another build of the layer (BENCH_COMPARE_PRELOAD_LAYER). */
export const preloadInitIn = (layerDir) => join(layerDir, inLayer(CONTRACT.preload.importPath));

/** The packages the official Node.js layer starts with, installed unbundled in bench/node_modules. */
export const PEER_PACKAGES = ['@opentelemetry/auto-instrumentations-node', '@opentelemetry/sdk-node', '@opentelemetry/api'];

export const HOW_TO_BUILD = 'run bench/run.sh or bench/sizes-test.sh, which build the collector (collector-go/build.sh) and the preload layer (layer-src/build.mjs) into bench/.build/';

/** Benchmark peers built from upstream source (their README and SOURCE files), beside the repository. */
export const THIRD_PARTY_DIR = process.env.BENCH_THIRD_PARTY_DIR ?? join(REPO_DIR, '..', 'shared', 'third_party');
