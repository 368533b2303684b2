"""No leaked keys, and TLS verification that cannot be switched off.

A canary API key (accepted by an in-process local AILab server) goes through every key-bearing path
we have on this machine: the CLI (retouch one file and a batch, successes and failures, ``key set``
from stdin, ``key test``, ``key show``), both GIMP adapters on their stand-ins (retouch, batch,
failures, the Settings procedure storing the key from its password dialog). Then every captured
output, log record (DEBUG, all loggers), exception text, report file, temp folder, config folder
(except the key file itself), GIMP stand-in profile and procedure data store, and the server's
request log is searched for it: zero hits. Real GIMP 3 profiles and an XCF: tests/hosts/test_secrets_real_gimp.py.
"""
import io
import logging
import os
import stat
import sys
import tempfile
import warnings

import matrix
import netfaults
import numpy as np
import pytest
import requests
from PIL import Image

from smart_beauty import Client, errors, settings
from virtual_clock import VirtualClock

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CANARY = "sbcanary-7f3e9a1c5d2b4e60a8f1"


_load = matrix.load_module


class _Handle:
    def __init__(self, srv):
        self.srv, self.url, self.valid_key = srv, srv.url, CANARY

    def inject(self, name, **params):
        return self.srv.inject(name, **params)


@pytest.fixture
def canary_server():
    from smart_beauty_server import LocalAilab

    srv = LocalAilab(port=0, api_keys=[CANARY], job_seconds=0.05).start()
    try:
        yield srv
    finally:
        srv.stop()


def _scan_tree(root, skip=()):
    hits = []
    for d, _, files in os.walk(root):
        for name in files:
            path = os.path.join(d, name)
            if path in skip or os.path.islink(path):
                continue
            with open(path, "rb") as f:
                if CANARY.encode() in f.read():
                    hits.append(path)
    return hits


def test_canary_key_appears_nowhere(canary_server, tmp_path, monkeypatch, capfd, caplog):
    from smart_beauty_cli import cli

    caplog.set_level(logging.DEBUG)
    root = str(tmp_path)
    config = os.path.join(root, "config")
    tmp = os.path.join(root, "tmp")
    os.makedirs(tmp)
    monkeypatch.setattr(tempfile, "tempdir", tmp)
    monkeypatch.setenv("SMART_BEAUTY_CONFIG_DIR", config)
    monkeypatch.setenv("AILAB_API_BASE", canary_server.url)
    monkeypatch.delenv("AILAB_API_KEY", raising=False)
    monkeypatch.setenv("SMART_BEAUTY_DEADLINE", "3")
    texts = []

    # CLI: the key from stdin into the 0600 file, tested, shown masked
    monkeypatch.setattr(sys, "stdin", io.StringIO(CANARY + "\n"))
    assert cli.main(["key", "set"]) == 0
    key_file = os.path.join(config, "api-key")
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert cli.main(["key", "test"]) == 0
    assert cli.main(["key", "show"]) == 0
    src = os.path.join(root, "in")
    os.makedirs(src)
    rs = np.random.RandomState(5)
    for i in range(3):
        Image.fromarray(rs.randint(0, 256, size=(40, 50, 3)).astype(np.uint8)).save(os.path.join(src, "p%d.png" % i))
    out = os.path.join(root, "out")
    files = [os.path.join(src, n) for n in sorted(os.listdir(src))]
    assert cli.main(["retouch", files[0], "-o", out, "--backend", "cloud"]) == 0
    assert cli.main(["retouch"] + files + ["-o", out, "--backend", "cloud", "--force"]) in (0, 1)
    for name, params in (("no_credits", {}), ("error", {"status": 500, "code": "PROCESSING_FAILURE",
                                                         "message": "boom " + CANARY[:6]}),
                         ("drop", {"endpoint": "submit"})):
        canary_server.reset()
        canary_server.inject(name, **params)
        assert cli.main(["retouch"] + files + ["-o", out, "--backend", "cloud", "--force"]) == 1
    canary_server.reset()
    # the library's own errors and reprs
    with Client(CANARY, canary_server.url) as client:
        texts.append(repr(client))
        canary_server.inject("error", status=401, code="ERROR_USER_NOT_EXISTS", endpoint="credits")
        with pytest.raises(errors.SmartBeautyError) as info:
            client.credits()
        texts += [str(info.value), repr(info.value), str(info.value.detail)]
    canary_server.reset()
    texts.append(repr(settings.Settings.load()))

    # GIMP adapters on the stand-ins, key from the config file (as a user who used Settings...)
    handle = _Handle(canary_server)
    for mod_path, name in (("tests/gimp2/conftest.py", "sb_secrets_g2"), ("tests/gimp3/conftest.py", "sb_secrets_g3")):
        sys.path.insert(0, os.path.join(REPO, "tests", "stubs"))
        conf = _load(os.path.join(REPO, mod_path), name)
        g = (conf.G2 if hasattr(conf, "G2") else conf.G3)(tmp_path / name, handle, monkeypatch)
        monkeypatch.setenv("SMART_BEAUTY_CONFIG_DIR", config)   # the stored key, not the environment
        monkeypatch.delenv("AILAB_API_KEY", raising=False)
        monkeypatch.setattr(tempfile, "tempdir", tmp)
        monkeypatch.setattr(g.plugin, "_ask_key", lambda masked: CANARY)
        batch_out = os.path.join(root, name + "-out")
        if name.endswith("g2"):
            ri = g.gimpfu.RUN_INTERACTIVE
            g.pdb.python_fu_smart_beauty_settings(run_mode=ri)
            g.pdb.python_fu_smart_beauty_batch(src, batch_out, 0.8, 0, run_mode=g.gimpfu.RUN_NONINTERACTIVE)
            canary_server.inject("no_credits")
            g.fails("python_fu_smart_beauty_batch", src, batch_out + "2", 0.8, 0,
                    run_mode=g.gimpfu.RUN_NONINTERACTIVE)
            shelf = g.session.data
        else:
            g.run("python-fu-smart-beauty-settings", run_mode=g.Gimp.RunMode.INTERACTIVE)
            g.run("python-fu-smart-beauty-batch", input=src, output_folder=batch_out, beauty_level=0.8)
            canary_server.inject("no_credits")
            g.run("python-fu-smart-beauty-batch", input=src, output_folder=batch_out + "2", beauty_level=0.8)
            shelf = getattr(g.session, "data", {})
        canary_server.reset()
        texts += list(g.session.seen)     # messages, and the errors GIMP shows for a failed procedure
        texts += [repr(k) + repr(v) for k, v in dict(shelf).items()]
        assert os.listdir(batch_out), "the batch did not run: %r" % g.session.messages

    captured = capfd.readouterr()
    texts += [captured.out, captured.err, caplog.text]
    texts += [repr(entry) for entry in canary_server.requests]
    assert [t for t in texts if CANARY in t] == []
    assert _scan_tree(root, skip={key_file}) == []
    with open(key_file) as f:
        assert f.read().strip() == CANARY   # the one place it is meant to be


def test_group_or_world_readable_key_file_is_refused(tmp_path):
    env = {settings.ENV_CONFIG_DIR: str(tmp_path / "cfg")}
    path = settings.save_api_key(CANARY, env)
    for mode in (0o640, 0o604, 0o660, 0o666):
        os.chmod(path, mode)
        with pytest.raises(errors.ConfigError) as info:
            settings.Settings.load(env)
        assert "chmod 600" in str(info.value) and CANARY not in str(info.value)
    os.chmod(path, 0o600)
    assert settings.Settings.load(env).api_key == CANARY


# ------------------------------------------------------------------ TLS cannot be switched off
@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    srv = netfaults.TlsServer(str(tmp_path_factory.mktemp("tls-secrets")))
    yield srv
    srv.close()


@pytest.mark.parametrize("env", [{}, {"CURL_CA_BUNDLE": ""}, {"REQUESTS_CA_BUNDLE": ""},
                                 {"REQUESTS_CA_BUNDLE": "", "CURL_CA_BUNDLE": ""},
                                 {"REQUESTS_CA_BUNDLE": " "}], ids=["plain", "curl-empty", "requests-empty",
                                                                  "both-empty", "blank"])
@pytest.mark.parametrize("tamper", ["none", "session-verify-false"])
def test_untrusted_certificate_is_always_refused(tls, monkeypatch, env, tamper):
    for k in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(k, raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    tls.reset()
    with Client(CANARY, tls.url) as client:
        if tamper == "session-verify-false":
            client.session.verify = False
        with pytest.raises(errors.NetworkError) as info:
            client.credits()
    assert "certificate problem" in str(info.value)
    assert tls.heads == [], "the request (and key) went over an unverified connection"
    assert tls.connections == 1, "a certificate error must not be retried"


def test_requests_itself_would_switch_verification_off(tls, monkeypatch):
    """Why the guard exists: a plain Session with verify="" (what requests 2.27 makes of an empty
    CURL_CA_BUNDLE) sends the request over an unverified connection. Shows the check can fail."""
    tls.reset()
    with requests.Session() as s, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = s.get(tls.url + "/api/common/query-credits", verify="", timeout=5)
    assert r.status_code == 200 and tls.heads


def test_a_ca_bundle_from_the_environment_is_honoured(tls, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", tls.cert)
    tls.reset()
    with Client(CANARY, tls.url) as client:
        packs = client.credits()
    assert packs[0]["balance"] == 7 and len(tls.heads) == 1


def test_a_missing_ca_bundle_is_a_clear_error(tls, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/nonexistent/ca.pem")
    tls.reset()
    clock = VirtualClock()
    with Client(CANARY, tls.url, clock=clock) as client, pytest.raises(errors.ConfigError) as info:
        client.credits()
    assert "REQUESTS_CA_BUNDLE" in str(info.value) and tls.heads == []
    assert clock.waits == [], "a configuration error is not worth retrying"


@pytest.mark.parametrize("url", ["http://192.168.1.10:8787", "http://example.com", "http://10.0.0.1",
                                 "http://127.attacker.invalid:8080", "http://127.0.0.1.nip.io:8787"])
def test_plain_http_to_a_non_loopback_host_is_refused(url):
    with pytest.raises(errors.ConfigError):
        Client(CANARY, url)
