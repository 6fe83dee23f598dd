/**
 * What goes on the wire, without a server: the request builder is pure, so its output is pinned
 * with an inline snapshot. A change to the request shows up here as a diff to review.
 */
import { createMessage } from '@mailport/core';
import { httpResponse } from '@mailport/core/http';
import { describe, expect, it } from 'vitest';
import { postboxFailureOf, postboxSendRequest } from './postbox-request.ts';

const endpoint = new URL('https://api.postbox.example/');

describe('postboxSendRequest', () => {
  it('posts the envelope, Bcc included, beside the rendered MIME', () => {
    const message = createMessage({
      from: 'Shop <orders@shop.example>',
      to: 'Ana <ana@example.org>',
      bcc: 'audit@shop.example',
      subject: 'Your order',
      text: 'Shipped.',
      tags: ['orders'],
    });
    // The rendering itself is core's (and tested there); a stand-in keeps the snapshot short.
    const request = postboxSendRequest(endpoint, message, Buffer.from('Subject: Your order\r\n\r\nShipped.\r\n'));
    expect({ ...request, body: JSON.parse(request.body as string) }).toMatchInlineSnapshot(`
      {
        "body": {
          "from": "orders@shop.example",
          "raw": "U3ViamVjdDogWW91ciBvcmRlcg0KDQpTaGlwcGVkLg0K",
          "tags": [
            "orders",
          ],
          "to": [
            "ana@example.org",
            "audit@shop.example",
          ],
        },
        "headers": {
          "accept": "application/json",
          "content-type": "application/json",
        },
        "method": "POST",
        "url": "https://api.postbox.example/v1/messages",
      }
    `);
  });
});

describe('postboxFailureOf', () => {
  it("reads Postbox's error body and Retry-After, and copes with a proxy's HTML page", () => {
    const body = Buffer.from(JSON.stringify({ error: { code: 'rate_limited', message: 'Slow down' } }));
    expect(postboxFailureOf(httpResponse(429, { 'retry-after': '2' }, body))).toMatchInlineSnapshot(`
      {
        "code": "rate_limited",
        "message": "Slow down",
        "recipients": undefined,
        "retryAfter": "2",
        "status": 429,
      }
    `);
    expect(postboxFailureOf(httpResponse(502, {}, Buffer.from('<html>Bad gateway</html>')))).toMatchInlineSnapshot(`
      {
        "code": undefined,
        "message": "HTTP 502",
        "recipients": undefined,
        "retryAfter": undefined,
        "status": 502,
      }
    `);
  });
});
