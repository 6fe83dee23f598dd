// Reading SES v2 request bodies: JSON shapes, addresses, tags, headers and attachments, refused as SES refuses them.
import addressparser from 'nodemailer/lib/addressparser';
import { type SesError, sesErrors } from './ses-errors.js';
import { sesMaxMessageBytes } from './ses-limits.js';
import type { ComposedAttachment, RawHeader } from './ses-mime.js';

// Headers SES sets itself for Simple and Template content, refused as custom headers (SES header-fields documentation).
const reservedHeaders = new Set([
  'bcc',
  'cc',
  'content-disposition',
  'content-type',
  'date',
  'from',
  'message-id',
  'mime-version',
  'reply-to',
  'return-path',
  'subject',
  'to',
]);

// Attachment extensions SES refuses (SES developer guide, "Unsupported attachment types").
const blockedExtensions = new Set(
  (
    'ade adp app asp bas bat cer chm cmd com cpl crt csh der exe fxp gadget hlp hta inf ins isp its js jse ksh lib lnk mad maf mag mam ' +
    'maq mar mas mat mau mav maw mda mdb mde mdt mdw mdz msc msh msh1 msh2 mshxml msh1xml msh2xml msi msp mst ops pcd pif plg prf prg ' +
    'reg scf scr sct shb shs sys ps1 ps1xml ps2 ps2xml psc1 psc2 tmp url vb vbe vbs vps vsmacros vss vst vsw vxd ws wsc wsf wsh xnk'
  ).split(' '),
);

// MessageTag: ASCII letters, digits, "_" and "-", at most 256 characters (API_MessageTag).
const tagPattern = /^[A-Za-z0-9_-]{1,256}$/;

/** A JSON object as SES's request bodies carry it. */
export type Json = Record<string, unknown>;

/** A MessageTag. */
export interface Tag {
  readonly Name: string;
  readonly Value: string;
}

/** A Destination, read. */
export interface Destination {
  readonly to: readonly string[];
  readonly cc: readonly string[];
  /** Plain addresses of To, Cc and Bcc, in that order. */
  readonly recipients: readonly string[];
}

/** SES's answer to a message over {@link sesMaxMessageBytes}. */
export function tooLong(length: number): SesError {
  return sesErrors.messageRejected(`Message length is more than ${sesMaxMessageBytes} bytes long: '${length}'.`);
}

/** The request body as a JSON object (an empty body is `{}`); anything else is a SerializationException. */
export function parseJson(body: Buffer): Json {
  if (body.length === 0) return {};
  try {
    const value: unknown = JSON.parse(body.toString('utf8'));
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Json;
  } catch {
    // Answered below.
  }
  throw sesErrors.serialization('The request body is not a JSON object.');
}

/** The object at `path`: missing is refused when `mandatory`, another type always. */
export function object(value: unknown, path: string, mandatory: true): Json;
export function object(value: unknown, path: string, mandatory: false): Json | undefined;
export function object(value: unknown, path: string, mandatory: boolean): Json | undefined {
  if (value === undefined || value === null) {
    if (mandatory) throw sesErrors.missing(path);
    return undefined;
  }
  if (typeof value !== 'object' || Array.isArray(value)) throw sesErrors.serialization(`Expected an object at '${path}'.`);
  return value as Json;
}

/** The string at `path`, or undefined when it is absent. */
export function string(value: unknown, path: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw sesErrors.serialization(`Expected a string at '${path}'.`);
  return value;
}

/** `value`, or the missing-parameter error for `path`. */
export function required<T>(value: T | undefined, path: string): T {
  if (value === undefined) throw sesErrors.missing(path);
  return value;
}

/** A list of strings at `path`; absent is empty. */
export function stringList(value: unknown, path: string): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw sesErrors.serialization(`Expected a list at '${path}'.`);
  return value.map((entry, index) => required(string(entry, `${path}.${index + 1}`), `${path}.${index + 1}`));
}

/** A base64 blob at `path`, decoded. */
export function blob(value: unknown, path: string): Buffer {
  const text = required(string(value, path), path);
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 === 1) throw sesErrors.serialization(`Invalid base64 at '${path}'.`);
  return Buffer.from(text, 'base64');
}

/** Refuses an address SES cannot send to. SES does not support SMTPUTF8: local parts are 7-bit ASCII, domains in punycode (API_Destination). */
export function checkAddress(address: string): void {
  const at = address.lastIndexOf('@');
  const local = address.slice(0, at);
  const domain = address.slice(at + 1);
  const validLocal = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/.test(local);
  const validDomain = /^([A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z0-9-]{2,}$/.test(domain) || /^\[[0-9.:A-Fa-f]+\]$/.test(domain);
  if (at < 1 || !validLocal || !validDomain) throw sesErrors.badRequest(`Illegal address: ${address}`);
}

/** The one address in `value` (a display name is allowed), checked. */
export function singleAddress(value: string, what: string): string {
  const parsed = addressparser(value, { flatten: true });
  if (parsed.length !== 1 || !parsed[0]?.address) throw sesErrors.badRequest(`Illegal address in ${what}: ${value}`);
  checkAddress(parsed[0].address);
  return parsed[0].address;
}

/** ToAddresses, CcAddresses and BccAddresses, each address checked. */
export function readDestination(value: unknown, mandatory: boolean): Destination {
  const destination = mandatory ? object(value, 'destination', true) : (object(value, 'destination', false) ?? {});
  const to = stringList(destination.ToAddresses, 'destination.toAddresses');
  const cc = stringList(destination.CcAddresses, 'destination.ccAddresses');
  const bcc = stringList(destination.BccAddresses, 'destination.bccAddresses');
  const recipients = [...to, ...cc, ...bcc].map((entry) => singleAddress(entry, 'Destination'));
  return { to, cc, recipients };
}

/** EmailTags (or ReplacementTags): names and values checked, no name twice. */
export function readTags(value: unknown, path: string): Tag[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw sesErrors.serialization(`Expected a list at '${path}'.`);
  const seen = new Set<string>();
  return value.map((entry, index) => {
    const tag = object(entry, `${path}.${index + 1}`, true);
    const name = required(string(tag.Name, `${path}.${index + 1}.name`), `${path}.${index + 1}.name`);
    const tagValue = required(string(tag.Value, `${path}.${index + 1}.value`), `${path}.${index + 1}.value`);
    if (!tagPattern.test(name)) {
      throw sesErrors.badRequest(
        `Invalid tag name <${name}>: only ASCII letters, numbers, underscores and dashes, at most 256 characters.`,
      );
    }
    if (!tagPattern.test(tagValue)) {
      throw sesErrors.badRequest(
        `Invalid tag value <${tagValue}>: only ASCII letters, numbers, underscores and dashes, at most 256 characters.`,
      );
    }
    if (seen.has(name)) throw sesErrors.badRequest(`Duplicate tag name <${name}>.`);
    seen.add(name);
    return { Name: name, Value: tagValue };
  });
}

/** Default tags overridden by replacements of the same name. */
export function mergeTags(defaults: readonly Tag[], replacements: readonly Tag[]): Tag[] {
  const names = new Set(replacements.map((tag) => tag.Name));
  return [...defaults.filter((tag) => !names.has(tag.Name)), ...replacements];
}

/** ListManagementOptions: when present, ContactListName is required. */
export function readListManagement(value: unknown): void {
  const options = object(value, 'listManagementOptions', false);
  if (options !== undefined)
    required(string(options.ContactListName, 'listManagementOptions.contactListName'), 'listManagementOptions.contactListName');
}

/**
 * Custom headers of Simple or Template content. MessageHeader: name of printable ASCII without ":" up to 126 characters,
 * value of printable ASCII up to 995, both up to 996 (API_MessageHeader); headers SES sets itself are refused.
 */
export function readHeaders(value: unknown, path: string): RawHeader[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw sesErrors.serialization(`Expected a list at '${path}'.`);
  return value.map((entry, index) => {
    const header = object(entry, `${path}.${index + 1}`, true);
    const name = required(string(header.Name, `${path}.${index + 1}.name`), `${path}.${index + 1}.name`);
    const headerValue = required(string(header.Value, `${path}.${index + 1}.value`), `${path}.${index + 1}.value`);
    if (!/^[\x21-\x39\x3b-\x7e]{1,126}$/.test(name)) throw sesErrors.badRequest(`Invalid header name: ${name}`);
    if (!/^[\x20-\x7e]{0,995}$/.test(headerValue) || name.length + headerValue.length > 996) {
      throw sesErrors.badRequest(`Invalid value for header ${name}: printable ASCII only, at most 995 characters.`);
    }
    if (reservedHeaders.has(name.toLowerCase())) throw sesErrors.badRequest(`Header ${name} is set by SES and cannot be a custom header.`);
    return { name, value: headerValue };
  });
}

/** Default headers overridden by replacements of the same name (case-insensitive). */
export function mergeHeaders(defaults: readonly RawHeader[], replacements: readonly RawHeader[]): RawHeader[] {
  const names = new Set(replacements.map((header) => header.name.toLowerCase()));
  return [...defaults.filter((header) => !names.has(header.name.toLowerCase())), ...replacements];
}

/** Attachments of Simple or Template content: blocked file types, dispositions and encodings refused. */
export function readAttachments(value: unknown, path: string): ComposedAttachment[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw sesErrors.serialization(`Expected a list at '${path}'.`);
  return value.map((entry, index) => {
    const at = `${path}.${index + 1}`;
    const attachment = object(entry, at, true);
    const filename = required(string(attachment.FileName, `${at}.fileName`), `${at}.fileName`);
    const extension = filename.includes('.') ? filename.slice(filename.lastIndexOf('.') + 1).toLowerCase() : '';
    if (blockedExtensions.has(extension)) throw sesErrors.messageRejected(`Attachment file type not supported: ${filename}`);
    const disposition = string(attachment.ContentDisposition, `${at}.contentDisposition`) ?? 'ATTACHMENT';
    if (disposition !== 'ATTACHMENT' && disposition !== 'INLINE') throw sesErrors.badRequest(`Invalid ContentDisposition: ${disposition}`);
    const encoding = string(attachment.ContentTransferEncoding, `${at}.contentTransferEncoding`);
    const encodings: Record<string, ComposedAttachment['transferEncoding']> = {
      BASE64: 'base64',
      QUOTED_PRINTABLE: 'quoted-printable',
      SEVEN_BIT: '7bit',
    };
    if (encoding !== undefined && !(encoding in encodings)) throw sesErrors.badRequest(`Invalid ContentTransferEncoding: ${encoding}`);
    return {
      filename,
      content: blob(attachment.RawContent, `${at}.rawContent`),
      contentType: string(attachment.ContentType, `${at}.contentType`),
      disposition: disposition === 'INLINE' ? 'inline' : 'attachment',
      contentId: string(attachment.ContentId, `${at}.contentId`),
      description: string(attachment.ContentDescription, `${at}.contentDescription`),
      // SES's default is SEVEN_BIT (API_Attachment); base64 is what binary content needs to survive, so keep MailComposer's choice then.
      transferEncoding: encoding === undefined ? undefined : encodings[encoding],
    };
  });
}

/** `values` without repeats, in first-seen order. */
export function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}
