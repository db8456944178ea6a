import * as http from 'node:http';

/**
 * A local stand-in for the collector's OTLP/HTTP receiver: accepts JSON-encoded
 * ExportTraceServiceRequest bodies on POST /v1/traces and keeps every span it receives,
 * flattened with its resource attributes, and counts the connections clients open to it.
 * With `answerDelayMillis`, it answers that long after a request arrived (its spans are kept at
 * once); with `statuses`, the first requests are answered with those statuses in turn (their
 * spans are not kept unless the status is 2xx), the rest with 200.
 * https://opentelemetry.io/docs/specs/otlp/#otlphttp
 * @param {{answerDelayMillis?: number, statuses?: number[]}} [options]
 */
export async function startOtlpStandIn({ answerDelayMillis = 0, statuses = [] } = {}) {
  const pendingStatuses = [...statuses];
  const spans = [];
  const requests = [];
  const waiters = new Set();
  const server = http.createServer((request, response) => {
    const chunks = [];
    request.on('data', (chunk) => chunks.push(chunk));
    request.on('end', () => {
      requests.push({ url: request.url, contentType: request.headers['content-type'] });
      if (request.method !== 'POST' || request.url !== '/v1/traces') {
        response.writeHead(404).end();
        return;
      }
      const status = pendingStatuses.shift() ?? 200;
      if (status < 200 || status > 299) {
        response.writeHead(status).end();
        return;
      }
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      for (const resourceSpans of body.resourceSpans ?? []) {
        const resource = attributesOf(resourceSpans.resource?.attributes);
        for (const scopeSpans of resourceSpans.scopeSpans ?? []) {
          for (const span of scopeSpans.spans ?? []) {
            spans.push({ ...span, attributes: attributesOf(span.attributes), resource, scope: scopeSpans.scope?.name });
          }
        }
      }
      const answer = () => response.writeHead(status, { 'content-type': 'application/json' }).end('{}');
      if (answerDelayMillis > 0) setTimeout(answer, answerDelayMillis);
      else answer();
      for (const waiter of waiters) waiter();
    });
  });
  let connections = 0;
  server.on('connection', () => { connections += 1; });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    endpoint: `http://127.0.0.1:${port}`,
    spans,
    requests,
    /** How many TCP connections clients have opened to the stand-in so far. */
    get connections() { return connections; },
    /** Resolves with the spans once `predicate(spans)` holds; rejects after `timeoutMillis`. */
    waitFor(predicate, timeoutMillis = 10_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (!predicate(spans)) return false;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(spans);
          return true;
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`OTLP stand-in: condition not met within ${timeoutMillis} ms; spans received: ${JSON.stringify(spans.map((s) => s.name))}`));
        }, timeoutMillis);
        waiters.add(check);
        check();
      });
    },
    close: () => new Promise((resolve) => { server.close(resolve); server.closeAllConnections(); }),
  };
}

/** OTLP JSON AnyValue list to a plain object. */
export function attributesOf(list = []) {
  return Object.fromEntries(list.map(({ key, value }) => [key, plainValue(value)]));
}

function plainValue(value) {
  if (value === undefined || value === null) return undefined;
  if ('stringValue' in value) return value.stringValue;
  if ('boolValue' in value) return value.boolValue;
  if ('intValue' in value) return Number(value.intValue);
  if ('doubleValue' in value) return value.doubleValue;
  if ('arrayValue' in value) return (value.arrayValue.values ?? []).map(plainValue);
  if ('kvlistValue' in value) return attributesOf(value.kvlistValue.values);
  return undefined;
}
