import { once } from 'node:events';
import { createServer } from 'node:http';
import { createTokenCache, MailError, type TokenProvider } from '@mailport/core';

/**
 * A loopback OAuth token endpoint that hands out `token-1`, `token-2`, ... on each POST, and a
 * TokenProvider that fetches from it over real HTTP.
 */
export async function startTokenEndpoint(): Promise<{
  url: string;
  provider: TokenProvider;
  issued(): number;
  close(): Promise<void>;
}> {
  let issued = 0;
  const server = createServer((request, response) => {
    if (request.method !== 'POST') {
      response.writeHead(405).end();
      return;
    }
    request.resume();
    request.on('end', () => {
      issued++;
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ access_token: `token-${issued}`, token_type: 'Bearer', expires_in: 3600 }));
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/token`;
  const provider = createTokenCache(async () => {
    const response = await fetch(url, { method: 'POST', body: 'grant_type=refresh_token' });
    if (!response.ok) throw new MailError('auth', `token endpoint answered ${response.status}`);
    const body = (await response.json()) as { access_token: string; expires_in: number };
    return { token: body.access_token, expiresAt: Date.now() + body.expires_in * 1000 };
  });
  return {
    url,
    provider,
    issued: () => issued,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
