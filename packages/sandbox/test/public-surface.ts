import { readFileSync } from 'node:fs';

/**
 * The names of `export { type X }`, `export type { X }` and `export interface X` / `export type X`
 * in an entry point's source: what each package's public-surface test pins, with the module's
 * runtime keys, so that a new export is a decision rather than an accident.
 */
export function typeExports(file: URL): string[] {
  const source = readFileSync(file, 'utf8');
  const listed = [...source.matchAll(/export (type )?\{([^}]*)\}/g)].flatMap(([, allTypes, names = '']) =>
    names
      .split(',')
      .map((name) => name.trim())
      .filter((name) => name !== '' && (allTypes !== undefined || name.startsWith('type ')))
      .map((name) => name.replace(/^type /, '')),
  );
  const declared = [...source.matchAll(/export (?:interface|type) (\w+)/g)].map(([, name = '']) => name);
  return [...listed, ...declared].sort();
}
