#!/usr/bin/env python3
"""The bench's second SIP reference: a stateless SIP Plug-and-Play responder
in Python, the shape of the small public ones (one socket on the PnP group,
no database, no page, nothing recorded).

For every SUBSCRIBE with `Event: ua-profile` it answers 200 OK (Via, From,
Call-ID and CSeq copied, a To tag added; RFC 3261 8.2.6) to the address the
request came from, then sends one NOTIFY to that address with
`Subscription-State: terminated` and a config URL in the body, as the
public responders do. The URL points at a closed port of the box: the
bench measures the 200, not downloads.

    responder.py BOX_IP        # listens on 224.0.1.75:5060 and BOX_IP:5060

Written for the bench; prints "ready" once its socket is bound.
"""
import os
import socket
import struct
import sys

GROUP, PORT = "224.0.1.75", 5060
COMPACT = {"v": "via", "f": "from", "t": "to", "i": "call-id", "m": "contact", "o": "event"}


def headers(lines):
    """Header name (lower case, compact forms expanded) -> list of values."""
    out = {}
    for line in lines:
        name, sep, value = line.partition(":")
        if not sep:
            continue
        name = name.strip().lower()
        out.setdefault(COMPACT.get(name, name), []).append(value.strip())
    return out


def main():
    box = sys.argv[1]
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    sock.bind(("0.0.0.0", PORT))
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
                    struct.pack("4s4s", socket.inet_aton(GROUP), socket.inet_aton(box)))
    print("ready", flush=True)
    seq = 0
    while True:
        data, src = sock.recvfrom(65535)
        head = data.split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace").split("\r\n")
        if not head[0].startswith("SUBSCRIBE "):
            continue
        h = headers(head[1:])
        if not all(k in h for k in ("via", "from", "to", "call-id", "cseq")):
            continue
        if not any(e.split(";")[0].strip().lower() == "ua-profile" for e in h.get("event", [])):
            continue
        seq += 1
        tag = "%x%x" % (os.getpid(), seq)
        reply = ["SIP/2.0 200 OK"]
        reply += ["Via: " + v for v in h["via"]]
        reply += ["From: " + h["from"][0], "To: %s;tag=%s" % (h["to"][0], tag),
                  "Call-ID: " + h["call-id"][0], "CSeq: " + h["cseq"][0],
                  "Contact: <sip:%s:%d>" % (box, PORT), "Expires: 0", "Content-Length: 0", "", ""]
        sock.sendto("\r\n".join(reply).encode(), src)
        # The NOTIFY: the dialog's roles swapped (the phone's From is our To).
        body = "http://%s:9/cfg/\r\n" % box
        notify = ["NOTIFY sip:%s:%d SIP/2.0" % src,
                  "Via: SIP/2.0/UDP %s:%d;branch=z9hG4bK%s" % (box, PORT, tag),
                  "Max-Forwards: 70",
                  "From: %s;tag=%s" % (h["to"][0], tag), "To: " + h["from"][0],
                  "Call-ID: " + h["call-id"][0], "CSeq: 1 NOTIFY",
                  "Contact: <sip:%s:%d>" % (box, PORT),
                  "Event: ua-profile", "Subscription-State: terminated;reason=timeout",
                  "Content-Type: application/url", "Content-Length: %d" % len(body), "", body]
        sock.sendto("\r\n".join(notify).encode(), src)


if __name__ == "__main__":
    main()
