// Verify a Hookline webhook signed with Ed25519 (v1a). Node's own crypto, no package.
const crypto = require("node:crypto");

// body: the raw request body as a Buffer; throws unless a v1a signature is the endpoint's.
function verify(publicKey, headers, body) {
  const x = Buffer.from(publicKey.replace(/^whpk_/, ""), "base64").toString("base64url");
  const key = crypto.createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x }, format: "jwk" });
  const id = headers["webhook-id"];
  const timestamp = headers["webhook-timestamp"];
  if (Math.abs(Date.now() / 1000 - Number(timestamp)) > 300) {
    throw new Error("the timestamp is more than 5 minutes away: a replay?");
  }
  const signed = Buffer.concat([Buffer.from(`${id}.${timestamp}.`), body]);
  const ok = headers["webhook-signature"].split(" ").some((s) => {
    const [version, b64] = s.split(",");
    return version === "v1a" && crypto.verify(null, signed, key, Buffer.from(b64, "base64"));
  });
  if (!ok) throw new Error("no valid v1a signature");
}

module.exports = { verify };
