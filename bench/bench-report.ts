/**
 * Formatting shared by the benchmarks: the machine line, units and plain-text tables. Sizes are
 * in MB of 1,000,000 bytes throughout, in the console and in results/*.json alike.
 */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import os from 'node:os';

/** The machine a run happened on, as printed and as saved with the results. */
export interface MachineInfo {
  readonly cpu: string;
  readonly cores: number;
  readonly memoryBytes: number;
  readonly node: string;
  readonly platform: string;
}

/** Describes this machine. */
export function describeMachine(): MachineInfo {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown CPU',
    cores: cpus.length,
    memoryBytes: os.totalmem(),
    node: process.version,
    platform: `${os.platform()} ${os.arch()}`,
  };
}

/** One line: `Intel(R) Xeon(R) ..., 2 cores, 25.3 GB RAM, Node v24.21.0, linux x64`. */
export function formatMachine(machine: MachineInfo): string {
  return `${machine.cpu}, ${machine.cores} cores, ${formatMegabytes(machine.memoryBytes / 1000)} GB RAM, Node ${machine.node}, ${machine.platform}`;
}

/** Bytes as MB with one decimal, without the unit: `39.7`. */
export function formatMegabytes(bytes: number): string {
  return (bytes / 1_000_000).toFixed(1);
}

/** Bytes as MB rounded to one decimal, as a number for results files. */
export function megabytes(bytes: number): number {
  return Math.round(bytes / 100_000) / 10;
}

/** A whole number with thousands separators: `12,345`. */
export function formatCount(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

/** `PASS` or `FAIL`. */
export function verdict(pass: boolean): string {
  return pass ? 'PASS' : 'FAIL';
}

/**
 * Lays out rows under headers in padded columns. Columns listed in `rightAligned` (numbers)
 * are padded on the left so their digits line up.
 */
export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[], rightAligned: readonly number[]): string {
  const widths = headers.map((header, column) => Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, column) => {
        const width = widths[column] ?? cell.length;
        return rightAligned.includes(column) ? cell.padStart(width) : cell.padEnd(width);
      })
      .join('  ')
      .trimEnd();
  const rule = widths.map((width) => '-'.repeat(width)).join('  ');
  return [line(headers), rule, ...rows.map(line)].join('\n');
}

/**
 * Writes `results/<benchmark>.json`: the benchmark's name, date and machine, then `numbers`.
 * The file is replaced only once it is complete.
 */
export async function writeResults(benchmark: string, machine: MachineInfo, date: Date, numbers: Record<string, unknown>): Promise<void> {
  const results = {
    benchmark,
    date: date.toISOString(),
    machine: {
      cpu: machine.cpu,
      cores: machine.cores,
      memoryMb: megabytes(machine.memoryBytes),
      node: machine.node,
      platform: machine.platform,
    },
    ...numbers,
  };
  const file = new URL(`./results/${benchmark}.json`, import.meta.url);
  const temporary = new URL(`./results/${benchmark}.json.tmp`, import.meta.url);
  await mkdir(new URL('./results/', import.meta.url), { recursive: true });
  await writeFile(temporary, toJson(results));
  // An interrupted run leaves the previous results in place rather than half a file.
  await rename(temporary, file);
}

/**
 * JSON as Biome formats it, so that the committed file passes `biome check`: two-space indent,
 * and arrays of plain values on one line.
 */
function toJson(value: unknown): string {
  const indented = JSON.stringify(value, null, 2);
  const collapsed = indented.replace(/\[\n\s*([^[\]{}]*?)\n\s*\]/g, (_, items: string) => `[${items.split(/,\n\s*/).join(', ')}]`);
  return `${collapsed}\n`;
}
