# SPDX-License-Identifier: BSD-2-Clause
"""Certificates for the TLS tests, made with the openssl CLI: a CA, a
server certificate for 127.0.0.1 / localhost signed by it, a client
certificate (CN "device42") signed by it, and a client certificate signed
by another CA that the broker does not trust.

    certs = make_certs(tmpdir)      # dict of paths
    certs["ca"], certs["server"], certs["server_key"], certs["client"],
    certs["client_key"], certs["foreign"], certs["foreign_key"]
"""
import os
import subprocess


def _run(*args):
    subprocess.run(["openssl", *args], check=True, capture_output=True,
                   timeout=30)


def _key_and_csr(d, name, cn):
    key, csr = os.path.join(d, name + ".key"), os.path.join(d, name + ".csr")
    _run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=" + cn)
    return key, csr


def _ca(d, name):
    key, pem = os.path.join(d, name + ".key"), os.path.join(d, name + ".pem")
    _run("req", "-x509", "-newkey", "ec", "-pkeyopt",
         "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", pem,
         "-days", "2", "-subj", "/CN=" + name)
    return key, pem


def _sign(d, name, csr, ca_pem, ca_key, ext=None):
    pem = os.path.join(d, name + ".pem")
    args = ["x509", "-req", "-in", csr, "-CA", ca_pem, "-CAkey", ca_key,
            "-CAcreateserial", "-out", pem, "-days", "2"]
    if ext:
        extfile = os.path.join(d, name + ".ext")
        with open(extfile, "w") as f:
            f.write(ext + "\n")
        args += ["-extfile", extfile]
    _run(*args)
    return pem


def server_cert(d, name, ca_pem, ca_key, cn="localhost"):
    key, csr = _key_and_csr(d, name, cn)
    pem = _sign(d, name, csr, ca_pem, ca_key,
                "subjectAltName=DNS:localhost,IP:127.0.0.1")
    return pem, key


def make_certs(d):
    ca_key, ca = _ca(d, "testca")
    fca_key, fca = _ca(d, "otherca")
    server, server_key = server_cert(d, "server", ca, ca_key)
    ckey, ccsr = _key_and_csr(d, "client", "device42")
    client = _sign(d, "client", ccsr, ca, ca_key)
    fkey, fcsr = _key_and_csr(d, "foreign", "intruder")
    foreign = _sign(d, "foreign", fcsr, fca, fca_key)
    return {"ca": ca, "ca_key": ca_key, "server": server,
            "server_key": server_key, "client": client, "client_key": ckey,
            "foreign": foreign, "foreign_key": fkey}
