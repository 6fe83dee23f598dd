import { createHash, type Hash } from 'node:crypto';

// RFC 6376 3.4: the "relaxed" canonicalisations, for header fields and (streaming) for the body.

const space = 0x20;
const tab = 0x09;
const cr = 0x0d;
const lf = 0x0a;
const crlf = Buffer.from('\r\n');
const singleSpace = Buffer.from(' ');
const carriageReturn = Buffer.from('\r');

/** One header field as written: its name, and the whole field (name, colon, value, folds) without the final CRLF. */
export interface HeaderField {
  readonly name: string;
  readonly text: string;
}

/**
 * A header field in relaxed canonical form (RFC 6376 3.4.2), with its CRLF: the name lower-cased,
 * folds removed, runs of spaces and tabs made one space, and none at the end of the value or
 * around the colon. `text` is the field as written, as latin1 so that every byte survives.
 *
 * @example
 * ```ts
 * relaxedHeader('Subject :  Is dinner\r\n ready? '); // 'subject:Is dinner ready?\r\n'
 * ```
 */
export function relaxedHeader(text: string): string {
  const colon = text.indexOf(':');
  const name = text
    .slice(0, colon)
    .replace(/[ \t]+$/, '')
    .toLowerCase();
  const value = text
    .slice(colon + 1)
    .replace(/\r\n/g, '')
    .replace(/[ \t]+/g, ' ')
    .replace(/^ | $/g, '');
  return `${name}:${value}\r\n`;
}

/**
 * Splits a header section (as latin1 text, ending before the blank line) into its fields.
 *
 * @example
 * ```ts
 * headerFields('From: a@x.example\r\nSubject: a\r\n long one'); // [{ name: 'from', ... }, { name: 'subject', text: 'Subject: a\r\n long one' }]
 * ```
 */
export function headerFields(section: string): HeaderField[] {
  const fields: HeaderField[] = [];
  for (const line of section.split('\r\n')) {
    if (line === '') continue;
    const first = line.charCodeAt(0);
    const last = fields.at(-1);
    if ((first === space || first === tab) && last !== undefined) {
      fields[fields.length - 1] = { name: last.name, text: `${last.text}\r\n${line}` };
      continue;
    }
    const colon = line.indexOf(':');
    // A line that is no field and continues none is not signed (verifiers skip it too).
    if (colon <= 0) continue;
    fields.push({
      name: line
        .slice(0, colon)
        .replace(/[ \t]+$/, '')
        .toLowerCase(),
      text: line,
    });
  }
  return fields;
}

/**
 * The SHA-256 of a body in relaxed canonical form (RFC 6376 3.4.4), fed chunk by chunk: spaces and
 * tabs at the end of a line dropped, runs of them inside a line made one space, empty lines at the
 * end dropped, and a final CRLF added to a body that has text. Unchanged bytes are hashed where
 * they lie (a slice, no copy), so a 40 MB body is read once and never held.
 *
 * @example
 * ```ts
 * const hash = new RelaxedBodyHash();
 * for (const chunk of bodyChunks) hash.update(chunk);
 * hash.digest().toString('base64');
 * ```
 */
export class RelaxedBodyHash {
  readonly #hash: Hash = createHash('sha256');
  /** Line breaks seen after the last text, not hashed yet: they go if only empty lines follow. */
  #pendingLineBreaks = 0;
  /** Spaces or tabs seen in the current line, not hashed yet: one space if text follows, nothing if the line ends. */
  #pendingSpace = false;
  /** The last chunk ended in CR: whether it ends a line depends on the next byte. */
  #pendingCr = false;
  /** Text hashed in the current line. */
  #lineHasText = false;

  update(chunk: Uint8Array): void {
    const length = chunk.length;
    if (length === 0) return;
    let index = 0;
    if (this.#pendingCr) {
      this.#pendingCr = false;
      if (chunk[0] === lf) {
        this.#lineBreak();
        if (this.#lineHasText) this.#hash.update(crlf);
        this.#lineHasText = false;
        index = 1;
      } else {
        this.#flushPending();
        this.#hash.update(carriageReturn);
        this.#lineHasText = true;
      }
    }
    // Start of the bytes that go into the hash as they are, or -1.
    let run = -1;
    while (index < length) {
      const byte = chunk[index] as number;
      if (byte !== space && byte !== tab && byte !== cr) {
        if (run === -1) {
          this.#flushPending();
          run = index;
        }
        this.#lineHasText = true;
        index++;
        while (index < length) {
          const next = chunk[index] as number;
          if (next === space || next === tab || next === cr) break;
          index++;
        }
        continue;
      }
      if (byte === cr) {
        if (index + 1 === length) {
          if (run !== -1) this.#hash.update(chunk.subarray(run, index));
          this.#pendingCr = true;
          return;
        }
        if (chunk[index + 1] !== lf) {
          // A CR that ends no line is text.
          if (run === -1) {
            this.#flushPending();
            run = index;
          }
          this.#lineHasText = true;
          index++;
          continue;
        }
        if (this.#lineHasText) {
          // The line break after text is always in the output: text follows it, or it is the last one.
          this.#pendingSpace = false;
          if (run === -1) run = index;
        } else {
          if (run !== -1) this.#hash.update(chunk.subarray(run, index));
          run = -1;
          this.#lineBreak();
        }
        this.#lineHasText = false;
        index += 2;
        continue;
      }
      // One space between two pieces of text stays as it is, within the run.
      if (byte === space && run !== -1 && index + 1 < length && isText(chunk[index + 1] as number)) {
        index++;
        continue;
      }
      if (run !== -1) this.#hash.update(chunk.subarray(run, index));
      run = -1;
      this.#pendingSpace = true;
      index++;
    }
    if (run !== -1) this.#hash.update(chunk.subarray(run, length));
  }

  /** The body hash; the object cannot be used afterwards. */
  digest(): Buffer {
    if (this.#pendingCr) {
      this.#pendingCr = false;
      this.#flushPending();
      this.#hash.update(carriageReturn);
      this.#lineHasText = true;
    }
    if (this.#lineHasText) this.#hash.update(crlf);
    return this.#hash.digest();
  }

  /** An empty line (or one of spaces only) ended: its break waits for text to follow. */
  #lineBreak(): void {
    this.#pendingSpace = false;
    if (!this.#lineHasText) this.#pendingLineBreaks++;
  }

  #flushPending(): void {
    for (; this.#pendingLineBreaks > 0; this.#pendingLineBreaks--) this.#hash.update(crlf);
    if (this.#pendingSpace) this.#hash.update(singleSpace);
    this.#pendingSpace = false;
  }
}

function isText(byte: number): boolean {
  return byte !== space && byte !== tab && byte !== cr && byte !== lf;
}
