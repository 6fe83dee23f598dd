/**
 * Two DKIM verifiers that share no code with mailport's signer, for the signing tests, each with
 * its DNS answers injected (no network): Debian's python3-dkim (dkimpy, `dkim.verify` with a
 * `dnsfunc`) and mailauth from npm (`dkimVerify` with a `resolver`). A signature counts as good only
 * when both accept it.
 */
import { spawn, spawnSync } from 'node:child_process';
import { dkimVerify } from 'mailauth/lib/dkim/verify.js';
import { isExecutableFile, type LookupOptions, pretendMissing, type ToolLookup } from '../../sandbox/test/find-tool.js';

/** The one command that installs the Python verifier on Debian (run it as root); .ci/run should. */
export const installPythonDkim = 'apt-get install -y python3-dkim';

/** DNS TXT answers by name (`s2025._domainkey.shop.example`), one record each. */
export type TxtRecords = Readonly<Record<string, string>>;

/**
 * A Python 3 that can `import dkim`: MAILPORT_PYTHON when set (an error when it cannot), else
 * Debian's /usr/bin/python3, else `python3` on PATH (often a pyenv or venv without Debian's
 * packages, so it is tried last). MAILPORT_TEST_WITHOUT=python3-dkim makes this find none.
 */
export function findPythonDkim(options: LookupOptions = {}): ToolLookup {
  const { env = process.env } = options;
  const missing = `python3-dkim not found: no Python 3 here imports dkim. Install it with: ${installPythonDkim}`;
  if (pretendMissing('python3-dkim', env)) return { skip: `${missing} (MAILPORT_TEST_WITHOUT=${env.MAILPORT_TEST_WITHOUT})` };
  const configured = env.MAILPORT_PYTHON?.trim();
  if (configured) {
    if (importsDkim(configured)) return { path: configured };
    throw new Error(
      `MAILPORT_PYTHON=${configured} cannot import dkim. Point it at a Python with dkimpy, or unset it (${installPythonDkim}).`,
    );
  }
  for (const candidate of ['/usr/bin/python3', 'python3']) {
    if ((candidate.startsWith('/') ? isExecutableFile(candidate) : true) && importsDkim(candidate)) return { path: candidate };
  }
  return { skip: missing };
}

function importsDkim(python: string): boolean {
  const result = spawnSync(python, ['-c', 'import dkim'], { stdio: 'ignore', timeout: 20_000 });
  return result.status === 0;
}

// Reads the message on stdin and the records as JSON in argv[1]; prints one line per signature,
// in order: "pass" or "fail". dnsfunc gets the name with a trailing dot, as bytes.
const pythonScript = `
import sys, json, dkim
records = json.loads(sys.argv[1])
def dnsfunc(name, timeout=5):
    return records.get(name.decode('ascii').rstrip('.'), '').encode('ascii')
message = sys.stdin.buffer.read()
verifier = dkim.DKIM(message)
headers = [h for h in dkim.rfc822_parse(message)[0] if h[0].lower() == b'dkim-signature']
for index in range(len(headers)):
    try:
        ok = verifier.verify(idx=index, dnsfunc=dnsfunc)
    except Exception as error:
        ok = False
    print('pass' if ok else 'fail')
`;

/** What python3-dkim says of each DKIM-Signature of `message`, in order. */
export async function verifyWithPython(python: string, message: Buffer | string, records: TxtRecords): Promise<('pass' | 'fail')[]> {
  const child = spawn(python, ['-c', pythonScript, JSON.stringify(records)], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  child.stdin.end(message);
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  if (code !== 0) throw new Error(`python3-dkim failed (${code}): ${err}`);
  return out
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => (line === 'pass' ? 'pass' : 'fail'));
}

/** What mailauth says of each DKIM-Signature of `message`, in order: `pass`, `fail`, `neutral`, ... */
export async function verifyWithMailauth(message: Buffer | string, records: TxtRecords): Promise<string[]> {
  const resolver = async (name: string, type: string): Promise<string[][]> => {
    const record = records[name.replace(/\.$/, '')];
    if (type !== 'TXT' || record === undefined) throw Object.assign(new Error(`no ${type} record for ${name}`), { code: 'ENOTFOUND' });
    // One record, split into strings of at most 255 characters, as DNS carries it.
    return [record.match(/.{1,255}/g) ?? ['']];
  };
  const result = await dkimVerify(typeof message === 'string' ? Buffer.from(message, 'latin1') : message, { resolver });
  return result.results.map((entry) => String(entry.status?.result));
}

/** Both verifiers' answers, side by side: `['pass', 'pass']` per signature when both accept it. */
export async function verifyWithBoth(python: string, message: Buffer | string, records: TxtRecords): Promise<string[][]> {
  const [fromPython, fromMailauth] = await Promise.all([verifyWithPython(python, message, records), verifyWithMailauth(message, records)]);
  const count = Math.max(fromPython.length, fromMailauth.length);
  return Array.from({ length: count }, (_, index) => [fromPython[index] ?? 'missing', fromMailauth[index] ?? 'missing']);
}
