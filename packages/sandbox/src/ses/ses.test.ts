import {
  GetAccountCommand,
  SESv2Client,
  SendBulkEmailCommand,
  type SendBulkEmailCommandInput,
  SendEmailCommand,
  type SendEmailCommandInput,
} from '@aws-sdk/client-sesv2';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { SandboxAccountOverrides } from '../accounts.js';
import { type Sandbox, startSandbox } from '../sandbox.js';

let sandbox: Sandbox;
const others: Sandbox[] = [];

beforeAll(async () => {
  sandbox = await startSandbox();
});
afterAll(async () => {
  await Promise.all([sandbox.close(), ...others.map((other) => other.close())]);
});
beforeEach(() => {
  sandbox.store.clear();
  sandbox.faults.clear();
  sandbox.requests.clear();
});

function client(target: Sandbox = sandbox, overrides: Partial<ConstructorParameters<typeof SESv2Client>[0]> = {}): SESv2Client {
  const { region, accessKeyId, secretAccessKey } = target.accounts.ses;
  return new SESv2Client({ region, endpoint: target.httpUrl, credentials: { accessKeyId, secretAccessKey }, maxAttempts: 1, ...overrides });
}

async function other(accounts: SandboxAccountOverrides): Promise<Sandbox> {
  const started = await startSandbox({ accounts });
  others.push(started);
  return started;
}

async function sesError(promise: Promise<unknown>): Promise<{ name: string; message: string; status: number | undefined }> {
  const error = (await promise.then(
    () => {
      throw new Error('expected SES to refuse');
    },
    (caught: unknown) => caught,
  )) as { name: string; message: string; $metadata?: { httpStatusCode?: number } };
  return { name: error.name, message: error.message, status: error.$metadata?.httpStatusCode };
}

const simple = (extra: Partial<SendEmailCommandInput> = {}): SendEmailCommandInput => ({
  FromEmailAddress: 'Shop <orders@example.com>',
  Destination: { ToAddresses: ['ana@example.org'] },
  Content: { Simple: { Subject: { Data: 'Hello', Charset: 'UTF-8' }, Body: { Text: { Data: 'Hi Ana' } } } },
  ...extra,
});

const rawContent = (text: string): SendEmailCommandInput['Content'] => ({ Raw: { Data: Buffer.from(text.replace(/\n/g, '\r\n')) } });

describe('SES emulator: authentication', () => {
  const post = (headers: Record<string, string>): Promise<Response> =>
    fetch(`${sandbox.httpUrl}/v2/email/outbound-emails`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: '{}',
    });

  it('refuses a request without an Authorization header, in SES error shape', async () => {
    const response = await post({});
    expect(response.status).toBe(403);
    expect(response.headers.get('x-amzn-errortype')).toBe('MissingAuthenticationTokenException');
    expect(await response.json()).toEqual({ message: 'Missing Authentication Token' });
  });

  it('refuses a malformed Authorization header', async () => {
    const response = await post({ authorization: 'AWS4-HMAC-SHA256 Credential=AKIA/20260101/us-east-1/ses/aws4_request' });
    expect(response.status).toBe(400);
    expect(response.headers.get('x-amzn-errortype')).toBe('IncompleteSignatureException');
    expect(((await response.json()) as { message: string }).message).toMatch(/requires 'SignedHeaders'/);
    expect((await post({ authorization: 'Bearer abc' })).status).toBe(400);
  });

  it('refuses an unknown access key id', async () => {
    const response = await post({
      authorization: `AWS4-HMAC-SHA256 Credential=AKIAUNKNOWN/20260101/us-east-1/ses/aws4_request, SignedHeaders=host;x-amz-date, Signature=${'0'.repeat(64)}`,
      'x-amz-date': '20260101T000000Z',
    });
    expect(response.status).toBe(403);
    expect(response.headers.get('x-amzn-errortype')).toBe('UnrecognizedClientException');
    expect(await response.json()).toEqual({ message: 'The security token included in the request is invalid.' });
  });

  it('checks the signature with the secret: wrong secret, wrong region, altered body, old date', async () => {
    const { accessKeyId } = sandbox.accounts.ses;
    const wrongSecret = await sesError(
      client(sandbox, { credentials: { accessKeyId, secretAccessKey: 'nope' } }).send(new GetAccountCommand({})),
    );
    expect(wrongSecret).toMatchObject({ name: 'SignatureDoesNotMatch', status: 403 });
    const wrongRegion = await sesError(client(sandbox, { region: 'eu-west-1' }).send(new GetAccountCommand({})));
    expect(wrongRegion).toMatchObject({
      name: 'SignatureDoesNotMatch',
      message: "Credential should be scoped to a valid region, not 'eu-west-1'.",
    });
    const old = await sesError(client(sandbox, { systemClockOffset: -20 * 60 * 1000 }).send(new GetAccountCommand({})));
    expect(old).toMatchObject({ name: 'InvalidSignatureException', status: 403 });
    expect(old.message).toMatch(/^Signature expired/);

    const tampering = client();
    // The deserialize step runs after signing: the body changes under a valid-looking signature.
    tampering.middlewareStack.add(
      (next) => async (args) => {
        const request = args.request as { body: Uint8Array | string };
        request.body = Buffer.from(request.body).toString('utf8').replace('ana@example.org', 'eve@example.org');
        return next(args);
      },
      { step: 'deserialize', name: 'tamper' },
    );
    expect(await sesError(tampering.send(new SendEmailCommand(simple())))).toMatchObject({ name: 'SignatureDoesNotMatch' });
    expect(sandbox.store.size).toBe(0);
    expect((await client().send(new GetAccountCommand({}))).SendingEnabled).toBe(true);
  });
});

describe('SES emulator: SendEmail', () => {
  it('Simple content: SES builds the MIME, with its own Message-ID and no Bcc header', async () => {
    const output = await client().send(
      new SendEmailCommand(
        simple({
          Destination: { ToAddresses: ['Ana <ana@example.org>'], CcAddresses: ['cc@example.org'], BccAddresses: ['audit@example.net'] },
          ReplyToAddresses: ['help@example.com'],
          EmailTags: [{ Name: 'campaign', Value: 'spring' }],
          ConfigurationSetName: 'default',
          Content: {
            Simple: {
              Subject: { Data: 'Grüße', Charset: 'UTF-8' },
              Body: { Text: { Data: 'Text part' }, Html: { Data: '<p>HTML <img src="cid:logo@x"></p>' } },
              Headers: [{ Name: 'X-Order', Value: '42' }],
              Attachments: [
                {
                  FileName: 'logo.png',
                  RawContent: Buffer.from('png'),
                  ContentType: 'image/png',
                  ContentDisposition: 'INLINE',
                  ContentId: 'logo@x',
                },
                { FileName: 'terms.txt', RawContent: Buffer.from('terms'), ContentType: 'text/plain' },
              ],
            },
          },
        }),
      ),
    );
    const stored = sandbox.store.last();
    expect(stored).toMatchObject({
      api: 'ses',
      operation: 'SendEmail (Simple)',
      providerMessageId: output.MessageId,
      envelope: { from: 'orders@example.com', to: ['ana@example.org', 'cc@example.org', 'audit@example.net'] },
      metadata: { configurationSet: 'default', emailTags: [{ Name: 'campaign', Value: 'spring' }], region: 'us-east-1' },
    });
    const parsed = await simpleParser(stored?.raw ?? Buffer.alloc(0), { keepCidLinks: true });
    expect(parsed.messageId).toBe(`<${output.MessageId}@email.amazonses.com>`);
    expect(parsed.subject).toBe('Grüße');
    expect(parsed.bcc).toBeUndefined();
    expect(stored?.raw.toString()).not.toContain('audit@example.net');
    expect(parsed.headers.get('x-order')).toBe('42');
    expect(parsed.replyTo?.text).toBe('help@example.com');
    expect(
      parsed.attachments.map((attachment) => [attachment.filename, attachment.contentDisposition, attachment.content.toString()]),
    ).toEqual([
      ['logo.png', 'inline', 'png'],
      ['terms.txt', 'attachment', 'terms'],
    ]);
  });

  it('Raw content: recipients from the headers without a Destination; Bcc removed, Message-ID and Date replaced', async () => {
    const output = await client().send(
      new SendEmailCommand({
        Content: rawContent(
          'From: Shop <orders@example.com>\nTo: ana@example.org\nCc: "Bo, B." <bo@example.org>\nBcc: audit@example.net\n' +
            'Message-ID: <mine@example.com>\nDate: Thu, 01 Jan 2015 00:00:00 +0000\nSubject: Raw\n\nBody\n',
        ),
      }),
    );
    const stored = sandbox.store.last();
    expect(stored).toMatchObject({
      operation: 'SendEmail (Raw)',
      envelope: { from: 'orders@example.com', to: ['ana@example.org', 'bo@example.org', 'audit@example.net'] },
      metadata: { submittedMessageId: '<mine@example.com>' },
    });
    const raw = stored?.raw.toString() ?? '';
    expect(raw).not.toMatch(/^Bcc:/im);
    expect(raw).toContain(`Message-ID: <${output.MessageId}@email.amazonses.com>\r\n`);
    expect(raw).not.toContain('2015');
    expect(raw.endsWith('\r\n\r\nBody\r\n')).toBe(true);
  });

  it('Raw content with a Destination sends to the Destination only', async () => {
    await client().send(
      new SendEmailCommand({
        FromEmailAddress: 'bounces@example.com',
        Destination: { ToAddresses: ['only@example.org'] },
        Content: rawContent('From: orders@example.com\nTo: shown@example.org\nSubject: x\n\nx\n'),
      }),
    );
    expect(sandbox.store.last()?.envelope).toEqual({ from: 'bounces@example.com', to: ['only@example.org'] });
  });

  it('Template content: inline {{variables}} and stored templates', async () => {
    const withTemplates = await other({
      ses: { templates: { welcome: { subject: 'Welcome {{name}}', text: 'Hi {{name}}, plan {{plan.tier}}' } } },
    });
    await client(withTemplates).send(
      new SendEmailCommand(
        simple({
          Content: { Template: { TemplateName: 'welcome', TemplateData: JSON.stringify({ name: 'Ana', plan: { tier: 'pro' } }) } },
        }),
      ),
    );
    const parsed = await simpleParser(withTemplates.store.last()?.raw ?? Buffer.alloc(0));
    expect([parsed.subject, parsed.text?.trim()]).toEqual(['Welcome Ana', 'Hi Ana, plan pro']);
    expect(withTemplates.store.last()?.operation).toBe('SendEmail (Template)');
    const missing = await sesError(
      client(withTemplates).send(new SendEmailCommand(simple({ Content: { Template: { TemplateName: 'nope' } } }))),
    );
    expect(missing).toMatchObject({ name: 'NotFoundException', status: 404, message: 'Template nope does not exist.' });
  });

  it('a template variable without data: a MessageId, and nothing sent (a rendering failure)', async () => {
    const output = await client().send(
      new SendEmailCommand(
        simple({ Content: { Template: { TemplateContent: { Subject: 'Hi {{name}}', Text: 'x' }, TemplateData: '{}' } } }),
      ),
    );
    expect(output.MessageId).toMatch(/-000000$/);
    expect(sandbox.store.size).toBe(0);
  });

  it('refuses an unverified From with SES wording, and unverified recipients in the SES sandbox', async () => {
    const from = await sesError(client().send(new SendEmailCommand(simple({ FromEmailAddress: 'me@elsewhere.test' }))));
    expect(from).toEqual({
      name: 'MessageRejected',
      status: 400,
      message: 'Email address is not verified. The following identities failed the check in region US-EAST-1: me@elsewhere.test',
    });
    const rawFrom = await sesError(
      client().send(new SendEmailCommand({ Content: rawContent('From: x@elsewhere.test\nTo: a@example.org\n\nx\n') })),
    );
    expect(rawFrom.name).toBe('MessageRejected');

    const inSandbox = await other({ ses: { productionAccess: false, verifiedIdentities: ['example.com', 'ok@example.org'] } });
    const recipients = await sesError(
      client(inSandbox).send(new SendEmailCommand(simple({ Destination: { ToAddresses: ['ok@example.org', 'no@example.org'] } }))),
    );
    expect(recipients.message).toBe(
      'Email address is not verified. The following identities failed the check in region US-EAST-1: no@example.org',
    );
    await client(inSandbox).send(
      new SendEmailCommand(simple({ Destination: { ToAddresses: ['ok@example.org', 'bounce@simulator.amazonses.com'] } })),
    );
    expect(inSandbox.store.size).toBe(1);
  });

  it('enforces 50 recipients, 40 MB, 1,000-character lines, single headers and valid tags', async () => {
    const many = Array.from({ length: 51 }, (_, index) => `r${index}@example.org`);
    expect(await sesError(client().send(new SendEmailCommand(simple({ Destination: { ToAddresses: many } }))))).toEqual({
      name: 'BadRequestException',
      status: 400,
      message: 'Recipient count exceeds 50.',
    });
    const header = 'From: orders@example.com\r\nTo: a@example.org\r\nSubject: big\r\n\r\n';
    const big = Buffer.alloc(40_000_001 - header.length, 'a');
    for (let index = 76; index < big.length; index += 78) big.write('\r\n', index - 2);
    const tooBig = await sesError(
      client().send(new SendEmailCommand({ Content: { Raw: { Data: Buffer.concat([Buffer.from(header), big]) } } })),
    );
    expect(tooBig).toEqual({
      name: 'MessageRejected',
      status: 400,
      message: "Message length is more than 40000000 bytes long: '40000001'.",
    });
    const longLine = await sesError(
      client().send(new SendEmailCommand({ Content: rawContent(`From: orders@example.com\nTo: a@example.org\n\n${'x'.repeat(1001)}\n`) })),
    );
    expect(longLine.name).toBe('BadRequestException');
    const twoSubjects = await sesError(
      client().send(
        new SendEmailCommand({ Content: rawContent('From: orders@example.com\nTo: a@example.org\nSubject: a\nSubject: b\n\nx\n') }),
      ),
    );
    expect(twoSubjects).toMatchObject({ name: 'BadRequestException', message: "Duplicate header 'Subject'." });
    const noFrom = await sesError(client().send(new SendEmailCommand({ Content: rawContent('To: a@example.org\n\nx\n') })));
    expect(noFrom).toMatchObject({ name: 'BadRequestException', message: "Missing required header 'From'." });
    const badTag = await sesError(client().send(new SendEmailCommand(simple({ EmailTags: [{ Name: 'a.b', Value: 'x' }] }))));
    expect(badTag.name).toBe('BadRequestException');
    const reserved = await sesError(
      client().send(
        new SendEmailCommand(
          simple({
            Content: {
              Simple: { Subject: { Data: 's' }, Body: { Text: { Data: 'x' } }, Headers: [{ Name: 'Message-ID', Value: '<a@b>' }] },
            },
          }),
        ),
      ),
    );
    expect(reserved.name).toBe('BadRequestException');
    const utf8 = await sesError(client().send(new SendEmailCommand(simple({ Destination: { ToAddresses: ['jörg@example.org'] } }))));
    expect(utf8.name).toBe('BadRequestException');
    expect(sandbox.store.size).toBe(0);
  });

  it('knows its configuration sets and account states', async () => {
    expect(await sesError(client().send(new SendEmailCommand(simple({ ConfigurationSetName: 'other' }))))).toMatchObject({
      name: 'NotFoundException',
      status: 404,
    });
    const paused = await other({ ses: { sendingEnabled: false } });
    expect((await sesError(client(paused).send(new SendEmailCommand(simple())))).name).toBe('SendingPausedException');
    const suspended = await other({ ses: { enforcementStatus: 'SHUTDOWN' } });
    expect((await sesError(client(suspended).send(new SendEmailCommand(simple())))).name).toBe('AccountSuspendedException');
  });

  it('counts the daily quota in recipients', async () => {
    const small = await other({ ses: { max24HourSend: 3 } });
    await client(small).send(new SendEmailCommand(simple({ Destination: { ToAddresses: ['a@example.org', 'b@example.org'] } })));
    const over = await sesError(
      client(small).send(new SendEmailCommand(simple({ Destination: { ToAddresses: ['c@example.org', 'd@example.org'] } }))),
    );
    expect(over).toEqual({ name: 'ThrottlingException', status: 429, message: 'Daily message quota exceeded.' });
  });
});

describe('SES emulator: SendBulkEmail', () => {
  const bulk = (entries: SendBulkEmailCommandInput['BulkEmailEntries']): SendBulkEmailCommandInput => ({
    FromEmailAddress: 'news@example.com',
    DefaultContent: {
      Template: { TemplateContent: { Subject: 'News for {{name}}', Text: 'Hello {{name}}' }, TemplateData: '{"name":"friend"}' },
    },
    DefaultEmailTags: [{ Name: 'kind', Value: 'news' }],
    BulkEmailEntries: entries,
  });

  it('answers one status per entry, in order', async () => {
    const inSandbox = await other({
      ses: { productionAccess: false, verifiedIdentities: ['example.com', 'ana@example.org', 'bo@example.org'] },
    });
    const output = await client(inSandbox).send(
      new SendBulkEmailCommand(
        bulk([
          {
            Destination: { ToAddresses: ['ana@example.org'] },
            ReplacementEmailContent: { ReplacementTemplate: { ReplacementTemplateData: '{"name":"Ana"}' } },
            ReplacementTags: [{ Name: 'kind', Value: 'vip' }],
          },
          { Destination: { ToAddresses: ['bo@example.org'] } },
          { Destination: { ToAddresses: ['stranger@example.org'] } },
          { Destination: { ToAddresses: ['not an address'] } },
        ]),
      ),
    );
    expect(output.BulkEmailEntryResults?.map((result) => result.Status)).toEqual([
      'SUCCESS',
      'SUCCESS',
      'MESSAGE_REJECTED',
      'INVALID_PARAMETER_VALUE',
    ]);
    expect(output.BulkEmailEntryResults?.[2]?.Error).toMatch(/stranger@example.org/);
    const stored = inSandbox.store.list();
    expect(stored.map((message) => message.operation)).toEqual(['SendBulkEmail', 'SendBulkEmail']);
    expect(stored.map((message) => message.providerMessageId)).toEqual(
      output.BulkEmailEntryResults?.slice(0, 2).map((result) => result.MessageId),
    );
    const subjects = await Promise.all(stored.map(async (message) => (await simpleParser(message.raw)).subject));
    expect(subjects).toEqual(['News for Ana', 'News for friend']);
    expect(stored[0]?.metadata.emailTags).toEqual([{ Name: 'kind', Value: 'vip' }]);
    expect(stored[1]?.metadata.emailTags).toEqual([{ Name: 'kind', Value: 'news' }]);
  });

  it('takes at most 50 entries and templates only', async () => {
    const entries = Array.from({ length: 51 }, () => ({ Destination: { ToAddresses: ['a@example.org'] } }));
    expect((await sesError(client().send(new SendBulkEmailCommand(bulk(entries))))).name).toBe('BadRequestException');
    const noTemplate = await sesError(
      client().send(new SendBulkEmailCommand({ ...bulk([{ Destination: { ToAddresses: ['a@example.org'] } }]), DefaultContent: {} })),
    );
    expect(noTemplate.name).toBe('BadRequestException');
    expect(sandbox.store.size).toBe(0);
  });
});

describe('SES emulator: GetAccount and faults', () => {
  it('reflects the account and counts recipients sent in the last 24 hours', async () => {
    const limited = await other({ ses: { productionAccess: false, max24HourSend: 200, maxSendRate: 1 } });
    await client(limited).send(new SendEmailCommand(simple({ Destination: { ToAddresses: ['a@example.com', 'b@example.com'] } })));
    const account = await client(limited).send(new GetAccountCommand({}));
    expect(account).toMatchObject({
      ProductionAccessEnabled: false,
      SendingEnabled: true,
      EnforcementStatus: 'HEALTHY',
      SendQuota: { Max24HourSend: 200, MaxSendRate: 1, SentLast24Hours: 2 },
    });
  });

  it('answers injected faults in SES shape, with SES status for a bare code', async () => {
    sandbox.faults.inject({ endpoint: 'ses.SendEmail', code: 'ThrottlingException' });
    const response = await sesError(client().send(new SendEmailCommand(simple())));
    expect(response).toEqual({ name: 'ThrottlingException', status: 429, message: 'Maximum sending rate exceeded.' });
    sandbox.faults.inject({ endpoint: 'ses.GetAccount', status: 503 });
    expect(await sesError(client().send(new GetAccountCommand({})))).toMatchObject({ name: 'ServiceUnavailableException', status: 503 });
    sandbox.faults.inject({ endpoint: 'ses.SendBulkEmail', status: 400, code: 'MessageRejected', message: 'no' });
    expect(
      await sesError(
        client().send(new SendBulkEmailCommand({ FromEmailAddress: 'a@example.com', DefaultContent: {}, BulkEmailEntries: [] })),
      ),
    ).toEqual({ name: 'MessageRejected', status: 400, message: 'no' });
    expect(sandbox.requests.count('ses.*')).toBe(3);
  });
});
