# Verify a Hookline webhook signed with Ed25519 (v1a). pip install cryptography
import base64
import time

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


def verify(public_key: str, headers: dict, body: bytes) -> None:
    """Raises ValueError unless a v1a signature in the headers is the endpoint's."""
    key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key.removeprefix("whpk_")))
    msg_id, timestamp = headers["webhook-id"], headers["webhook-timestamp"]
    if abs(time.time() - int(timestamp)) > 300:
        raise ValueError("the timestamp is more than 5 minutes away: a replay?")
    signed = f"{msg_id}.{timestamp}.".encode() + body
    for signature in headers["webhook-signature"].split(" "):
        version, _, b64 = signature.partition(",")
        if version != "v1a":
            continue
        try:
            key.verify(base64.b64decode(b64), signed)
            return
        except (InvalidSignature, ValueError):
            pass
    raise ValueError("no valid v1a signature")
