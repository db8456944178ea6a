import { after, before } from 'node:test';
import { startDownstreamStandIn } from './downstream-stand-in.mjs';
import { startOtlpStandIn } from './otlp-stand-in.mjs';

/**
 * Starts the OTLP stand-in (the collector) and the downstream HTTP stand-in before the suite it is
 * called in, and closes both after it. Read them as `standIns.collector` and `standIns.downstream`.
 */
export function useStandIns() {
  const standIns = { collector: undefined, downstream: undefined };
  before(async () => {
    standIns.collector = await startOtlpStandIn();
    standIns.downstream = await startDownstreamStandIn();
  });
  after(async () => {
    await standIns.collector.close();
    await standIns.downstream.close();
  });
  return standIns;
}
