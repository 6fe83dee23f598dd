import { adapterPackages } from '@mailport/core';
import { describe, expect, it } from 'vitest';
import { defaultApiHosts, identifySmtpHost } from './migrate-providers.js';
import providerHosts from './provider-hosts.json' with { type: 'json' };

describe('identifySmtpHost (provider-hosts.json)', () => {
  it.each([
    ['smtp.gmail.com', 'gmail', [25, 465, 587], ['gmail.googleapis.com', 'oauth2.googleapis.com']],
    ['SMTP.GoogleMail.com.', 'gmail', [25, 465, 587], ['gmail.googleapis.com', 'oauth2.googleapis.com']],
    ['smtp-relay.gmail.com', 'gmail-relay', [25, 465, 587], ['gmail.googleapis.com', 'oauth2.googleapis.com']],
    ['smtp.office365.com', 'office365', [587, 25], ['graph.microsoft.com', 'login.microsoftonline.com']],
    ['smtp-mail.outlook.com', 'outlook-com', [587], ['graph.microsoft.com', 'login.microsoftonline.com']],
    ['contoso-com.mail.protection.outlook.com', 'exchange-direct-send', [25], ['graph.microsoft.com', 'login.microsoftonline.com']],
    ['email-smtp.eu-west-1.amazonaws.com', 'ses', [25, 465, 587, 2465, 2587], ['email.eu-west-1.amazonaws.com']],
    ['email-smtp-fips.us-gov-west-1.amazonaws.com', 'ses', [25, 465, 587, 2465, 2587], ['email-fips.us-gov-west-1.amazonaws.com']],
  ])('%s is %s', (host, service, ports, apiHosts) => {
    const match = identifySmtpHost(host);
    expect(match).toMatchObject({ service, smtpPorts: ports, apiHosts, host: host.toLowerCase().replace(/\.$/, '') });
    expect(match?.packageName).toBe(adapterPackages[match?.scheme ?? '']);
  });

  it('names the SES region', () => {
    expect(identifySmtpHost('email-smtp.ap-southeast-2.amazonaws.com')).toMatchObject({
      name: 'Amazon SES SMTP in ap-southeast-2',
      region: 'ap-southeast-2',
    });
  });

  it('knows no other host', () => {
    expect(identifySmtpHost('smtp.example.com')).toBeUndefined();
    expect(identifySmtpHost('email-smtp.amazonaws.com')).toBeUndefined();
  });

  it('has a documentation link for every host and API hosts for every scheme', () => {
    for (const entry of providerHosts.smtpHosts) expect(entry.documentation).toMatch(/^https:\/\//);
    expect(defaultApiHosts('ses', 'eu-central-1')).toEqual(['email.eu-central-1.amazonaws.com']);
  });
});
