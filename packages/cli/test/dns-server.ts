/**
 * A DNS server on a loopback UDP port for the tests, answering TXT questions from a table: names
 * in the table get their records (each record a list of character-strings, at most 255 bytes
 * each), other names NXDOMAIN. `silent` makes it read and never answer, for timeouts.
 */
import { createSocket } from 'node:dgram';
import { once } from 'node:events';

export interface TestDnsServer {
  /** `127.0.0.1:PORT`, as `--dns-server` takes it. */
  readonly address: string;
  /** Names asked, in order. */
  readonly questions: readonly string[];
  close(): Promise<void>;
}

const txtType = 16;

export async function startDnsServer(
  records: Readonly<Record<string, readonly (readonly string[])[]>>,
  options: { silent?: boolean } = {},
): Promise<TestDnsServer> {
  const socket = createSocket('udp4');
  const questions: string[] = [];
  socket.on('message', (query, peer) => {
    const { name, end, type } = readQuestion(query);
    questions.push(name);
    if (options.silent === true) return;
    const found = records[name.toLowerCase()];
    const answers = type === txtType && found !== undefined ? found : [];
    const header = Buffer.alloc(12);
    header.writeUInt16BE(query.readUInt16BE(0), 0);
    // QR, the query's RD, RA; NXDOMAIN for a name not in the table.
    header.writeUInt16BE(0x8080 | (query.readUInt16BE(2) & 0x0100) | (found === undefined ? 3 : 0), 2);
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(answers.length, 6);
    const parts = [header, query.subarray(12, end)];
    for (const strings of answers) {
      const data = Buffer.concat(strings.map((text) => Buffer.concat([Buffer.of(Buffer.byteLength(text)), Buffer.from(text)])));
      const fixed = Buffer.alloc(12);
      fixed.writeUInt16BE(0xc00c, 0); // the question's name
      fixed.writeUInt16BE(txtType, 2);
      fixed.writeUInt16BE(1, 4);
      fixed.writeUInt32BE(60, 6);
      fixed.writeUInt16BE(data.length, 10);
      parts.push(fixed, data);
    }
    socket.send(Buffer.concat(parts), peer.port, peer.address);
  });
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  return {
    address: `127.0.0.1:${socket.address().port}`,
    questions,
    close: () => new Promise((resolve) => socket.close(() => resolve())),
  };
}

function readQuestion(query: Buffer): { name: string; end: number; type: number } {
  const labels: string[] = [];
  let offset = 12;
  for (let length = query[offset] ?? 0; length > 0; length = query[offset] ?? 0) {
    labels.push(query.subarray(offset + 1, offset + 1 + length).toString('latin1'));
    offset += 1 + length;
  }
  offset += 1;
  return { name: labels.join('.'), type: query.readUInt16BE(offset), end: offset + 4 };
}
