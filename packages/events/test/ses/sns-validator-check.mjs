// Runs AWS's sns-validator on one SNS envelope (JSON on stdin) and prints `valid` or the error.
// Started by the tests in a child process with NODE_EXTRA_CA_CERTS set to the test CA, because
// sns-validator fetches the certificate with https.get and no way to pass a CA.
import MessageValidator from 'sns-validator';

let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  input += chunk;
});
process.stdin.on('end', () => {
  const validator = new MessageValidator(/^127\.0\.0\.1:\d+$/);
  validator.validate(JSON.parse(input), (error) => {
    process.stdout.write(error ? `invalid: ${error.message}` : 'valid');
  });
});
