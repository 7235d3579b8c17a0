# SPDX-License-Identifier: BSD-2-Clause
"""mqttd_auth_jwt through the real broker: tokens made by python3-jwt
(HS256 with a secret; RS256 / ES256 with keys made by the openssl tool),
carried in the password or the username; exp with leeway, claim checks,
and the ACL claim enforced on PUBLISH and SUBSCRIBE."""
import base64
import hashlib
import hmac
import json
import subprocess
import time

import jwt

import mqtt_raw as m
from broker_fixture import broker_factory  # noqa: F401
from test_broker_plugins import switch, try_connect

SECRET = "s3cret-for-tests"


def hs(claims, secret=SECRET, alg="HS256"):
    return jwt.encode(claims, secret, algorithm=alg)


def forge_hs256(claims, key):
    """An HS256 token keyed with key (python3-jwt refuses a PEM key as a
    secret, so this signs by hand)."""
    def b64(d):
        return base64.urlsafe_b64encode(d).rstrip(b"=")
    si = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode()) + b"." + \
        b64(json.dumps(claims).encode())
    return (si + b"." + b64(hmac.new(key, si, hashlib.sha256).digest())
            ).decode()


def jwt_broker(broker_factory, *extra, secret=SECRET):
    b = broker_factory(start=False)
    args = ["--allow-anonymous", "false"]
    if secret:
        args += ["--auth-jwt-secret", secret]
    b.extra_args = args + list(extra)
    b.start()
    assert switch(b, "mqttd_auth_jwt", True) == {"code": 0}
    return b


def openssl_key(b, kind):
    """A private key and its public PEM, made by the openssl tool."""
    priv, pub = b.path(kind + ".key"), b.path(kind + ".pub")
    if kind == "rsa":
        gen = ["openssl", "genpkey", "-algorithm", "RSA",
               "-pkeyopt", "rsa_keygen_bits:2048", "-out", priv]
    else:
        gen = ["openssl", "genpkey", "-algorithm", "EC",
               "-pkeyopt", "ec_paramgen_curve:P-256", "-out", priv]
    subprocess.run(gen, check=True, capture_output=True, timeout=60)
    subprocess.run(["openssl", "pkey", "-in", priv, "-pubout", "-out", pub],
                   check=True, capture_output=True, timeout=10)
    with open(priv) as f:
        return f.read(), pub


def test_jwt_hs256_allow_deny(broker_factory):
    """A valid token in the password: in; a wrong signature, an expired
    token, garbage, alg none: CONNACK 4; no password falls through to
    allow_anonymous (false: 5).  The plugin off: the token means
    nothing (5)."""
    b = jwt_broker(broker_factory)
    now = int(time.time())
    good = hs({"sub": "x", "exp": now + 60})
    assert try_connect(b, "c1", "u", good) == 0
    assert try_connect(b, "c1", "u", hs({"exp": now + 60}, "other")) == 4
    assert try_connect(b, "c1", "u", hs({"exp": now - 120})) == 4
    assert try_connect(b, "c1", "u", "not.a.token") == 4
    none = jwt.encode({"exp": now + 60}, None, algorithm="none")
    assert try_connect(b, "c1", "u", none) == 4
    assert try_connect(b, "c1", "u", "x" * 9000) == 4
    assert try_connect(b, "c1") == 5
    # the broker is still there and serving
    assert try_connect(b, "c1", "u", good) == 0
    assert switch(b, "mqttd_auth_jwt", False) == {"code": 0}
    assert try_connect(b, "c1", "u", good) == 5


def test_jwt_leeway(broker_factory):
    """exp 5 s ago is within a 30 s leeway; 60 s ago is not."""
    b = jwt_broker(broker_factory, "--auth-jwt-leeway", "30")
    now = int(time.time())
    assert try_connect(b, "c1", "u", hs({"exp": now - 5})) == 0
    assert try_connect(b, "c1", "u", hs({"exp": now - 60})) == 4
    assert try_connect(b, "c1", "u", hs({"nbf": now + 10})) == 0
    assert try_connect(b, "c1", "u", hs({"nbf": now + 120})) == 4


def test_jwt_rs256_and_es256_from_openssl(broker_factory):
    """RS256 and ES256 tokens verify against the public key file; an
    HS256 token made with the public key's text as its secret (algorithm
    confusion) is refused."""
    for kind, alg in (("rsa", "RS256"), ("ec", "ES256")):
        b = broker_factory(start=False)
        priv, pub = openssl_key(b, kind)
        b.extra_args = ["--allow-anonymous", "false", "--auth-jwt-pubkey",
                        pub]
        b.start()
        assert switch(b, "mqttd_auth_jwt", True) == {"code": 0}
        exp = int(time.time()) + 60
        tok = jwt.encode({"exp": exp}, priv, algorithm=alg)
        assert try_connect(b, "c1", "u", tok) == 0, alg
        with open(pub, "rb") as f:
            forged = forge_hs256({"exp": exp}, f.read())
        assert try_connect(b, "c1", "u", forged) == 4, alg
        b.stop()


def test_jwt_from_username_and_claims(broker_factory):
    """auth_jwt_from username: the token is the username; with
    verify_clientid the clientid claim must be the client's id."""
    b = jwt_broker(broker_factory, "--auth-jwt-from", "username",
                   "--auth-jwt-verify-clientid", "true")
    tok = hs({"clientid": "dev-7", "exp": int(time.time()) + 60})
    assert try_connect(b, "dev-7", tok, None) == 0
    assert try_connect(b, "dev-8", tok, None) == 4
    # the username "u" is what is judged, and it is no token
    assert try_connect(b, "dev-7", "u", tok) == 4


def test_jwt_verify_username(broker_factory):
    b = jwt_broker(broker_factory, "--auth-jwt-verify-username", "true")
    tok = hs({"username": "alice", "exp": int(time.time()) + 60})
    assert try_connect(b, "c1", "alice", tok) == 0
    assert try_connect(b, "c1", "mallory", tok) == 4


def test_jwt_acl_claim_publish_subscribe(broker_factory):
    """The token's acl claim is all the client may do: a PUBLISH outside
    its pub filters is dropped (a subscriber does not get it), a
    SUBSCRIBE outside its sub filters gets 0x80; %c and %u expand."""
    b = jwt_broker(broker_factory, "--auth-jwt-acl-claim", "acl")
    tok = hs({"exp": int(time.time()) + 60,
              "acl": {"pub": ["devices/%c/#"], "sub": ["cmd/%u/+"],
                      "pubsub": ["shared/x"]}})
    watcher_tok = hs({"exp": int(time.time()) + 60})  # no claim: no limit
    w = m.connected(b.port, "watcher", username="w", password=watcher_tok)
    assert w.subscribe(("#", 0)) == [0]
    c = m.connected(b.port, "dev-1", username="bob", password=tok)
    assert c.subscribe(("cmd/bob/+", 1), ("cmd/eve/+", 1), ("shared/x", 0),
                       ("#", 0), pid=2) == [1, 0x80, 0, 0x80]
    c.send(m.publish("devices/dev-1/t", b"ok", qos=1, pid=5))
    assert c.expect(m.PUBACK).pid == 5
    c.send(m.publish("devices/dev-2/t", b"no", qos=1, pid=6))
    assert c.expect(m.PUBACK).pid == 6  # v3: acked, dropped
    c.send(m.publish("shared/x", b"ok2"))
    assert c.expect(m.PUBLISH).topic == "shared/x"  # its own subscription
    got = [w.expect(m.PUBLISH, timeout=2).topic for _ in range(2)]
    assert got == ["devices/dev-1/t", "shared/x"]
    w.expect_nothing(0.5)  # devices/dev-2/t never came
    # Off: the claim no longer limits anyone (no other ACL plugin on).
    assert switch(b, "mqttd_auth_jwt", False) == {"code": 0}
    assert c.subscribe(("cmd/eve/+", 0), pid=3) == [0]
