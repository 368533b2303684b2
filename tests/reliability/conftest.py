"""Fixtures of the fault matrix (Python 3 only): loopback network faults, the recorder of outcomes."""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import matrix  # noqa: E402
import netfaults  # noqa: E402


@pytest.fixture(scope="session")
def net(tmp_path_factory):
    """Closed port, connect-timeout listener, self-signed TLS server (session-wide)."""
    ct = netfaults.ConnectTimeoutListener()
    tls = netfaults.TlsServer(str(tmp_path_factory.mktemp("tls")))
    bases = {
        "refused": "http://127.0.0.1:%d" % netfaults.closed_port(),
        "dns": "https://no-such-host.invalid",
        "connect_timeout": "http://127.0.0.1:%d" % ct.port,
        "tls": tls.url,
        # a name, not an address: it must be refused, never resolved (.invalid never resolves anyway)
        "name_127": "http://127.attacker.invalid:%d" % netfaults.closed_port(),
    }
    yield {"bases": bases, "tls": tls, "ct": ct}
    ct.close()
    tls.close()

class Recorder:
    """Observed cells; compared with outcomes.json at the end of each test (or saved when recording)."""

    def __init__(self):
        self.recorded = matrix.load()
        self.observed = {}

    def check(self, fid, entry, outcome):
        self.observed.setdefault(fid, {})[entry] = outcome
        if matrix.RECORD:
            return
        want = self.recorded.get(fid, {}).get(entry)
        assert want is not None, ("no recorded outcome for %s x %s; run SB_RELIABILITY_RECORD=1 pytest "
                                  "tests/reliability and commit outcomes.json + docs/reliability.md" % (fid, entry))
        assert outcome == want, ("%s x %s changed (SB_RELIABILITY_RECORD=1 to accept):\nobserved %r\nrecorded %r"
                                 % (fid, entry, outcome, want))

    def save(self):
        if not (matrix.RECORD and self.observed):
            return
        cells = matrix.load()
        for fid, entries in self.observed.items():
            cells.setdefault(fid, {}).update(entries)
        matrix.save(cells)

@pytest.fixture(scope="session")
def recorder():
    rec = Recorder()
    yield rec
    rec.save()
