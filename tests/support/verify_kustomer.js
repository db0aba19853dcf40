// Checks X-Kustomer-Webhook-Signature the way docs/webhooks.md tells receivers to: the HMAC of
// the raw body, compared in constant time. verifyKustomerSignature is the documentation's
// function, verbatim (tests/unit/test_webhooks_doc_node.py holds them to that).
const crypto = require('crypto');
const fs = require('fs');

function verifyKustomerSignature(token, rawBody, received) {
  const expected = Buffer.from(crypto.createHmac('sha256', token).update(rawBody).digest('hex'));
  const actual = Buffer.from(typeof received === 'string' ? received : '');
  return actual.length === expected.length && crypto.timingSafeEqual(actual, expected);
}

const cases = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
for (const { token, body, signature } of cases) {
  const httpBody = Buffer.from(body, 'base64');
  console.log(verifyKustomerSignature(token, httpBody, signature) ? 'true' : 'false');
}
