// Collector start-up in the emulator: from exec until it has registered with the Extensions API
// and its OTLP receiver accepts connections, over fresh execution environments.
// Beside it, in the same rounds, the baseline extension (fixtures/baseline-extension): the least
// an extension can do to be ready, so the difference is what the collector itself costs.
import { join } from 'node:path';
import { CollectorEnvironment } from './collector-environment.mjs';
import { OtlpSender, traceRequest } from './otlp-load.mjs';
import { median, round, summarize } from './stats.mjs';

/**
 * @param {{collectorLayerDir: string, baselineLayerDir: string, workDir: string, standIn: import('../../tools/lambda-emulator/index.mjs').XRayStandIn, functionEnvironment: Record<string,string>, runs: number, log?: (line: string) => void}} options
 *   functionEnvironment: the traced function's environment, which both extensions see
 */
export async function measureCollectorReady({ collectorLayerDir, baselineLayerDir, workDir, standIn, functionEnvironment, runs, log = () => {} }) {
  const kinds = {
    collector: { layerDir: collectorLayerDir },
    baseline: { layerDir: baselineLayerDir, extensionName: 'baseline-extension' },
  };
  const samples = { collector: [], baseline: [], collectorRegistered: [], collectorListening: [], collectorInitDone: [] };
  for (let roundIndex = -1; roundIndex < runs; roundIndex++) {
    const order = roundIndex % 2 === 0 ? ['collector', 'baseline'] : ['baseline', 'collector'];
    for (const kind of order) {
      const environment = new CollectorEnvironment({
        ...kinds[kind],
        workDir: join(workDir, `r-${kind.slice(0, 4)}`),
        xray: { port: standIn.port, socketPath: standIn.socketPath },
        functionEnvironment,
      });
      try {
        const times = await environment.start();
        // Ready means accepting spans: one real OTLP request must be taken.
        const sender = new OtlpSender(await environment.receiverSocket(), 1);
        const status = await sender.post(traceRequest(1).body).finally(() => sender.close());
        if (status !== 200) throw new Error(`${kind}: the receiver answered HTTP ${status} to an OTLP request after start-up`);
        if (roundIndex < 0) continue;
        samples[kind].push(times.readyMs);
        if (kind === 'collector') {
          samples.collectorRegistered.push(times.registeredMs);
          samples.collectorListening.push(times.listeningMs);
          samples.collectorInitDone.push(times.initDoneMs);
        }
      } finally {
        await environment.stop();
      }
    }
    if (roundIndex >= 0 && (roundIndex + 1) % 10 === 0) log(`collector ready: ${roundIndex + 1}/${runs} rounds`);
  }
  return {
    figures: {
      collector_ready_ms: round(median(samples.collector)),
      baseline_extension_ready_ms: round(median(samples.baseline)),
      collector_registered_ms: round(median(samples.collectorRegistered)),
      collector_listening_ms: round(median(samples.collectorListening)),
      collector_init_done_ms: round(median(samples.collectorInitDone)),
      collector_ready_runs: runs,
    },
    distributions: {
      collector_ready: summarize(samples.collector),
      baseline_extension_ready: summarize(samples.baseline),
    },
  };
}
