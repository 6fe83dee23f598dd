/**
 * A Cloudflare Worker around send.ts, for runtimes.test.ts: wrangler bundles it (export conditions
 * `workerd`, `worker`, `browser`), Miniflare runs it in workerd, and each POST is one send.
 */
import { sendOnce } from './send.js';

export default {
  async fetch(request: Request): Promise<Response> {
    const job = (await request.json()) as Parameters<typeof sendOnce>[0];
    return Response.json(await sendOnce(job));
  },
};
