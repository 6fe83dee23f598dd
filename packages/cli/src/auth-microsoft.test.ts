import { describe, expect, it } from 'vitest';
import {
  devicePollAction,
  type MicrosoftSignInFailure,
  mapMicrosoftSignInError,
  microsoftDefaults,
  microsoftScopes,
  slowDownSeconds,
} from './auth-microsoft.js';

type Row = [Omit<MicrosoftSignInFailure, 'description'>, string, RegExp];

describe('device code polling', () => {
  it.each([
    ['authorization_pending', 'poll'],
    ['slow_down', 'slow-down'],
    ['authorization_declined', 'stop'],
    ['expired_token', 'stop'],
    ['bad_verification_code', 'stop'],
    ['invalid_client', 'stop'],
    [undefined, 'stop'],
  ] as const)('%s: %s', (error, action) => {
    expect(devicePollAction(error)).toBe(action);
  });

  it('slows down by 5 seconds (RFC 8628 section 3.5), and defaults to what the Graph transport uses', () => {
    expect(slowDownSeconds).toBe(5);
    expect(microsoftDefaults).toEqual({ authorityHost: 'https://login.microsoftonline.com', tenant: 'organizations' });
    expect(microsoftScopes.api).toBe('https://graph.microsoft.com/Mail.Send');
    expect(microsoftScopes.smtp).toBe('https://outlook.office.com/SMTP.Send');
  });
});

describe('mapMicrosoftSignInError', () => {
  const context = { authority: 'https://login.microsoftonline.com', clientId: 'app-id', lifetimeMs: 900_000 };
  it.each<Row>([
    [{ error: 'authorization_declined', aadsts: 65004 }, 'auth', /accept the permissions/],
    [{ error: 'access_denied' }, 'auth', /accept the permissions/],
    [{ error: 'expired_token', aadsts: 70019 }, 'timeout', /within 15 minutes/],
    [{ error: 'bad_verification_code', aadsts: 70018 }, 'auth', /Run the command again/],
    [{ error: 'invalid_grant', aadsts: 54005 }, 'auth', /Run the command again/],
    [{ error: 'invalid_scope', aadsts: 70011 }, 'configuration', /API permissions/],
    [{ error: 'invalid_client', aadsts: 7000218 }, 'configuration', /Allow public client flows/],
    [{ error: 'invalid_client', aadsts: 700025 }, 'configuration', /Leave out --client-secret/],
    [{ error: 'invalid_grant', aadsts: 65001 }, 'auth', /Run the command again/],
    [{ error: 'unauthorized_client', aadsts: 700016 }, 'configuration', /--client-id .* --tenant/],
    // The rest goes to the Graph transport's mapping.
    [{ error: 'invalid_client', aadsts: 7000215, status: 401 }, 'auth', /client secret/],
    [{ error: 'invalid_request', aadsts: 90002 }, 'configuration', /tenant/],
    [{ error: 'temporarily_unavailable', status: 503 }, 'transient', /temporarily/],
  ])('%o is %s', async (failure, code, remediation) => {
    const mapped = await mapMicrosoftSignInError({ description: `AADSTS${failure.aadsts ?? 0}: said\r\nTrace ID: x`, ...failure }, context);
    expect(mapped.code).toBe(code);
    expect(mapped.remediation).toMatch(remediation);
    expect(mapped.message).not.toMatch(/Trace ID/);
  });
});
