import { Transform, type TransformCallback } from 'node:stream';

/** Where the bytes of a CSV file stopped being text in its encoding. */
export interface DecodeFailure {
  /** The encoding it was read in (`utf-8`, `windows-1252`, ...). */
  readonly encoding: string;
  /** 1-based line of the file. */
  readonly line: number;
  /** `invalid`: bytes that are not text in the encoding; `too-long`: a line longer than {@link maxLineBytes}. */
  readonly reason: 'invalid' | 'too-long';
  /** 0-based offset in the file of the first byte that could not be decoded: exact for UTF-8, the nearest the decoder tells for others. */
  readonly byte: number;
  /** Up to four bytes from there, in hex (`e9 2c`), to recognise the encoding by. */
  readonly bytes: string;
  /** The text of that line before the bad byte, to tell the column. */
  readonly linePrefix: string;
}

/** No line may be longer than this: beyond it the file is not a CSV file (or has no line breaks we know). */
export const maxLineBytes: number = 16 * 1024 * 1024;

/**
 * Bytes in, text out, for a CSV parser. It exists because TextDecoder alone cannot say where a
 * file went wrong, and a CSV parser fed a replacement character sends "Jos\uFFFD" to a customer.
 *
 * - Decodes with `TextDecoder` (`fatal: true`, streaming): any encoding Node's ICU knows, by its
 *   WHATWG label. A byte order mark wins over the label: EF BB BF is UTF-8, FF FE UTF-16LE, FE FF
 *   UTF-16BE (as browsers do). The mark is not passed on.
 * - Passes on whole lines only (up to the last CR or LF), keeping the start of the current line.
 *   So when a byte is not valid, the parser has seen every line before it and nothing of its
 *   line: no half row can reach a message. It then records {@link failure}, passes on nothing
 *   more and ends, and the reader reports the row and column.
 * - Knows exactly where: it keeps the bytes of the current line (a line starts at a character
 *   boundary in every encoding it handles), and on a failure decodes them again with a fresh
 *   decoder, searching for the first prefix that fails.
 *
 * Memory: one line (its bytes and its text), refused beyond {@link maxLineBytes}.
 */
export class CsvTextDecoder extends Transform {
  /** Set when the bytes stopped being text; the output then ends. */
  failure: DecodeFailure | undefined;
  /** Bytes read from the file so far, the byte order mark included. */
  bytesRead = 0;
  /** UTF-8 bytes of the text passed on so far, and the file bytes they came from: to convert between the two. */
  textBytes = 0;
  fileBytesPassed = 0;
  #label: string;
  #decoder: TextDecoder | undefined;
  #encoding: string;
  // Bytes read before the byte order mark could be told.
  #head: Buffer[] = [];
  // Byte offset in the file where the current line starts, and its 1-based number.
  #lineStart = 0;
  #line = 1;
  // The bytes of the current line so far, and their text (without an unfinished character).
  #lineBytes: Buffer[] = [];
  #lineByteCount = 0;
  #lineText = '';
  #endedWithCr = false;
  #stopped = false;

  /** Throws a RangeError for a label no decoder knows. */
  constructor(label = 'utf-8') {
    // Text goes out as UTF-8 bytes, which is what the CSV parser reads anyway.
    super({ decodeStrings: true });
    this.#label = label;
    this.#encoding = new TextDecoder(label).encoding;
  }

  /** The encoding in use: the label's, or the byte order mark's once the file starts. */
  get encoding(): string {
    return this.#encoding;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytesRead += chunk.length;
    if (this.#stopped) {
      // After a failure the rest of the file is not text to pass on.
    } else if (this.#decoder === undefined) {
      this.#head.push(chunk);
      const head = Buffer.concat(this.#head);
      if (head.length >= 3) {
        this.#head = [];
        this.#start(head);
      }
    } else this.#take(chunk);
    callback();
  }

  override _flush(callback: TransformCallback): void {
    if (this.#decoder === undefined) this.#start(Buffer.concat(this.#head));
    if (!this.#stopped) {
      const decoder = this.#decoder as TextDecoder;
      let rest: string;
      try {
        rest = decoder.decode();
      } catch {
        // The file ends inside a character.
        this.#fail(Buffer.alloc(0), this.#lineByteCount + 1);
        callback();
        return;
      }
      const text = this.#lineText + rest;
      if (text !== '') this.#pass(text, this.#lineByteCount);
      this.#lineText = '';
    }
    callback();
  }

  #start(head: Buffer): void {
    let skip = 0;
    let encoding = this.#label;
    if (head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) [encoding, skip] = ['utf-8', 3];
    else if (head[0] === 0xff && head[1] === 0xfe) [encoding, skip] = ['utf-16le', 2];
    else if (head[0] === 0xfe && head[1] === 0xff) [encoding, skip] = ['utf-16be', 2];
    this.#decoder = new TextDecoder(encoding, { fatal: true, ignoreBOM: true });
    this.#encoding = this.#decoder.encoding;
    this.#lineStart = skip;
    if (head.length > skip) this.#take(head.subarray(skip));
  }

  #take(chunk: Buffer): void {
    let text: string;
    try {
      text = (this.#decoder as TextDecoder).decode(chunk, { stream: true });
    } catch {
      this.#fail(chunk);
      return;
    }
    const cut = this.#lastBreak(chunk);
    if (cut === -1) {
      this.#lineBytes.push(chunk);
      this.#lineByteCount += chunk.length;
      this.#lineText += text;
      if (this.#lineByteCount > maxLineBytes) this.#tooLong();
      return;
    }
    // Line breaks are whole characters, so the text splits where the bytes do.
    const textCut = Math.max(text.lastIndexOf('\n'), text.lastIndexOf('\r')) + 1;
    const lines = this.#lineText + text.slice(0, textCut);
    this.#count(lines);
    this.#pass(lines, this.#lineByteCount + cut);
    this.#lineStart += this.#lineByteCount + cut;
    this.#lineBytes = cut < chunk.length ? [chunk.subarray(cut)] : [];
    this.#lineByteCount = chunk.length - cut;
    this.#lineText = text.slice(textCut);
  }

  /** The offset just after the last CR or LF in `chunk`, or -1. */
  #lastBreak(chunk: Buffer): number {
    if (!this.#encoding.startsWith('utf-16')) {
      // In ASCII-compatible encodings (UTF-8, windows-125x, ISO 8859, Shift_JIS, GBK, ...) these bytes are never part of another character.
      const last = Math.max(chunk.lastIndexOf(0x0a), chunk.lastIndexOf(0x0d));
      return last === -1 ? -1 : last + 1;
    }
    // UTF-16: a CR or LF code unit. Code units start at even offsets of the file (a byte order mark is two bytes).
    const little = this.#encoding === 'utf-16le';
    const base = this.#lineStart + this.#lineByteCount;
    for (let index = chunk.length - 2; index >= 0; index--) {
      if ((base + index) % 2 !== 0) continue;
      const [low, high] = little ? [chunk[index], chunk[index + 1]] : [chunk[index + 1], chunk[index]];
      if (high === 0 && (low === 0x0a || low === 0x0d)) return index + 2;
    }
    return -1;
  }

  #pass(text: string, fileBytes: number): void {
    this.textBytes += Buffer.byteLength(text);
    this.fileBytesPassed += fileBytes;
    this.push(text);
  }

  /** Counts the lines `text` ends (CRLF, LF or a lone CR each end one). */
  #count(text: string): void {
    let from = 0;
    if (this.#endedWithCr && text.startsWith('\n')) from = 1;
    for (let index = from; index < text.length; index++) {
      const char = text.charCodeAt(index);
      if (char === 0x0a) this.#line++;
      else if (char === 0x0d) {
        this.#line++;
        if (text.charCodeAt(index + 1) === 0x0a) index++;
      }
    }
    this.#endedWithCr = text.endsWith('\r');
  }

  /**
   * `chunk` did not decode. Finds the first bad byte from the start of the current line, passes
   * on the whole lines before it, and ends the output.
   */
  #fail(chunk: Buffer, known?: number): void {
    const bytes = Buffer.concat([...this.#lineBytes, chunk]);
    const decode = (length: number): string =>
      new TextDecoder(this.#encoding, { fatal: true, ignoreBOM: true }).decode(bytes.subarray(0, length), { stream: true });
    const fails = (length: number): boolean => {
      try {
        decode(length);
        return false;
      } catch {
        return true;
      }
    };
    // The shortest prefix that fails; every longer one fails too.
    let failing = known ?? bytes.length;
    if (known === undefined) {
      let good = this.#lineByteCount;
      while (failing - good > 1) {
        const middle = Math.floor((good + failing) / 2);
        if (fails(middle)) failing = middle;
        else good = middle;
      }
    }
    const valid = decode(Math.min(failing - 1, bytes.length));
    const textCut = Math.max(valid.lastIndexOf('\n'), valid.lastIndexOf('\r')) + 1;
    const lines = valid.slice(0, textCut);
    const prefix = valid.slice(textCut);
    // UTF-8 text has one byte length; for other encodings, where the decoder noticed.
    const consumed = this.#encoding === 'utf-8' ? Buffer.byteLength(valid) : failing - 1;
    // Nothing of the current line was passed on yet, so `lines` goes out whole.
    if (lines !== '') {
      this.#count(lines);
      this.#pass(lines, consumed);
    }
    this.failure = {
      encoding: this.#encoding,
      reason: 'invalid',
      line: this.#line,
      byte: this.#lineStart + consumed,
      bytes: bytes
        .subarray(consumed, consumed + 4)
        .toString('hex')
        .replace(/(..)(?!$)/g, '$1 '),
      linePrefix: prefix,
    };
    this.#stop();
  }

  #tooLong(): void {
    this.failure = {
      encoding: this.#encoding,
      reason: 'too-long',
      line: this.#line,
      byte: this.#lineStart + maxLineBytes,
      bytes: '',
      linePrefix: '',
    };
    this.#stop();
  }

  #stop(): void {
    this.#stopped = true;
    this.#lineBytes = [];
    this.#lineText = '';
    this.push(null);
  }
}
