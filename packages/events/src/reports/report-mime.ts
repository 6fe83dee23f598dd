/**
 * MIME through mailparser, bounded: the parts a report is made of (`message/delivery-status`,
 * `message/feedback-report`, the returned message or its headers) collected as bytes, every other
 * part drained and dropped, and the whole parse abandoned past a time bound.
 */
import { type HeaderValue, MailParser } from 'mailparser';

/** A part a report is made of, decoded from its transfer encoding. */
export interface ReportPart {
  /** Lower-cased MIME type. */
  readonly contentType: string;
  /** The bytes as text (UTF-8, invalid bytes replaced), at most the cap for its type. */
  readonly text: string;
  readonly truncated: boolean;
}

/** What the MIME parse found. */
export interface ParsedMime {
  /** The top-level headers, lower-cased names (mailparser's structured values). */
  readonly headers: ReadonlyMap<string, HeaderValue>;
  /** The top-level message's raw header lines, for headers mailparser structures too eagerly. */
  readonly headerLines: readonly { readonly key: string; readonly line: string }[];
  /** The plain-text body (every text/plain part and, when there is none, HTML with its tags dropped). */
  readonly text: string;
  readonly parts: readonly ReportPart[];
  /** Set when the parse did not finish: the reason, for a warning. */
  readonly failure: string | undefined;
}

/** The parts a report is made of, with how many bytes of each are kept. */
const keptParts: ReadonlyMap<string, number> = new Map([
  ['message/delivery-status', 262_144],
  ['message/global-delivery-status', 262_144],
  ['message/feedback-report', 65_536],
  // The returned message: only its header block is read.
  ['message/rfc822', 131_072],
  ['message/global', 131_072],
  ['text/rfc822-headers', 131_072],
  ['message/rfc822-headers', 131_072],
  ['message/global-headers', 131_072],
]);

const maxParts = 2_000;
const maxText = 1_048_576;

/** Parses `bytes` with mailparser; never rejects. */
export function parseMime(bytes: Buffer, timeoutMs: number): Promise<ParsedMime> {
  return new Promise((resolve) => {
    let headers: ReadonlyMap<string, HeaderValue> = new Map();
    let headerLines: readonly { key: string; line: string }[] = [];
    let text = '';
    let html = '';
    const parts: ReportPart[] = [];
    let settled = false;
    let parser: MailParser | undefined;

    const finish = (failure: string | undefined): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (failure !== undefined) {
        try {
          parser?.destroy();
        } catch {
          // Already torn down.
        }
      }
      const body = text !== '' ? text : stripTags(html);
      resolve({ headers, headerLines, text: body.slice(0, maxText), parts, failure });
    };
    const timer = setTimeout(() => finish(`the MIME parse took longer than ${timeoutMs} ms and was abandoned`), timeoutMs);

    try {
      parser = new MailParser({
        // Report parts arrive as attachments, not folded into the text.
        keepDeliveryStatus: true,
        // A returned message is one part: its insides are not parsed (only its headers are read).
        ignoreEmbedded: true,
        skipHtmlToText: true,
        skipTextToHtml: true,
        skipTextLinks: true,
        skipImageLinks: true,
        maxHtmlLengthToParse: 1_048_576,
        // @zone-eu/mailsplit limits, passed through by mailparser.
        maxChildNodes: maxParts,
        maxHeadSize: 1_048_576,
      } as ConstructorParameters<typeof MailParser>[0]);
    } catch (error) {
      finish(`the MIME parser could not start: ${describe(error)}`);
      return;
    }
    const active = parser;

    active.on('headers', (value: ReadonlyMap<string, HeaderValue>) => {
      headers = value;
    });
    active.on('headerLines', (value: { key: string; line: string }[]) => {
      headerLines = value;
    });
    active.on('error', (error: unknown) => finish(`the MIME parse failed: ${describe(error)}`));
    active.on('data', (data: MailParserData) => {
      if (data.type === 'text') {
        if (typeof data.text === 'string') text = data.text;
        if (typeof data.html === 'string') html = data.html;
        return;
      }
      const type = String(data.contentType ?? '').toLowerCase();
      const cap = keptParts.get(type);
      const chunks: Buffer[] = [];
      let length = 0;
      let truncated = false;
      data.content.on('data', (chunk: Buffer) => {
        if (cap === undefined) return;
        if (length + chunk.length > cap) {
          truncated = true;
          if (length < cap) {
            chunks.push(chunk.subarray(0, cap - length));
            length = cap;
          }
          return;
        }
        chunks.push(chunk);
        length += chunk.length;
      });
      data.content.on('end', () => {
        if (cap !== undefined && parts.length < maxParts) {
          parts.push({ contentType: type, text: Buffer.concat(chunks, length).toString('utf8'), truncated });
        }
        if (typeof data.release === 'function') data.release();
      });
      data.content.on('error', () => {
        if (typeof data.release === 'function') data.release();
      });
    });
    active.on('end', () => {
      // Past @zone-eu/mailsplit's limits mailparser stops and ends without an 'error' event; it
      // only sets `hasFailed`. What follows the limit was never seen, so the parse is not believed.
      const stopped = (active as unknown as { hasFailed?: unknown }).hasFailed === true;
      finish(stopped ? `the MIME parse stopped at a limit (more than ${maxParts} child nodes, or a part's headers over 1 MB)` : undefined);
    });

    // Written in slices so a time bound can fire between them.
    const slice = 65_536;
    let offset = 0;
    const write = (): void => {
      if (settled) return;
      try {
        while (offset < bytes.length) {
          const chunk = bytes.subarray(offset, offset + slice);
          offset += chunk.length;
          if (!active.write(chunk)) {
            active.once('drain', write);
            return;
          }
        }
        active.end();
      } catch (error) {
        finish(`the MIME parse failed: ${describe(error)}`);
      }
    };
    write();
  });
}

/** What mailparser emits as `data`. */
type MailParserData =
  | { type: 'text'; text?: string; html?: string | false }
  | {
      type: 'attachment';
      contentType?: string;
      content: NodeJS.ReadableStream;
      release: (() => void) | null;
    };

/** HTML to rough text for heuristics: tags dropped, entities for `<`, `>`, `&` and spaces decoded. */
export function stripTags(html: string): string {
  if (html === '') return '';
  return replaceTags(replaceTags(html.slice(0, maxText), blockTag, 200, '\n'), /^/, 2_000, '')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&nbsp;/g, ' ')
    .replace(/&amp;/g, '&');
}

/** The tags that end a line of text: `<br>`, `</p>`, `</div>`, `</tr>`, `</h1>`... */
const blockTag = /^(?:br|\/p|\/div|\/tr|\/h\d)/i;

/**
 * `text.replace(/<OPENING[^>]{0,max}>/g, by)` in linear time, where `opening` matches what follows
 * the `<`. A tag ends at the first `>` after its `<`, so only the last `max` or so characters
 * before each `>` can open one; the regular expression scanned up to `max` characters on from
 * every `<` (a megabyte of `<` took seconds).
 */
function replaceTags(text: string, opening: RegExp, max: number, by: string): string {
  const segments = text.split('>');
  const out: string[] = [];
  for (let index = 0; index < segments.length - 1; index++) {
    const segment = segments[index] ?? '';
    // The leftmost `<` whose tag fits in `max` after its opening (at most 4 characters).
    let at = segment.indexOf('<', Math.max(0, segment.length - max - 5));
    for (; at >= 0; at = segment.indexOf('<', at + 1)) {
      const found = opening.exec(segment.slice(at + 1, at + 5))?.[0];
      if (found !== undefined && segment.length - at - 1 - found.length <= max) break;
    }
    out.push(at >= 0 ? `${segment.slice(0, at)}${by}` : `${segment}>`);
  }
  out.push(segments.at(-1) ?? '');
  return out.join('');
}

function describe(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.slice(0, 200);
}
