/**
 * What the bulk benchmark sends: a CSV of recipients written to a file row by row (a million
 * rows are never built in memory), and the templates `mailport send --csv` fills from it.
 */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Rows per run in the full benchmark: the three sizes. */
export const bulkSizes: readonly number[] = [1_000, 100_000, 1_000_000];

/** Rows in `--quick` mode: one small run, a smoke test of the whole pipeline. */
export const bulkQuickSizes: readonly number[] = [1_000];

/**
 * The goal: peak RSS at the largest size at most this multiple of the peak at the size before it
 * (flat memory once the run is under way). Not against the smallest size: 1,000 rows end before
 * V8's heap has grown to its working size, which costs about 100 MB whatever the list's length.
 */
export const bulkRssGoal = 1.25;

/** The sender, as `--from`. */
export const bulkFrom = 'The Shop <orders@shop.example>';

/** The subject template, as `--subject`. */
export const bulkSubject = 'Your order {{order}} has shipped';

const textTemplate = [
  'Hello {{name}},',
  '',
  'Thank you for your order {{order}}. Everything in it is packed and on its way;',
  'the carrier expects to deliver it within two working days.',
  '',
  'Track the parcel at https://shop.example/orders/{{order}}/tracking and reply to',
  'this message if anything is missing or damaged: a person reads every reply.',
  '',
  'The Shop team',
  '',
].join('\n');

const htmlTemplate = [
  '<!doctype html>',
  '<html><body style="font-family: sans-serif; color: #222">',
  '<p>Hello {{name}},</p>',
  '<p>Thank you for your order <strong>{{order}}</strong>. Everything in it is packed and on its way;',
  'the carrier expects to deliver it within two working days.</p>',
  '<p>Track the parcel at <a href="https://shop.example/orders/{{order}}/tracking">shop.example/orders/{{order}}</a>',
  'and reply to this message if anything is missing or damaged: a person reads every reply.</p>',
  '<p>The Shop team</p>',
  '</body></html>',
  '',
].join('\n');

/** The files of one run, in `directory`. */
export interface BulkFiles {
  readonly csv: string;
  readonly csvBytes: number;
  readonly textFile: string;
  readonly htmlFile: string;
}

/** The CSV's row `index` (0-based): a header names `email,name,order`. */
function row(index: number): string {
  const number = index + 1;
  // Every tenth name is quoted, with a comma inside, so the parser does real CSV work.
  const name = number % 10 === 0 ? `"Example, Person ${number}"` : `Person ${number}`;
  return `person${number}@example.org,${name},#${100_000 + number}\n`;
}

/**
 * Writes the CSV of `rows` rows and the two body templates into `directory`, streaming the CSV
 * in blocks of rows with backpressure.
 */
export async function writeBulkFiles(directory: string, rows: number): Promise<BulkFiles> {
  const csv = join(directory, `recipients-${rows}.csv`);
  const textFile = join(directory, 'body.txt');
  const htmlFile = join(directory, 'body.html');
  await writeFile(textFile, textTemplate);
  await writeFile(htmlFile, htmlTemplate);
  const out = createWriteStream(csv);
  let bytes = 0;
  const write = async (text: string): Promise<void> => {
    bytes += Buffer.byteLength(text);
    if (!out.write(text)) await once(out, 'drain');
  };
  await write('email,name,order\n');
  const block = 1_000;
  for (let start = 0; start < rows; start += block) {
    let text = '';
    for (let index = start; index < Math.min(start + block, rows); index++) text += row(index);
    await write(text);
  }
  out.end();
  await once(out, 'finish');
  return { csv, csvBytes: bytes, textFile, htmlFile };
}
