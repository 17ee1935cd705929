#!/usr/bin/env python3
"""An independent SIP client (Python stdlib only): REGISTER with RFC 8760 SHA-256 digest.

Usage: sha256_register.py HOST PORT USER PASSWORD
Reads the 401, picks the SHA-256 challenge among those offered, answers it, and exits 0 when
the registrar answers 200 with our contact; prints what went wrong and exits 1 otherwise.
"""
import hashlib
import re
import socket
import sys
import uuid


def h(s: str) -> str:
    return hashlib.sha256(s.encode()).hexdigest()


def request(sock, host, port, user, cseq, call_id, extra=""):
    local = "%s:%d" % sock.getsockname()
    msg = (
        f"REGISTER sip:{host}:{port} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP {local};branch=z9hG4bK{uuid.uuid4().hex};rport\r\n"
        f"Max-Forwards: 70\r\n"
        f"From: <sip:{user}@switchboard.local>;tag=py{cseq}\r\n"
        f"To: <sip:{user}@switchboard.local>\r\n"
        f"Call-ID: {call_id}\r\n"
        f"CSeq: {cseq} REGISTER\r\n"
        f"Contact: <sip:{user}@{local}>\r\n"
        f"Expires: 600\r\n"
        f"{extra}"
        f"Content-Length: 0\r\n\r\n"
    )
    sock.sendto(msg.encode(), (host, port))
    data, _ = sock.recvfrom(65535)
    return data.decode()


def main():
    host, port, user, password = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(5)
    call_id = uuid.uuid4().hex
    first = request(sock, host, port, user, 1, call_id)
    if not first.startswith("SIP/2.0 401"):
        print("expected 401, got:\n" + first)
        return 1
    challenges = re.findall(r"^WWW-Authenticate: (.*)$", first, re.M | re.I)
    sha = [c for c in challenges if re.search(r"algorithm=SHA-256\b", c)]
    if not sha or not any("algorithm=MD5" in c for c in challenges):
        print("expected both SHA-256 and MD5 challenges, got:", challenges)
        return 1
    params = dict(re.findall(r'(\w+)="?([^",]*)"?', sha[0].strip()))
    realm, nonce = params["realm"], params["nonce"]
    uri = f"sip:{host}:{port}"
    cnonce, nc = uuid.uuid4().hex[:16], "00000001"
    ha1 = h(f"{user}:{realm}:{password}")
    ha2 = h(f"REGISTER:{uri}")
    response = h(f"{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}")
    auth = (
        f'Authorization: Digest username="{user}", realm="{realm}", nonce="{nonce}", '
        f'uri="{uri}", response="{response}", algorithm=SHA-256, cnonce="{cnonce}", '
        f"qop=auth, nc={nc}\r\n"
    )
    second = request(sock, host, port, user, 2, call_id, auth)
    if not second.startswith("SIP/2.0 200"):
        print("expected 200, got:\n" + second)
        return 1
    if not re.search(r"^Contact: <sip:%s@[^>]+>;expires=\d+" % user, second, re.M):
        print("200 without our contact:\n" + second)
        return 1
    print("registered with SHA-256")
    return 0


if __name__ == "__main__":
    sys.exit(main())
