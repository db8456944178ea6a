import * as http from 'node:http';

/**
 * The handler's downstream services: answers fetches to /echo, and plays AWS STS for
 * GetCallerIdentity (Query protocol, XML answer), recording every request's headers.
 * https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html
 */
export async function startDownstreamStandIn() {
  const requests = [];
  const server = http.createServer((request, response) => {
    const chunks = [];
    request.on('data', (chunk) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      requests.push({ method: request.method, url: request.url, headers: request.headers, body });
      if (request.method === 'POST' && body.includes('Action=GetCallerIdentity')) {
        response.writeHead(200, { 'content-type': 'text/xml' }).end(
          '<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">' +
            '<GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/stand-in</Arn>' +
            '<UserId>AIDASTANDIN</UserId><Account>123456789012</Account></GetCallerIdentityResult>' +
            '<ResponseMetadata><RequestId>4f1e2c1a-0000-4000-8000-000000000000</RequestId></ResponseMetadata>' +
            '</GetCallerIdentityResponse>',
        );
        return;
      }
      response.writeHead(200, { 'content-type': 'text/plain' }).end(`echo ${request.url}`);
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }),
  };
}
