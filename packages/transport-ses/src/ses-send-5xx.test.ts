import { createMailer, MailError } from '@mailport/core';
import { type Sandbox, startSandbox } from '@mailport/sandbox';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

// A 5xx to SendEmail after its body went out, through createMailer and a ses:// URL: the mailer
// must not send again what SES may have sent; only throttling, which SES documents as dropping
// the message, is retried (docs/errors.md, "A 5xx after the message was handed over").

let sandbox: Sandbox;
beforeAll(async () => {
  sandbox = await startSandbox();
});
afterAll(() => sandbox.close());
beforeEach(() => {
  sandbox.store.clear();
  sandbox.faults.clear();
  sandbox.requests.clear();
});

const base = { from: 'app@shop.example', to: 'ana@example.org', subject: 'Order', text: 'Shipped.' };

async function failure(promise: Promise<unknown>): Promise<MailError> {
  const error = await promise.then(
    () => {
      throw new Error('expected the send to fail');
    },
    (caught: unknown) => caught,
  );
  expect(MailError.isInstance(error)).toBe(true);
  return error as MailError;
}

describe('ses: a 5xx to SendEmail through createMailer', () => {
  it('a 500 InternalFailure answered after the body was read is unknown-outcome, sent once, not retried', async () => {
    // The sandbox reads the whole request before it answers with an injected fault.
    sandbox.faults.inject({ endpoint: 'ses.SendEmail', status: 500, code: 'InternalFailure', count: 3 });
    const mailer = createMailer({ transport: sandbox.urls.ses, retry: { initialDelayMs: 1 } });
    const error = await failure(mailer.send(base));
    expect(error.code).toBe('unknown-outcome');
    expect(error.retryable).toBe(false);
    expect(error.providerCode).toBe('InternalFailure');
    expect(error.remediation).toMatch(/before sending it again/);
    expect(sandbox.requests.count('ses.SendEmail')).toBe(1);
    // The fault answered instead of SES: nothing was stored. A real SES might have sent it.
    expect(sandbox.store.size).toBe(0);
    await mailer.close();
  });

  it('a 503 ServiceUnavailable is unknown-outcome too: nothing says SES did nothing', async () => {
    sandbox.faults.inject({ endpoint: 'ses.SendEmail', status: 503, code: 'ServiceUnavailable', count: 3 });
    const mailer = createMailer({ transport: sandbox.urls.ses, retry: { initialDelayMs: 1 } });
    expect((await failure(mailer.send(base))).code).toBe('unknown-outcome');
    expect(sandbox.requests.count('ses.SendEmail')).toBe(1);
    await mailer.close();
  });

  it('a throttling answer with a 5xx status is rate-limited and retried, and the retry sends it once', async () => {
    sandbox.faults.inject({
      endpoint: 'ses.SendEmail',
      status: 503,
      code: 'ThrottlingException',
      message: 'Maximum sending rate exceeded.',
      retryAfter: 0,
    });
    const mailer = createMailer({ transport: sandbox.urls.ses, retry: { initialDelayMs: 1 } });
    const receipt = await mailer.send(base);
    expect(receipt.attempts).toBe(2);
    expect(sandbox.requests.count('ses.SendEmail')).toBe(2);
    expect(sandbox.store.size).toBe(1);
    await mailer.close();
  });

  it('a 500 to GetAccount (rate_limit=auto reads it before the first send) is transient and retried', async () => {
    sandbox.faults.inject({ endpoint: 'ses.GetAccount', status: 500, code: 'InternalFailure' });
    const mailer = createMailer({ transport: `${sandbox.urls.ses}&rate_limit=auto`, retry: { initialDelayMs: 1 } });
    const receipt = await mailer.send(base);
    expect(receipt.attempts).toBe(2);
    expect(sandbox.requests.count('ses.GetAccount')).toBe(2);
    expect(sandbox.store.size).toBe(1);
    await mailer.close();
  });
});
