/**
 * SES records shaped as AWS documents them (values are ours):
 * https://docs.aws.amazon.com/ses/latest/dg/event-publishing-retrieving-sns-examples.html (event publishing)
 * https://docs.aws.amazon.com/ses/latest/dg/notification-examples.html (identity notifications)
 */

export const sesMessageId = '0100018c0f4f3f2a-6a1f5b7e-0d35-4c8e-9d42-1a2b3c4d5e6f-000000';
export const coreMessageId = '<f3a9c1d2.1733520000000@shop.example>';

/** The `mail` object every event carries. */
export function mail(destination: readonly string[] = ['ana@example.org'], withTags = true): Record<string, unknown> {
  return {
    timestamp: '2026-12-06T10:00:00.000Z',
    source: 'Shop <orders@shop.example>',
    sourceArn: 'arn:aws:ses:us-east-1:123456789012:identity/shop.example',
    sendingAccountId: '123456789012',
    messageId: sesMessageId,
    destination,
    headersTruncated: false,
    headers: [
      { name: 'From', value: 'Shop <orders@shop.example>' },
      { name: 'To', value: destination.join(', ') },
      { name: 'Subject', value: 'Your order' },
      { name: 'Message-ID', value: coreMessageId },
    ],
    commonHeaders: { from: ['Shop <orders@shop.example>'], to: [...destination], messageId: coreMessageId, subject: 'Your order' },
    ...(withTags
      ? {
          tags: {
            'ses:configuration-set': ['transactional'],
            'ses:source-ip': ['192.0.2.10'],
            'ses:from-domain': ['shop.example'],
            'ses:caller-identity': ['mailer'],
            welcome: ['true'],
            plan: ['pro'],
          },
        }
      : {}),
  };
}

export const bounceRecord = {
  eventType: 'Bounce',
  bounce: {
    bounceType: 'Permanent',
    bounceSubType: 'General',
    bouncedRecipients: [
      { emailAddress: 'ana@example.org', action: 'failed', status: '5.1.1', diagnosticCode: 'smtp; 550 5.1.1 user unknown' },
      { emailAddress: 'Bo@Example.ORG', action: 'failed', status: '5.2.1', diagnosticCode: 'smtp; 550 5.2.1 mailbox disabled' },
    ],
    timestamp: '2026-12-06T10:00:03.120Z',
    feedbackId: '0100018c0f4f4a11-bounce-feedback-000000',
    reportingMTA: 'dsn; a8-1.smtp-out.amazonses.com',
  },
  mail: mail(['ana@example.org', 'Bo@Example.ORG']),
};

export const transientBounceRecord = {
  eventType: 'Bounce',
  bounce: {
    bounceType: 'Transient',
    bounceSubType: 'MailboxFull',
    bouncedRecipients: [{ emailAddress: 'ana@example.org', status: '4.2.2' }],
    timestamp: '2026-12-06T11:00:00.000Z',
    feedbackId: 'transient-1',
  },
  mail: mail(),
};

export const complaintRecord = {
  eventType: 'Complaint',
  complaint: {
    feedbackId: '0100018c0f4f5b22-complaint-feedback-000000',
    complaintSubType: null,
    complainedRecipients: [{ emailAddress: 'ana@example.org' }],
    timestamp: '2026-12-06T12:00:00.000Z',
    userAgent: 'Mozilla/5.0 (compatible; feedback-loop)',
    complaintFeedbackType: 'abuse',
    arrivalDate: '2026-12-06T10:00:01.000Z',
  },
  mail: mail(),
};

export const deliveryRecord = {
  eventType: 'Delivery',
  delivery: {
    timestamp: '2026-12-06T10:00:02.500Z',
    processingTimeMillis: 2500,
    recipients: ['ana@example.org'],
    smtpResponse: '250 2.6.0 Message received',
    reportingMTA: 'a8-1.smtp-out.amazonses.com',
    remoteMtaIp: '198.51.100.7',
  },
  mail: mail(),
};

export const sendRecord = { eventType: 'Send', send: {}, mail: mail(['ana@example.org', 'bo@example.org']) };

export const rejectRecord = { eventType: 'Reject', reject: { reason: 'Bad content' }, mail: mail() };

export const openRecord = {
  eventType: 'Open',
  open: { ipAddress: '198.51.100.20', timestamp: '2026-12-06T13:00:00.000Z', userAgent: 'Mozilla/5.0' },
  mail: mail(),
};

export const clickRecord = {
  eventType: 'Click',
  click: {
    ipAddress: '198.51.100.20',
    link: 'https://shop.example/orders/42',
    linkTags: { samplekey0: ['samplevalue0'] },
    timestamp: '2026-12-06T13:01:00.000Z',
    userAgent: 'Mozilla/5.0',
  },
  mail: mail(),
};

export const renderingFailureRecord = {
  eventType: 'Rendering Failure',
  failure: { errorMessage: "Attribute 'name' is not present in the rendering data.", templateName: 'order' },
  mail: mail(),
};

export const deliveryDelayRecord = {
  eventType: 'DeliveryDelay',
  deliveryDelay: {
    timestamp: '2026-12-06T10:30:00.000Z',
    delayType: 'MailboxFull',
    expirationTime: '2026-12-06T22:00:00.000Z',
    delayedRecipients: [{ emailAddress: 'ana@example.org', status: '4.2.2', diagnosticCode: 'smtp; 452 4.2.2 mailbox full' }],
    reportingMTA: 'dsn; a8-1.smtp-out.amazonses.com',
  },
  mail: mail(),
};

export const subscriptionRecord = {
  eventType: 'Subscription',
  subscription: {
    contactList: 'newsletter',
    timestamp: '2026-12-06T14:00:00.000Z',
    source: 'UnsubscribeHeader',
    newTopicPreferences: { unsubscribeAll: true, topicSubscriptionStatus: [{ topicName: 'offers', subscriptionStatus: 'OptOut' }] },
    oldTopicPreferences: { unsubscribeAll: false, topicSubscriptionStatus: [{ topicName: 'offers', subscriptionStatus: 'OptIn' }] },
  },
  mail: mail(),
};

export const optInRecord = {
  eventType: 'Subscription',
  subscription: {
    contactList: 'newsletter',
    timestamp: '2026-12-06T14:10:00.000Z',
    source: 'ManageSubscriptionPage',
    newTopicPreferences: { unsubscribeAll: false, topicSubscriptionStatus: [{ topicName: 'offers', subscriptionStatus: 'OptIn' }] },
  },
  mail: mail(),
};

/** The older identity notifications: `notificationType`, no tags. */
export const identityBounce = {
  notificationType: 'Bounce',
  bounce: {
    bounceType: 'Undetermined',
    bounceSubType: 'Undetermined',
    bouncedRecipients: [{ emailAddress: 'ana@example.org' }],
    timestamp: '2026-12-06T10:00:03.000Z',
    feedbackId: 'identity-bounce-1',
    remoteMtaIp: '198.51.100.7',
  },
  mail: mail(['ana@example.org'], false),
};

export const identityComplaint = {
  notificationType: 'Complaint',
  complaint: {
    complainedRecipients: [{ emailAddress: 'ana@example.org' }],
    timestamp: '2026-12-06T12:00:00.000Z',
    feedbackId: 'identity-complaint-1',
    complaintSubType: 'OnAccountSuppressionList',
  },
  mail: mail(['ana@example.org'], false),
};

export const identityDelivery = {
  notificationType: 'Delivery',
  delivery: {
    timestamp: '2026-12-06T10:00:02.000Z',
    processingTimeMillis: 2000,
    recipients: ['ana@example.org'],
    smtpResponse: '250 ok',
    reportingMTA: 'a8-1.smtp-out.amazonses.com',
  },
  mail: mail(['ana@example.org'], false),
};
