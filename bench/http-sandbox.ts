/**
 * The sandbox every HTTP variant sends to (`startSandbox` from @mailport/sandbox: SES v2, the
 * Gmail API with Google's token endpoint, Microsoft Graph with the Entra token endpoint), in a
 * process of its own so that its work never runs on a sender's event loop.
 *
 * Protocol: announces a {@link SandboxTarget}, then answers `'begin'` and `'end'` around every
 * round with {@link SandboxRoundStats}. The parent reads and clears the message store through
 * the sandbox's HTTP API (`GET` and `DELETE /sandbox/messages`) after every round; `'begin'`
 * clears the request log too (it has no HTTP API) and collects the garbage of the previous
 * round, so that neither grows over the run nor lands in the next round's time.
 *
 * Started with `--expose-gc` by the parent; runs without it too.
 */
import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { startSandbox } from '@mailport/sandbox';
import { serveParent } from './bench-process.ts';
import type { SandboxRequest, SandboxRoundStats, SandboxTarget } from './http-protocol.ts';

const sandbox = await startSandbox();
const { accounts } = sandbox;
const [refreshToken] = Object.keys(accounts.google.refreshTokens);
if (refreshToken === undefined) throw new Error('the sandbox has no Google refresh token');

const target: SandboxTarget = {
  httpUrl: sandbox.httpUrl,
  controlToken: sandbox.controlToken,
  httpsUrl: sandbox.httpsUrl,
  caFile: sandbox.caFile,
  urls: { ses: sandbox.urls.ses, gmail: sandbox.urls.gmail, graph: sandbox.urls.graph },
  ses: { region: accounts.ses.region, accessKeyId: accounts.ses.accessKeyId, secretAccessKey: accounts.ses.secretAccessKey },
  google: { clientId: accounts.google.clientId, clientSecret: accounts.google.clientSecret, refreshToken },
  microsoft: {
    tenantId: accounts.microsoft.tenantId,
    clientId: accounts.microsoft.clientId,
    clientSecret: accounts.microsoft.clientSecret,
  },
};

const collectGarbage = (globalThis as { gc?: () => void }).gc;
let baseline = process.cpuUsage();
const idle: SandboxRoundStats = { cpuMs: 0, requests: 0, refused: 0, firstRefusal: undefined };

serveParent<SandboxRequest, SandboxRoundStats>(target, async (request) => {
  if (request === 'begin') {
    collectGarbage?.();
    sandbox.requests.clear();
    baseline = process.cpuUsage();
    return idle;
  }
  const cpu = process.cpuUsage(baseline);
  const entries = sandbox.requests.entries;
  const refused = entries.filter((entry) => typeof entry.outcome !== 'number' || entry.outcome < 200 || entry.outcome > 299);
  const first = refused[0];
  return {
    cpuMs: (cpu.user + cpu.system) / 1000,
    requests: entries.length,
    refused: refused.length,
    firstRefusal: first === undefined ? undefined : `${first.endpoint} ${first.outcome}`,
  };
});

// The child exits as soon as the parent lets go (serveParent), with no time for close(): remove the CA file's directory synchronously.
process.on('exit', () => rmSync(dirname(sandbox.caFile), { recursive: true, force: true }));
