import { UsageError } from './exit-codes.js';

/** A text with `{{column}}` placeholders, compiled once for every row. */
export interface RowTemplate {
  /** The columns it uses. */
  readonly columns: readonly string[];
  render(row: Readonly<Record<string, string>>): string;
}

const placeholder = /\{\{(\{)?\s*([^{}]+?)\s*\}\}(\})?/g;

/**
 * Compiles a template. `{{name}}` is the row's `name` column; in an HTML template it is
 * HTML-escaped, and `{{{name}}}` inserts it as is. Fails (usage error) when a column is not in
 * `available`, before any message is sent.
 */
export function compileTemplate(source: string, options: { html: boolean; available: readonly string[]; flag: string }): RowTemplate {
  const parts: ({ text: string } | { column: string; raw: boolean })[] = [];
  let last = 0;
  for (const match of source.matchAll(placeholder)) {
    const column = match[2] as string;
    const raw = match[1] === '{' && match[3] === '}';
    if ((match[1] === '{') !== (match[3] === '}'))
      throw new UsageError(`${options.flag}: unbalanced braces in ${JSON.stringify(match[0])}`);
    if (!options.available.includes(column)) {
      throw new UsageError(`${options.flag} uses {{${column}}}, but the CSV has no such column (it has: ${options.available.join(', ')})`);
    }
    parts.push({ text: source.slice(last, match.index) }, { column, raw });
    last = match.index + match[0].length;
  }
  parts.push({ text: source.slice(last) });
  const columns = [...new Set(parts.flatMap((part) => ('column' in part ? [part.column] : [])))];
  return {
    columns,
    render: (row) =>
      parts
        .map((part) => {
          if ('text' in part) return part.text;
          const value = row[part.column] ?? '';
          return options.html && !part.raw ? escapeHtml(value) : value;
        })
        .join(''),
  };
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[char] as string);
}
