#!/usr/bin/env python3
"""Sends malformed requests to a running `convkit serve` (127.0.0.1 only) and checks the answers.

    scripts/serve_fuzz.py PORT IMAGE [--count 1000] [--pid PID] [--seed 0]

IMAGE is a valid image the model takes (the mutations start from it). Every request is malformed
in one way: random bytes, a cut or bit-flipped image, a broken multipart form, a wrong content
type or method, bad query values, a body over the limit, a broken request line or header.
Passes (exit 0) when every answer is a 4xx (405/404 for wrong routes included), none is a 5xx,
the server still answers /healthz after every 100 requests and at the end, and (with --pid) its
resident memory grew by less than 10% from after a warm-up to the end.
"""
import argparse
import random
import socket
import sys
import time

# Content types that are no image upload (a missing one, or any image/*, is accepted).
BAD_TYPES = ["text/plain", "application/json", "multipart/form-data", "text/html; charset=utf-8"]


def request(port, raw, timeout=15.0):
    """Sends raw bytes; returns the status code, or None when the connection closed unanswered."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        # No half-close after sending: httplib drops the answer to a client that shut its side.
        s.sendall(raw)
        data = b""
        while b"\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        line = data.split(b"\r\n", 1)[0].split()
        return int(line[1]) if len(line) >= 2 and line[1].isdigit() else None
    except (ConnectionResetError, BrokenPipeError, socket.timeout):
        return None
    finally:
        s.close()


def http(method, path, body=b"", content_type="image/png", extra=b""):
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n".encode()
    if content_type is not None:
        head += b"Content-Type: " + content_type.encode("latin-1") + b"\r\n"
    head += f"Content-Length: {len(body)}\r\n".encode() + extra + b"\r\n"
    return head + body


def multipart(parts, boundary="xyzzy", close=True):
    out = b""
    for name, filename, data in parts:
        out += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; "
                f"filename=\"{filename}\"\r\nContent-Type: image/png\r\n\r\n").encode() + data + b"\r\n"
    if close:
        out += f"--{boundary}--\r\n".encode()
    return out


def case(rng, image):
    """One malformed request (raw bytes) and what it is."""
    # A body over the limit holds a server thread until its --timeout (httplib reads and drops
    # the declared bytes before answering 413): 1 request in 100.
    k = 9 if rng.random() < 0.01 else rng.choice([i for i in range(14) if i != 9])
    if k == 0:
        n = rng.choice([0, 1, 7, 64, 1000, 5000])
        return http("POST", "/v1/predict", bytes(rng.getrandbits(8) for _ in range(n)),
                    rng.choice(["image/png", "image/jpeg", "application/octet-stream"])), "random bytes"
    if k == 1:
        return http("POST", "/v1/predict", image[:rng.randrange(len(image))]), "cut image"
    if k == 2:
        b = bytearray(image)
        for _ in range(rng.randrange(1, 20)):
            b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)
        return http("POST", rng.choice(["/v1/predict", "/v1/explain"]), bytes(b)), "bit flips"
    if k == 3:
        t = rng.choice(BAD_TYPES)
        return http("POST", "/v1/predict", image, t), f"content type {t!r}"
    if k == 4:
        body = multipart([("image", "a.png", image[:rng.randrange(len(image))])], close=rng.random() < 0.5)
        return http("POST", "/v1/predict", body, "multipart/form-data; boundary=xyzzy"), "bad multipart"
    if k == 5:
        body = multipart([("image", "a.png", image)], boundary="other")
        return http("POST", "/v1/predict/batch", body,
                    "multipart/form-data; boundary=xyzzy"), "wrong boundary"
    if k == 6:
        m = rng.choice(["PUT", "DELETE", "PATCH", "GET"])
        return http(m, "/v1/predict", image), f"method {m}"
    if k == 7:
        q = rng.choice(["top_k=0", "top_k=-1", "top_k=99999999999999999999", "top_k=abc",
                        "top_k=", "top_k=1e3"])
        return http("POST", "/v1/predict?" + q, image), "bad top_k"
    if k == 8:
        q = rng.choice(["class=-1", "class=1000000", "class=x", "class="])
        return http("POST", "/v1/explain?" + q, image), "bad class"
    if k == 9:  # a body over --max-body-mb, declared but not sent
        return (b"POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n"
                b"Content-Length: 1073741824\r\nConnection: close\r\n\r\n"), "huge declared body"
    if k == 10:
        return rng.choice([b"GARBAGE\r\n\r\n", b"POST\r\n\r\n", b"POST /v1/predict HTTP/9.9\r\n\r\n",
                           b"POST /v1/predict HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
                           b"POST /v1/predict HTTP/1.1\r\nContent-Length: abc\r\n\r\n"]), "bad request line"
    if k == 11:
        return (b"POST /v1/predict HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                b"Content-Type: image/png\r\nConnection: close\r\n\r\nZZ\r\nxx\r\n0\r\n\r\n"), "bad chunks"
    if k == 12:
        return http("POST", "/v1/predict", b"", "image/png"), "empty body"
    return http("GET", "/" + "a" * rng.choice([10, 1000, 8000]), b"", None), "unknown route"


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def healthy(port):
    return request(port, http("GET", "/healthz", b"", None)) == 200


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("port", type=int)
    ap.add_argument("image")
    ap.add_argument("--count", type=int, default=1000)
    ap.add_argument("--pid", type=int)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    image = open(a.image, "rb").read()
    rng = random.Random(a.seed)
    # Warm-up: the server's arenas and the model's buffers reach their working size first.
    for _ in range(50):
        if request(a.port, http("POST", "/v1/predict", image)) != 200:
            print("serve_fuzz: the valid image is not answered with 200; is the server up?")
            return 1
    rss0 = rss_kb(a.pid) if a.pid else 0
    counts, bad = {}, []
    start = time.time()
    for i in range(a.count):
        raw, what = case(rng, image)
        status = request(a.port, raw)
        counts[status] = counts.get(status, 0) + 1
        if status is None or not 400 <= status < 500:
            bad.append((i, what, status))
        if i % 100 == 99 and not healthy(a.port):
            print(f"serve_fuzz: the server stopped answering after request {i} ({what})")
            return 1
    ok = healthy(a.port)
    rss1 = rss_kb(a.pid) if a.pid else 0
    growth = (rss1 - rss0) / rss0 if rss0 else 0.0
    summary = ", ".join(f"{k if k is not None else 'no answer'}: {v}" for k, v in sorted(
        counts.items(), key=lambda kv: (kv[0] is None, kv[0] or 0)))
    print(f"serve_fuzz: {a.count} malformed requests in {time.time() - start:.1f} s; answers {summary}")
    if a.pid:
        print(f"serve_fuzz: server RSS {rss0 / 1024:.1f} MB after warm-up, {rss1 / 1024:.1f} MB at the end "
              f"({100 * growth:+.1f}%)")
    for i, what, status in bad[:20]:
        print(f"  request {i} ({what}): {status if status is not None else 'closed without an answer'}")
    if bad or not ok or growth >= 0.10:
        print("serve_fuzz: FAILED" + ("" if ok else " (the server no longer answers /healthz)"))
        return 1
    print("serve_fuzz: passed (only 4xx answers, the server is up)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
