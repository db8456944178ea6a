// The sample app's backend function, bundled as CommonJS and reached through its function URL.
// It picks a fortune inside a span of its own.
import { trace } from '@opentelemetry/api';

const tracer = trace.getTracer('demo-backend');

const FORTUNES = [
  'A trace a day keeps the outage away.',
  'Your next deploy will be uneventful.',
  'The span you seek is already in X-Ray.',
];

interface FunctionUrlEvent {
  body?: string;
  isBase64Encoded?: boolean;
}

export const handler = async (event: FunctionUrlEvent & { name?: string }) => {
  const request = parseRequest(event);
  const fortune = tracer.startActiveSpan('pick-fortune', (span) => {
    const index = [...(request.name ?? '')].reduce((sum, c) => sum + c.charCodeAt(0), 0) % FORTUNES.length;
    span.setAttribute('fortune.index', index);
    span.end();
    return FORTUNES[index];
  });
  return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ fortune }) };
};

/** A function URL delivers the HTTP body in `event.body`; a direct invoke delivers the object itself. */
function parseRequest(event: FunctionUrlEvent & { name?: string }): { name?: string } {
  if (typeof event.body !== 'string') return event;
  const text = event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  return JSON.parse(text);
}
