// The sample app's entry function, bundled as an ES module. It composes a greeting in a span of
// its own, asks the backend function for a fortune over HTTP, and counts the visit in DynamoDB.
// Every step shows up in the same X-Ray trace.
import { Sha256 } from '@aws-crypto/sha256-js';
import { DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { trace } from '@opentelemetry/api';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';

const tracer = trace.getTracer('demo-frontend');
const dynamo = new DynamoDBClient({});

interface GreetingEvent {
  name?: string;
}

export const handler = async (event: GreetingEvent) => {
  const name = event.name ?? 'world';
  const greeting = tracer.startActiveSpan('compose-greeting', (span) => {
    span.setAttribute('greeting.name', name);
    const text = `Hello, ${name}!`;
    span.end();
    return text;
  });
  const fortune = await askBackend(name);
  const visits = await countVisit(name);
  return { greeting, fortune, visits };
};

/** Calls the backend's function URL, signed with the function's credentials (AuthType AWS_IAM). */
async function askBackend(name: string): Promise<string> {
  const url = new URL(requireEnv('BACKEND_URL'));
  const body = JSON.stringify({ name });
  const request = new HttpRequest({
    method: 'POST',
    protocol: url.protocol,
    hostname: url.hostname,
    port: url.port ? Number(url.port) : undefined,
    path: url.pathname,
    headers: { 'content-type': 'application/json', 'host': url.host },
    body,
  });
  const signer = new SignatureV4({
    service: 'lambda',
    region: requireEnv('AWS_REGION'),
    credentials: {
      accessKeyId: requireEnv('AWS_ACCESS_KEY_ID'),
      secretAccessKey: requireEnv('AWS_SECRET_ACCESS_KEY'),
      sessionToken: process.env.AWS_SESSION_TOKEN,
    },
    sha256: Sha256,
  });
  const signed = await signer.sign(request);
  const response = await fetch(url, { method: 'POST', headers: signed.headers, body });
  if (!response.ok) throw new Error(`backend answered HTTP ${response.status}: ${await response.text()}`);
  const answer = await response.json() as { fortune?: string; statusCode?: number; body?: string };
  // A function URL returns the handler's body; the Invoke API returns the whole result object.
  const payload = typeof answer.statusCode === 'number' && typeof answer.body === 'string' ? JSON.parse(answer.body) : answer;
  return payload.fortune;
}

/** Adds one to the visitor's counter and returns the new count. */
async function countVisit(name: string): Promise<number> {
  const out = await dynamo.send(new UpdateItemCommand({
    TableName: requireEnv('TABLE_NAME'),
    Key: { pk: { S: name } },
    UpdateExpression: 'ADD visits :one',
    ExpressionAttributeValues: { ':one': { N: '1' } },
    ReturnValues: 'UPDATED_NEW',
  }));
  return Number(out.Attributes?.visits?.N ?? 0);
}

function requireEnv(key: string): string {
  const value = process.env[key];
  if (!value) throw new Error(`environment variable ${key} is not set: the stack sets it; check the function's configuration`);
  return value;
}
