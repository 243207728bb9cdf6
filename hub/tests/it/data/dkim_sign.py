"""Signs a message with DKIM as a mail service would, using dkimpy (Debian's python3-dkim),
an implementation independent of the hub's.

    dkim_sign.py SELECTOR DOMAIN KEY.pem HEADERS [ALGORITHM] < message > signed

HEADERS is a comma-separated list of the header fields to sign (From,To,Subject,...).
The signature uses relaxed/relaxed canonicalisation (RFC 6376 3.4) and ALGORITHM,
rsa-sha256 unless named (RFC 6376 3.3).
"""

import sys

import dkim


def main():
    selector, domain, key_path, headers = sys.argv[1:5]
    algorithm = sys.argv[5] if len(sys.argv) > 5 else "rsa-sha256"
    message = sys.stdin.buffer.read()
    with open(key_path, "rb") as key:
        private = key.read()
    signature = dkim.sign(
        message,
        selector.encode(),
        domain.encode(),
        private,
        canonicalize=(b"relaxed", b"relaxed"),
        signature_algorithm=algorithm.encode(),
        include_headers=[h.encode() for h in headers.split(",")],
    )
    sys.stdout.buffer.write(signature + message)


if __name__ == "__main__":
    main()
