// Checks X-Kustomer-Webhook-Signature exactly as Kustomer's documentation tells receivers to:
// crypto.createHmac('sha256', kustomerSecret).update(httpBody).digest('hex') === received
const crypto = require('crypto');
const fs = require('fs');

const cases = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
for (const { token, body, signature } of cases) {
  const kustomerSecret = token;
  const httpBody = Buffer.from(body, 'base64');
  const computedSignature = crypto.createHmac('sha256', kustomerSecret).update(httpBody).digest('hex');
  console.log(computedSignature === signature ? 'true' : 'false');
}
