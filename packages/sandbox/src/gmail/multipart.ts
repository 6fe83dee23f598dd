/** One part of a multipart body. */
export interface BodyPart {
  /** Header names in lower case. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
}

/** The boundary parameter of a `multipart/...` content type, or undefined. */
export function boundaryOf(contentType: string | undefined): string | undefined {
  const match = /;\s*boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType ?? '');
  return match === null ? undefined : (match[1] ?? match[2]);
}

/**
 * Splits a multipart body (RFC 2046) into its parts, as binary: the CRLF before each delimiter
 * belongs to the delimiter, so a part's own final line break is kept. Undefined when the body
 * does not follow the format (no closing delimiter, a part without a header section).
 */
export function parseMultipart(body: Buffer, boundary: string): BodyPart[] | undefined {
  const delimiter = Buffer.from(`--${boundary}`, 'latin1');
  const parts: BodyPart[] = [];
  let position = body.indexOf(delimiter);
  if (position === -1) return undefined;
  for (;;) {
    const afterDelimiter = position + delimiter.length;
    if (body.subarray(afterDelimiter, afterDelimiter + 2).toString('latin1') === '--') return parts;
    const lineEnd = body.indexOf('\r\n', afterDelimiter);
    if (lineEnd === -1) return undefined;
    const next = body.indexOf(Buffer.concat([Buffer.from('\r\n', 'latin1'), delimiter]), lineEnd);
    if (next === -1) return undefined;
    const part = body.subarray(lineEnd + 2, next);
    const headerEnd = part.indexOf('\r\n\r\n');
    const headerText = headerEnd === -1 ? '' : part.subarray(0, headerEnd).toString('latin1');
    if (headerEnd === -1 && !part.subarray(0, 2).equals(Buffer.from('\r\n', 'latin1'))) return undefined;
    const headers: Record<string, string> = {};
    for (const line of headerText.replace(/\r\n(?=[ \t])/g, '').split('\r\n')) {
      const colon = line.indexOf(':');
      if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    parts.push({ headers, body: headerEnd === -1 ? part.subarray(2) : part.subarray(headerEnd + 4) });
    position = next + 2;
  }
}
