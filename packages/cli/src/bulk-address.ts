import { type AddressInput, MailError, parseAddress } from '@mailport/core';
import { CellError, partColumns, type TemplatePart, templateParts } from './bulk-template.js';
import { UsageError } from './exit-codes.js';

/**
 * The addresses of one field (`--to`, `--cc`, `--bcc`, `--reply-to`, `--from`) for every row,
 * built from structured parts rather than from a rendered string: a value used as a display
 * name stays a display name whatever commas, quotes, angle brackets or `@` it holds, and a value
 * used as an address must be exactly one address. So no CSV value can add a recipient.
 */
export interface AddressTemplate {
  readonly flag: string;
  /** The columns it uses, each once. */
  readonly columns: readonly string[];
  /**
   * The row's addresses, each checked as core checks it. Slots whose every value is empty are
   * left out (an optional `--cc "{{manager}}"`). Throws {@link CellError} naming the column.
   */
  render(values: readonly string[]): AddressInput[];
  /** A readable form for reports, which never throws. */
  describe(values: readonly string[]): string;
}

/**
 * One address of a template.
 *
 * - `mailbox`: a lone `{{column}}`, whose value is one mailbox: `ana@example.org` or
 *   `Ana <ana@example.org>`, parsed strictly by core (a comma outside quotes is refused).
 * - `parts`: literal text and placeholders that make up one address (`{{user}}@example.org`),
 *   with an optional display name (`{{name}} <{{email}}>`, `"{{name}}" <{{email}}>`).
 */
type Slot =
  | { readonly kind: 'mailbox'; readonly part: Extract<TemplatePart, { column: string }> }
  | { readonly kind: 'parts'; readonly name: readonly TemplatePart[]; readonly address: readonly TemplatePart[] };

// One element of a template: a character of literal text, or a placeholder.
type Atom = string | Extract<TemplatePart, { column: string }>;

/**
 * Parses address templates into slots. Each flag value may hold several comma-separated entries
 * (`"{{name}} <{{email}}>, audit@example.com"`); the commas are read in the template, never in
 * the values. A template that cannot be read as addresses is a usage error, before any sending.
 *
 * @example
 * ```ts
 * const to = compileAddressTemplate(['{{name}} <{{email}}>'], { flag: '--to', columns: ['name', 'email'] });
 * to.render(['Eve <eve@evil.test>, Mallory', 'ana@example.org']);
 * // [{ name: 'Eve <eve@evil.test>, Mallory', address: 'ana@example.org' }]
 * ```
 */
export function compileAddressTemplate(
  sources: readonly string[],
  options: { readonly flag: string; readonly columns: readonly string[]; readonly single?: boolean | undefined },
): AddressTemplate {
  const { flag } = options;
  const slots = sources.flatMap((source) => parseSlots(source, options));
  if (options.single === true && slots.length !== 1) {
    throw new UsageError(`${flag} takes exactly one address, got ${slots.length} in ${JSON.stringify(sources.join(', '))}`);
  }
  const columns = [...new Set(slots.flatMap(slotColumns))];
  return {
    flag,
    columns,
    render: (values) => {
      const addresses: AddressInput[] = [];
      try {
        for (const slot of slots) {
          const address = renderSlot(slot, values, `${flag.replace(/^--/, '')}[${addresses.length}]`);
          if (address !== undefined) addresses.push(address);
        }
      } catch (error) {
        if (error instanceof CellError) throw new CellError(error.columns, `${flag}: ${error.message}`);
        throw error;
      }
      return addresses;
    },
    describe: (values) =>
      slots
        .map((slot) => {
          if (slot.kind === 'mailbox') return (values[slot.part.index] ?? '').trim();
          const name = join(slot.name, values).trim();
          const address = join(slot.address, values).trim();
          return name === '' ? address : `${name} <${address}>`;
        })
        .filter((text) => text !== '')
        .join(', '),
  };
}

function slotColumns(slot: Slot): string[] {
  return slot.kind === 'mailbox' ? [slot.part.column] : partColumns([...slot.name, ...slot.address]);
}

function join(parts: readonly TemplatePart[], values: readonly string[]): string {
  let text = '';
  for (const part of parts) text += 'text' in part ? part.text : (values[part.index] ?? '');
  return text;
}

function renderSlot(slot: Slot, values: readonly string[], field: string): AddressInput | undefined {
  if (slot.kind === 'mailbox') {
    const value = (values[slot.part.index] ?? '').trim();
    if (value === '') return undefined;
    // One mailbox, strictly: core refuses "a@x, b@y", "Eve <e@x>, M <m@y>" and an unquoted comma in a name.
    return check(value, field, [slot.part.column], [slot.part.column]);
  }
  const nameColumns = partColumns(slot.name);
  const addressColumns = partColumns(slot.address);
  for (const part of slot.address) {
    if ('text' in part) continue;
    // The template's own commas separate addresses; a value's comma would be a second recipient.
    const value = values[part.index] ?? '';
    const separator = /[,;]/.exec(value);
    if (separator !== null) {
      throw new CellError(
        [part.column],
        `holds more than one address or a "${separator[0]}" where ${field} needs exactly one address: ${JSON.stringify(value)}`,
      );
    }
  }
  const name = join(slot.name, values).trim();
  // Surrounding spaces are how spreadsheets pad cells; spaces inside an address are refused by core.
  const address = join(slot.address, values).trim();
  if (address === '') {
    if (name === '') return undefined;
    throw new CellError(addressColumns, `is empty, so ${field} has a name (${JSON.stringify(name)}) but no address`);
  }
  return check(name === '' ? { address } : { name, address }, field, nameColumns, addressColumns);
}

/** Checks the address as core will, so that its refusal can name the row's column. */
function check(input: AddressInput, field: string, nameColumns: readonly string[], addressColumns: readonly string[]): AddressInput {
  try {
    parseAddress(input, field);
  } catch (error) {
    if (!MailError.isInstance(error)) throw error;
    throw new CellError(error.field?.endsWith('.name') === true ? nameColumns : addressColumns, error.message);
  }
  return input;
}

/** Reads one flag value into slots; see {@link compileAddressTemplate}. */
function parseSlots(source: string, options: { readonly flag: string; readonly columns: readonly string[] }): Slot[] {
  const { flag } = options;
  const atoms: Atom[] = templateParts(source, options).flatMap((part): Atom[] => ('text' in part ? [...part.text] : [part]));
  const fail = (problem: string): UsageError =>
    new UsageError(
      `${flag} ${JSON.stringify(source)}: ${problem}. Write addresses as {{email}}, "{{name}} <{{email}}>" or ` +
        `"\\"{{name}}\\" <{{email}}>", several separated by commas`,
    );

  const slots: Slot[] = [];
  let name: Atom[] = [];
  let address: Atom[] = [];
  let state: 'name' | 'quoted' | 'angle' | 'after' = 'name';
  let quotedName = false;
  let content = false;
  let separated = false;

  const finish = (): void => {
    if (!content) throw fail('an address is empty (two commas in a row, or a comma at the end?)');
    if (state === 'quoted') throw fail('a quoted name is not closed');
    if (state === 'angle') throw fail('a "<" is not closed by ">"');
    const angle = state === 'after';
    if (!angle) {
      if (quotedName) throw fail('a quoted name needs an <address> after it');
      // No angle brackets: the whole entry is the address.
      address = trimAtoms(name);
      name = [];
    }
    const nameParts = toParts(quotedName ? name : trimAtoms(name));
    const addressParts = toParts(trimAtoms(address));
    const only = addressParts[0];
    if (addressParts.length === 0) throw fail('an address is empty');
    if (!angle && addressParts.length === 1 && only !== undefined && 'column' in only) {
      slots.push({ kind: 'mailbox', part: only });
    } else {
      if (addressParts.some((part) => 'text' in part && /[\s<>",;]/.test(part.text))) {
        throw fail(`${JSON.stringify(join(addressParts, []))} is not one address`);
      }
      if (partColumns(addressParts).length === 0 && partColumns(nameParts).length === 0) {
        // Literal only: check it now rather than once per row.
        const literal = join(addressParts, []);
        const display = join(nameParts, []);
        try {
          parseAddress(display === '' ? { address: literal } : { name: display, address: literal }, flag.replace(/^--/, ''));
        } catch (error) {
          throw fail((error as Error).message);
        }
      }
      slots.push({ kind: 'parts', name: nameParts, address: addressParts });
    }
    name = [];
    address = [];
    state = 'name';
    quotedName = false;
    content = false;
  };

  for (let index = 0; index < atoms.length; index++) {
    const atom = atoms[index] as Atom;
    const separator = atom === ',' || atom === ';';
    if (typeof atom !== 'string' || (!/\s/.test(atom) && !separator)) content = true;
    if (typeof atom !== 'string') {
      if (state === 'after') throw fail('there is text after ">"');
      if (state === 'name' && quotedName) throw fail('there is text after the quoted name');
      (state === 'angle' ? address : name).push(atom);
      continue;
    }
    switch (state) {
      case 'quoted':
        if (atom === '\\') {
          const next = atoms[index + 1];
          if (typeof next !== 'string') throw fail('a "\\" in a quoted name escapes nothing');
          name.push(next);
          index++;
        } else if (atom === '"') state = 'name';
        else name.push(atom);
        break;
      case 'angle':
        if (atom === '>') state = 'after';
        else if (atom === '<') throw fail('angle brackets are nested');
        else if (separator) throw fail(`a "${atom}" is inside <...>`);
        else address.push(atom);
        break;
      case 'after':
        if (separator) {
          finish();
          separated = true;
        } else if (!/\s/.test(atom)) throw fail('there is text after ">"');
        break;
      default:
        if (separator) {
          finish();
          separated = true;
        } else if (atom === '<') state = 'angle';
        else if (atom === '>') throw fail('a ">" comes before its "<"');
        else if (atom === '"') {
          if (quotedName || trimAtoms(name).length > 0) throw fail('a quote must enclose the whole name');
          name = [];
          quotedName = true;
          state = 'quoted';
        } else if (quotedName) {
          if (!/\s/.test(atom)) throw fail('there is text after the quoted name');
        } else name.push(atom);
    }
  }
  // An empty flag means no address; "a@example.org," is a mistake.
  if (content || separated) finish();
  return slots;
}

function trimAtoms(atoms: readonly Atom[]): Atom[] {
  let start = 0;
  let end = atoms.length;
  while (start < end && typeof atoms[start] === 'string' && /\s/.test(atoms[start] as string)) start++;
  while (end > start && typeof atoms[end - 1] === 'string' && /\s/.test(atoms[end - 1] as string)) end--;
  return atoms.slice(start, end);
}

/** Joins runs of characters back into text parts. */
function toParts(atoms: readonly Atom[]): TemplatePart[] {
  const parts: TemplatePart[] = [];
  let text = '';
  for (const atom of atoms) {
    if (typeof atom === 'string') text += atom;
    else {
      if (text !== '') parts.push({ text });
      text = '';
      parts.push(atom);
    }
  }
  if (text !== '') parts.push({ text });
  return parts;
}
