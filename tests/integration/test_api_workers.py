# SPDX-License-Identifier: BSD-2-Clause
"""mqttd-api's workers on their FastCGI socket, spoken to as nginx does:
kept connections multiplexed over a worker's few threads (more kept
connections than threads all get answers; a command waiting for the broker
on one connection does not hold up another), and connections that end
badly (EOF, half a record, a reset, a peer gone before the answer) cost a
worker neither its life nor a file descriptor.
"""
import base64
import json
import os
import signal
import socket
import struct
import time

from stack import Stack, children, wait_for

BEGIN, END, PARAMS, STDIN, STDOUT = 1, 3, 4, 5, 6
KEEP_CONN = 1


def record(typ, content, rid=1):
    pad = -len(content) % 8
    return (struct.pack("!BBHHBB", 1, typ, rid, len(content), pad, 0) +
            content + b"\0" * pad)


def pair(name, value):
    def length(n):
        return bytes([n]) if n < 128 else struct.pack("!I", n | 1 << 31)
    k, v = name.encode(), value.encode()
    return length(len(k)) + length(len(v)) + k + v


def request(method, uri, body=b"", auth=None, role=1):
    params = {"REQUEST_METHOD": method, "REQUEST_URI": uri,
              "QUERY_STRING": "", "CONTENT_LENGTH": str(len(body))}
    if auth:
        tok = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        params["HTTP_AUTHORIZATION"] = "Basic " + tok
    out = record(BEGIN, struct.pack("!HB5x", role, KEEP_CONN))
    out += record(PARAMS, b"".join(pair(k, v) for k, v in params.items()))
    out += record(PARAMS, b"")
    if body:
        out += record(STDIN, body)
    return out + record(STDIN, b"")


def stdout_records(sock):
    """The STDOUT records' contents of one answer, up to END_REQUEST
    (which must come last and alone)."""
    buf, out = b"", []
    while True:
        while len(buf) < 8 or len(buf) < 8 + sum(
                struct.unpack("!BBHHBB", buf[:8])[3:5]):
            chunk = sock.recv(65536)
            assert chunk, "connection closed before END_REQUEST"
            buf += chunk
        _, typ, _, clen, plen, _ = struct.unpack("!BBHHBB", buf[:8])
        content, buf = buf[8:8 + clen], buf[8 + clen + plen:]
        if typ == STDOUT:
            out.append(content)
        elif typ == END:
            assert buf == b"", "bytes after END_REQUEST"
            return out


def answer(sock):
    """The STDOUT of one request, up to its END_REQUEST."""
    return b"".join(stdout_records(sock)).decode()


def connect(st, timeout=10):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(st.api_socket)
    return s


def worker(st):
    """The pid of the only worker."""
    master = st.pid("mqttd-api")

    def kids():
        return sorted(children(master))
    ws = wait_for(lambda: len(kids()) == 1 and kids())
    assert ws
    return ws[0]


def nfds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def one_worker_two_threads():
    return Stack(workers=1, env={"MQTTD_API_THREADS": "2"})


def test_more_kept_connections_than_threads():
    with one_worker_two_threads() as st:
        conns = [connect(st) for _ in range(40)]
        try:
            for _ in range(3):  # the same connections, kept
                for c in conns:
                    c.sendall(request("GET", "/status"))
                for c in conns:
                    assert answer(c).startswith("Status: 200"), c
        finally:
            for c in conns:
                c.close()


def test_slow_command_does_not_hold_other_connections():
    with one_worker_two_threads() as st:
        p = st.procs["mqttd"]
        os.killpg(p.pid, signal.SIGTERM)
        p.wait(timeout=10)
        # a control socket that accepts and never answers: the publish
        # waits for it until the workers' command timeout (3 s)
        ctl = st.ctl_socket
        if os.path.exists(ctl):
            os.unlink(ctl)
        silent = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        silent.bind(ctl)
        silent.listen(16)
        slow, fast = connect(st), connect(st)
        try:
            t0 = time.monotonic()
            slow.sendall(request("POST", "/api/v2/mqtt/publish",
                                 b'{"topic":"a"}', auth=st.credentials))
            time.sleep(0.3)  # the command is waiting for the broker
            for _ in range(20):
                fast.sendall(request("GET", "/status"))
                assert answer(fast).startswith("Status: 503")
            assert time.monotonic() - t0 < 2
            r = answer(slow)
            assert '"code":101' in r and "in time" in r, r
            assert time.monotonic() - t0 > 2.5
        finally:
            slow.close()
            fast.close()
            silent.close()
            os.unlink(ctl)


def test_connections_ending_badly():
    with one_worker_two_threads() as st:
        w = worker(st)
        c = connect(st)
        c.sendall(request("GET", "/status"))
        assert answer(c).startswith("Status: 200")
        c.close()
        base = wait_for(lambda: nfds(w))
        full = request("GET", "/status")
        for i in range(20):
            s = connect(st)  # EOF before any record
            s.close()
            s = connect(st)  # EOF in the middle of a record
            s.sendall(full[:11])
            s.close()
            s = connect(st)  # a role libfcgi does not know
            s.sendall(request("GET", "/status", role=9))
            s.close()
            s = connect(st)  # gone before the answer is written
            s.sendall(full)
            s.close()
            s = connect(st)  # reset (SO_LINGER 0) after a kept request
            s.sendall(full)
            answer(s)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                         struct.pack("ii", 1, 0))
            s.sendall(full[:20])
            s.close()
        c = connect(st)
        c.sendall(request("GET", "/status"))
        assert answer(c).startswith("Status: 200")
        c.close()
        assert worker(st) == w
        assert wait_for(lambda: nfds(w) <= base), (nfds(w), base)


def test_answer_past_64k_is_framed_and_the_connection_kept():
    # 40 subscriptions of 2000-byte topics: an answer of ~85 KB, past
    # both libfcgi's 8 KB buffer and a FastCGI record's 64 KB
    with one_worker_two_threads() as st:
        topics = ["t/%02d/" % i + "x" * 1995 for i in range(40)]
        c = st.mqtt_client("big")
        try:
            r, _ = c.subscribe([(t, 1) for t in topics])
            assert r == 0
            s = connect(st)
            try:
                def fetch():
                    s.sendall(request("GET", "/api/v2/subscriptions/big",
                                      auth=st.credentials))
                    return stdout_records(s)
                recs = wait_for(lambda: (lambda rs: len(b"".join(rs))
                                         > 80000 and rs)(fetch()))
                assert recs, "the subscriptions never showed"
                # data records of at most 64 KB, then the empty one that
                # ends the stream
                assert recs[-1] == b"" and all(recs[:-1])
                assert len(recs) >= 3
                assert all(len(x) <= 65535 for x in recs)
                text = b"".join(recs).decode()
                head, body = text.split("\r\n\r\n", 1)
                assert "Status: 200" in head
                assert f"Content-Length: {len(body)}" in head
                got = json.loads(body)["result"]["objects"]
                assert sorted(o["topic"] for o in got) == sorted(topics)
                # the same kept connection answers the next request
                s.sendall(request("GET", "/status"))
                assert answer(s).startswith("Status: 200")
            finally:
                s.close()
        finally:
            c.disconnect()
            c.loop_stop()
