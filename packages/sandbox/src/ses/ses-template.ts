/** A template's three parts, any of which may be missing. */
export interface TemplateParts {
  readonly subject?: string | undefined;
  readonly text?: string | undefined;
  readonly html?: string | undefined;
}

/** The rendered parts, or the first variable the data did not supply. */
export type RenderResult = { readonly ok: true; readonly parts: TemplateParts } | { readonly ok: false; readonly missing: string };

const placeholder = /\{\{\{?\s*([A-Za-z0-9_.-]+)\s*\}?\}\}/g;

/**
 * Replaces `{{name}}` (and `{{{name}}}`, `{{a.b}}`) with values from the template data. SES
 * supports "only simple substitutions" for inline template content (API_Template), so there
 * are no helpers, sections or escaping here. A variable the data lacks is a rendering failure:
 * SES accepts the message and then does not send it.
 */
export function renderTemplate(parts: TemplateParts, data: Readonly<Record<string, unknown>>): RenderResult {
  let missing: string | undefined;
  const fill = (value: string | undefined): string | undefined =>
    value?.replace(placeholder, (whole, path: string) => {
      const found = lookup(data, path);
      if (found === undefined || found === null || typeof found === 'object') {
        missing ??= path;
        return whole;
      }
      return String(found);
    });
  const rendered = { subject: fill(parts.subject), text: fill(parts.text), html: fill(parts.html) };
  return missing === undefined ? { ok: true, parts: rendered } : { ok: false, missing };
}

function lookup(data: Readonly<Record<string, unknown>>, path: string): unknown {
  let current: unknown = data;
  for (const key of path.split('.')) {
    if (typeof current !== 'object' || current === null || !Object.hasOwn(current, key)) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

/** Parses `TemplateData`: a JSON object, or an error message in SES's words. */
export function parseTemplateData(text: string | undefined, field: string): Record<string, unknown> | string {
  if (text === undefined || text === '') return {};
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // Reported below.
  }
  return `${field} is not a valid JSON object.`;
}
