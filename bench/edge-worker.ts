/** A Cloudflare Worker around edge-sender.ts for `npm run bench -- edge`: each POST is one job. */
import { type EdgeJob, sendMany } from './edge-sender.ts';

export default {
  async fetch(request: Request): Promise<Response> {
    return Response.json(await sendMany((await request.json()) as EdgeJob));
  },
};
