// The size figures, from the artifacts built into bench/.build/ and the peer's packages in
// bench/node_modules. Deterministic: the same sources give the same unzipped bytes.
import { join } from 'node:path';
import { BENCH_DIR, HOW_TO_BUILD, PEER_PACKAGES, PRELOAD_LAYER_DIR, collectorBinary, collectorLayerDir } from './paths.mjs';
import { dependencyClosure, directorySize, fileSize, listFiles, packageFiles } from './sizes.mjs';
import { directoryZipSize, zipSize } from './zip-size.mjs';
import { statSync } from 'node:fs';

/**
 * @param {{zip?: boolean}} [options]  zip sizes take a few seconds; the size test skips them
 */
export async function measureSizes({ zip = true } = {}) {
  const figures = {
    collector_binary_bytes: fileSize(collectorBinary('amd64'), HOW_TO_BUILD),
    collector_binary_bytes_arm64: fileSize(collectorBinary('arm64'), HOW_TO_BUILD),
    preload_layer_bytes: directorySize(PRELOAD_LAYER_DIR, HOW_TO_BUILD),
  };
  const peer = dependencyClosure(PEER_PACKAGES, BENCH_DIR);
  // In the official layer these packages sit under nodejs/node_modules.
  const peerFiles = packageFiles(peer, BENCH_DIR, 'nodejs');
  figures.peer_preload_layer_bytes = peerFiles.reduce((total, f) => total + f.size, 0);
  figures.peer_preload_packages = peer.length;
  if (zip) {
    figures.collector_layer_zip_bytes = await directoryZipSize(collectorLayerDir('amd64'));
    figures.collector_layer_zip_bytes_arm64 = await directoryZipSize(collectorLayerDir('arm64'));
    figures.preload_layer_zip_bytes = await directoryZipSize(PRELOAD_LAYER_DIR);
    figures.peer_preload_layer_zip_bytes = await zipSize(peerFiles);
  }
  return figures;
}

/** The largest files of the preload layer, for the size breakdown in the report. */
export function preloadBreakdown(top = 8) {
  return listFiles(PRELOAD_LAYER_DIR)
    .map((name) => ({ name, bytes: statSync(join(PRELOAD_LAYER_DIR, name)).size }))
    .sort((a, b) => b.bytes - a.bytes)
    .slice(0, top);
}
