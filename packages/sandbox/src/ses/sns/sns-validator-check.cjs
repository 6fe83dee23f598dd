// Runs AWS's own SNS message validator (npm sns-validator) over the messages given as JSON lines
// on stdin and prints one JSON line per message: {"ok":true} or {"ok":false,"error":"..."}.
// Run with NODE_EXTRA_CA_CERTS set to the sandbox's CA file (the validator fetches the
// certificate with https.get) and HOST_PATTERN to a regular expression for the sandbox's host.
'use strict';
const MessageValidator = require('sns-validator');

const validator = new MessageValidator(new RegExp(process.env.HOST_PATTERN));
let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  input += chunk;
});
process.stdin.on('end', async () => {
  const lines = input.split('\n').filter((line) => line.trim() !== '');
  for (const line of lines) {
    const result = await new Promise((resolve) => {
      validator.validate(line, (error) => resolve(error ? { ok: false, error: error.message } : { ok: true }));
    });
    process.stdout.write(`${JSON.stringify(result)}\n`);
  }
});
