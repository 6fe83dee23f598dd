import { UsageError } from './exit-codes.js';

/**
 * A value of one CSV row that cannot go where a template puts it. It names the columns at fault;
 * the bulk command adds the row number and turns it into an `invalid-message` error.
 */
export class CellError extends Error {
  override readonly name = 'CellError';
  /** The columns whose values caused it (empty when no single column can be blamed). */
  readonly columns: readonly string[];

  constructor(columns: readonly string[], message: string) {
    super(message);
    this.columns = columns;
  }
}

/** A piece of a compiled template: literal text, or the value of a column (by its index in the row). */
export type TemplatePart = { readonly text: string } | { readonly column: string; readonly index: number; readonly raw: boolean };

/** A text with `{{column}}` placeholders, compiled once for every row. */
export interface RowTemplate {
  /** The flag it came from, for messages (`--subject`). */
  readonly flag: string;
  /** The columns it uses, each once. */
  readonly columns: readonly string[];
  render(values: readonly string[]): string;
}

const placeholder = /\{\{(\{)?\s*([^{}]*?)\s*\}\}(\})?/g;

/**
 * Splits `source` into literal text and placeholders, checking every placeholder against the
 * CSV's columns. A usage error (before anything is sent) for an unknown column, an empty
 * `{{}}` or unbalanced braces.
 */
export function templateParts(source: string, options: { readonly columns: readonly string[]; readonly flag: string }): TemplatePart[] {
  const parts: TemplatePart[] = [];
  let last = 0;
  for (const match of source.matchAll(placeholder)) {
    const column = match[2] as string;
    if ((match[1] === '{') !== (match[3] === '}'))
      throw new UsageError(`${options.flag}: unbalanced braces in ${JSON.stringify(match[0])}`);
    if (column === '') throw new UsageError(`${options.flag}: ${JSON.stringify(match[0])} names no column`);
    const index = options.columns.indexOf(column);
    if (index === -1) {
      throw new UsageError(`${options.flag} uses {{${column}}}, but the CSV has no such column (it has: ${options.columns.join(', ')})`);
    }
    if (match.index > last) parts.push({ text: source.slice(last, match.index) });
    parts.push({ column, index, raw: match[1] === '{' });
    last = match.index + match[0].length;
  }
  if (last < source.length) parts.push({ text: source.slice(last) });
  return parts;
}

/** The distinct columns a list of parts uses. */
export function partColumns(parts: readonly TemplatePart[]): string[] {
  return [...new Set(parts.flatMap((part) => ('column' in part ? [part.column] : [])))];
}

/**
 * Compiles a template. `{{name}}` is the row's `name` column; in an HTML template it is
 * HTML-escaped, and `{{{name}}}` inserts it as is. Fails (usage error) when a column is not in
 * `columns`, before any message is sent.
 */
export function compileTemplate(
  source: string,
  options: { readonly html: boolean; readonly columns: readonly string[]; readonly flag: string },
): RowTemplate {
  const parts = templateParts(source, options);
  return {
    flag: options.flag,
    columns: partColumns(parts),
    render: (values) => {
      let text = '';
      for (const part of parts) {
        if ('text' in part) text += part.text;
        else {
          const value = values[part.index] ?? '';
          text += options.html && !part.raw ? escapeHtml(value) : value;
        }
      }
      return text;
    },
  };
}

/** A custom header whose value is a template; its name is fixed. */
export interface HeaderTemplate {
  readonly name: string;
  readonly value: RowTemplate;
}

/**
 * Compiles `--header "Name: value"` flags: the value may use `{{column}}`, the name may not
 * (a header name that changes per row is a mistake waiting to happen).
 */
export function compileHeaderTemplates(headers: readonly string[], columns: readonly string[]): HeaderTemplate[] {
  return headers.map((header) => {
    const colon = header.indexOf(':');
    if (colon <= 0) throw new UsageError(`--header needs "Name: value", got ${JSON.stringify(header)}`);
    const name = header.slice(0, colon).trim();
    if (name.includes('{{')) throw new UsageError(`--header ${JSON.stringify(header)}: only the value may use {{column}}, not the name`);
    return { name, value: compileTemplate(header.slice(colon + 1).trim(), { html: false, columns, flag: `--header ${name}` }) };
  });
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[char] as string);
}
