import { randomUUID } from 'node:crypto';
import { type Emulator, escapeMarkup, type HttpRequest, type HttpResponse } from '../../http.js';
import type { SnsHub } from './sns-publisher.js';
import { snsSigningIdentity } from './sns-signing.js';

const xmlns = 'http://sns.amazonaws.com/doc/2010-03-31/';

/** SNS's XML error document (Query API). */
function snsError(status: number, code: string, message: string): HttpResponse {
  return {
    status,
    headers: { 'content-type': 'text/xml' },
    body:
      `<ErrorResponse xmlns="${xmlns}"><Error><Type>Sender</Type><Code>${escapeMarkup(code)}</Code>` +
      `<Message>${escapeMarkup(message)}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`,
  };
}

function parameter(request: HttpRequest, name: string): string | undefined {
  return request.url.searchParams.get(name) ?? undefined;
}

/**
 * The SNS URLs an SNS message points at: the signing certificate (`SigningCertURL`), and the
 * `SubscribeURL` and `UnsubscribeURL` (`/sns/confirm`, `/sns/unsubscribe`), answered with SNS's
 * XML. Plain `api` routes: the application's webhook fetches them like any SNS client.
 */
export function createSnsEmulator(hub: SnsHub): Emulator {
  return {
    name: 'sns',
    routes: [
      {
        method: 'GET',
        path: hub.certificatePath,
        maxBodyBytes: 0,
        handle: async () => ({
          status: 200,
          headers: { 'content-type': 'application/x-x509-ca-cert', 'cache-control': 'max-age=86400' },
          body: (await snsSigningIdentity()).cert,
        }),
      },
      {
        method: 'GET',
        path: '/sns/confirm',
        maxBodyBytes: 0,
        handle: (request) => {
          const topicArn = parameter(request, 'TopicArn');
          const token = parameter(request, 'Token');
          if (parameter(request, 'Action') !== 'ConfirmSubscription')
            return snsError(400, 'InvalidAction', 'Action must be ConfirmSubscription.');
          if (topicArn === undefined || token === undefined) return snsError(400, 'ValidationError', 'TopicArn and Token are required.');
          const arn = hub.confirm(topicArn, token);
          if (arn === undefined) return snsError(400, 'InvalidParameter', 'Invalid parameter: Token');
          return {
            status: 200,
            headers: { 'content-type': 'text/xml' },
            body:
              `<ConfirmSubscriptionResponse xmlns="${xmlns}"><ConfirmSubscriptionResult><SubscriptionArn>${escapeMarkup(arn)}` +
              `</SubscriptionArn></ConfirmSubscriptionResult><ResponseMetadata><RequestId>${randomUUID()}</RequestId>` +
              `</ResponseMetadata></ConfirmSubscriptionResponse>`,
          };
        },
      },
      {
        method: 'GET',
        path: '/sns/unsubscribe',
        maxBodyBytes: 0,
        handle: (request) => {
          const arn = parameter(request, 'SubscriptionArn');
          if (parameter(request, 'Action') !== 'Unsubscribe') return snsError(400, 'InvalidAction', 'Action must be Unsubscribe.');
          if (arn === undefined || !hub.unsubscribe(arn)) return snsError(404, 'NotFound', 'Subscription does not exist.');
          return {
            status: 200,
            headers: { 'content-type': 'text/xml' },
            body: `<UnsubscribeResponse xmlns="${xmlns}"><ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></UnsubscribeResponse>`,
          };
        },
      },
    ],
    errorResponse: (fault) => snsError(fault.status, fault.code ?? 'InternalError', fault.message ?? 'Injected fault.'),
    tooLarge: () => snsError(413, 'RequestEntityTooLarge', 'These SNS URLs take no body.'),
  };
}
