"""Check Setup / ``smart-beauty doctor``: what works, what does not, and the exact fix for each problem.

Shared by the GIMP 3 and GIMP 2.10 procedure ``python-fu-smart-beauty-check`` and the CLI's
``smart-beauty doctor``. Reports GIMP and Python versions, where the plug-in and this library were
loaded from, the ``requests`` version and CA bundle, whether an API key is configured (masked) and
accepted (the service's credits query), whether the offline engine is installed and starts; then
whether a retouch would work (:attr:`Report.ready`). The key itself is never printed.
"""
from __future__ import absolute_import, division, print_function, unicode_literals

import os
import sys

from . import errors, localserver
from . import settings as sb_settings
from .clock import SYSTEM as CLOCK
from .compat import text_type

OK, INFO, WARN, FAIL = "ok", "info", "warn", "fail"
_MARK = {OK: "OK  ", INFO: "    ", WARN: "WARN", FAIL: "FAIL"}
KEY_FIX = ("store it with Filters > Enhance > Smart Beauty Settings... (or 'smart-beauty key set'), "
           "or set AILAB_API_KEY")


class Finding(object):
    def __init__(self, status, topic, text, fix=None):
        self.status, self.topic, self.text, self.fix = status, topic, text, fix

    def line(self):
        out = "%s %s: %s" % (_MARK[self.status], self.topic, self.text)
        if self.fix:
            out += " -> Fix: " + self.fix
        return out

    def __repr__(self):
        return "Finding(%r, %r, %r)" % (self.status, self.topic, self.text)


class Report(object):
    def __init__(self, backend):
        self.backend = backend
        self.findings = []
        self.cloud_ok = False
        self.local_ok = False
        self.uses = None          # "cloud" / "local": what a retouch would use

    def add(self, status, topic, text, fix=None):
        self.findings.append(Finding(status, topic, text, fix))

    @property
    def ready(self):
        return self.uses is not None

    @property
    def problems(self):
        return [f for f in self.findings if f.status == FAIL]

    def text(self):
        lines = [f.line() for f in self.findings]
        if self.ready:
            lines.append("READY: a retouch would use %s." % ("the AILab cloud service" if self.uses == "cloud"
                                                           else "the offline engine on this computer"))
        else:
            lines.append("NOT READY: a retouch would fail; apply the fix%s above." % (
                "es" if len(self.problems) > 1 else ""))
        return "\n".join(lines)

    def summary(self):
        """One or two sentences for a GIMP message when something is wrong."""
        if self.ready:
            return "Smart Beauty is ready (%s)." % ("cloud" if self.uses == "cloud" else "offline engine")
        fixes = [f.fix for f in self.problems if f.fix]
        return "Smart Beauty is not ready: " + ("; or ".join(fixes) if fixes else "see Check Setup") + "."


def _requests_findings(report, env):
    try:
        import requests
    except ImportError as e:
        report.add(FAIL, "requests", "cannot be imported (%s)" % e,
                   "re-run %s (it puts requests beside the plug-in in vendor/)" % localserver.installer_command())
        return
    where = os.path.dirname(os.path.abspath(requests.__file__))
    report.add(INFO, "requests", "%s from %s" % (requests.__version__, where))
    try:
        from .client import ca_bundle

        bundle, source = ca_bundle(env)     # the one the client really verifies with
    except Exception:  # noqa: BLE001
        bundle, source = None, "?"
    if bundle and os.path.exists(bundle):
        report.add(INFO, "CA bundle", "%s (%s)" % (bundle, source))
    else:
        report.add(FAIL, "CA bundle", "%s (%s) does not exist, so secure connections will fail" % (bundle, source),
                   "set REQUESTS_CA_BUNDLE to your system's CA file (Linux: /etc/ssl/certs/ca-certificates.crt) "
                   "or re-run %s" % localserver.installer_command())
    try:
        import ssl
        report.add(INFO, "TLS", ssl.OPENSSL_VERSION)
    except ImportError:
        report.add(FAIL, "TLS", "this Python has no ssl module", "use a GIMP build whose Python has SSL support")


def _network_fix(error):
    text = text_type(error).lower()
    if "certificate" in text or "ssl" in text:
        return ("the system clock or CA certificates: set REQUESTS_CA_BUNDLE to your CA file (a corporate "
                "proxy's CA too); Windows/macOS: re-run %s to refresh the bundled certifi"
                % localserver.installer_command())
    return "check the internet connection, a proxy (HTTPS_PROXY) or AILAB_API_BASE"


def _cloud_findings(report, env, check_network):
    try:
        settings = sb_settings.Settings.load(env)
    except errors.SmartBeautyError as e:
        report.add(FAIL, "settings", text_type(e), text_type(e).split(";")[-1].strip() or None)
        return None
    report.add(INFO, "config folder", settings.directory)
    if settings.api_key is None:
        report.add(INFO, "API key", "not set (only needed for the AILab cloud)", None)
        return settings
    report.add(INFO, "API key", "%s (from the %s); service %s" % (settings.masked_key(), settings.key_source,
                                                                  settings.base_url))
    if not check_network:
        return settings
    try:
        with localserver.open_client("cloud", settings, status_retries=1, connect_timeout=10.0,
                                     read_timeout=20.0) as client:
            total = client.balance()
        if total is not None and total <= 0:
            report.add(FAIL, "API key", "accepted, but the account has no credits left",
                       "top it up on ailabtools.com")
        else:
            report.add(OK, "API key", "accepted by the service; remaining credits: %g" % (total or 0))
            report.cloud_ok = True
    except errors.AuthError:
        report.add(FAIL, "API key", "NOT accepted by the service (wrong, expired or revoked key)",
                   "copy the key again from your ailabtools.com account and " + KEY_FIX)
    except errors.NoCreditsError:
        report.add(FAIL, "API key", "accepted, but the account has run out of credits", "top it up on ailabtools.com")
    except errors.NetworkError as e:
        report.add(FAIL, "API key", "could not be checked: %s" % e, _network_fix(e))
    except errors.SmartBeautyError as e:
        report.add(FAIL, "API key", "could not be checked: %s" % e, "try again in a few minutes")
    return settings


def _local_findings(report, env, start_engine):
    cli = localserver.find_engine(env)
    if cli is None:
        report.add(FAIL if report.backend == "local" else WARN, "offline engine",
                   "not installed (looked for: %s)" % localserver.describe_missing(env),
                   localserver.missing_message(env).split("; ", 1)[-1].rstrip("."))
        return
    report.add(INFO, "offline engine", "command %s (%s)" % (cli, cli.where))
    if not start_engine:
        return
    try:
        t0 = CLOCK.now()
        server = localserver.ensure(env=env)
        with localserver.open_client("local", start_local=lambda: server, status_retries=0, connect_timeout=5.0,
                                     read_timeout=10.0) as client:
            client.credits()
        report.add(OK, "offline engine", "%s (%s engine at %s, %.1f s)" % (
            "running" if server.reused else "starts", server.engine or "offline", server.url, CLOCK.now() - t0))
        report.local_ok = True
    except errors.SmartBeautyError as e:
        report.add(FAIL if report.backend != "cloud" else WARN, "offline engine", "does not start: %s" % e,
                   localserver.INSTALL_FIX)


def run(gimp_version=None, plugin_path=None, backend="auto", env=None, check_network=True, start_engine=True):
    """Collect every finding. ``gimp_version``: e.g. "3.0.4" (None on the command line)."""
    env = os.environ if env is None else env
    backend = localserver.backend_name(backend)
    report = Report(backend)
    report.add(INFO, "GIMP", gimp_version or "not running inside GIMP (command line)")
    report.add(INFO, "Python", "%s (%s)" % (sys.version.split()[0], sys.executable or "embedded"))
    if plugin_path:
        report.add(INFO, "plug-in", os.path.abspath(plugin_path))
    report.add(INFO, "library", os.path.dirname(os.path.abspath(__file__)))
    _requests_findings(report, env)
    settings = None
    settings_problem = None
    try:  # every retouch reads the settings first, whichever backend: broken settings = nothing works
        sb_settings.Settings.load(env)
    except errors.SmartBeautyError as e:
        settings_problem = e
        if backend == "local":
            report.add(FAIL, "settings", text_type(e), text_type(e).split(";")[-1].strip() or None)
    if backend in ("auto", "cloud"):
        settings = _cloud_findings(report, env, check_network)
        if backend == "cloud" and settings is not None and not settings.api_key:
            report.add(FAIL, "API key", "the cloud backend was chosen but no key is set", KEY_FIX)
    if backend in ("auto", "local"):
        if backend == "auto" and report.cloud_ok:
            report.add(INFO, "offline engine", "not needed: a key is set, so 'auto' uses the cloud")
        else:
            _local_findings(report, env, start_engine)
    if backend == "auto" and settings is not None and settings.api_key:
        report.uses = "cloud" if report.cloud_ok else None      # auto + key = cloud, even if it fails
    elif report.cloud_ok and backend == "cloud":
        report.uses = "cloud"
    elif report.local_ok:
        report.uses = "local"
    if settings_problem is not None:
        report.uses = None  # e.g. a key file other users can read: every retouch would stop at it
    if backend == "auto" and settings is not None and not settings.api_key and not report.local_ok:
        report.add(FAIL, "setup", "no API key and no working offline engine, so nothing can retouch yet",
                   "%s, or %s" % (KEY_FIX, localserver.INSTALL_FIX))
    return report


PREFLIGHT_SECONDS = 20.0


def preflight(backend="auto", env=None):
    """Before a dialog opens: None when a retouch can start, else one sentence saying what to do.
    Checks the key with the service (credits query, no upload) when the cloud would be used; only
    looks for the offline engine command (it is started by the job itself)."""
    env = os.environ if env is None else env
    try:
        settings = sb_settings.Settings.load(env)
        chosen = localserver.resolve(backend, settings)
    except errors.SmartBeautyError as e:
        return text_type(e)
    if chosen == "local":
        return None if localserver.find_engine(env) else localserver.missing_message(env)
    if not settings.api_key:
        return errors.ConfigError().user_message
    try:
        with localserver.open_client("cloud", settings, status_retries=1) as client:
            # bounded: an unreachable service must not hold the dialog for minutes (urllib3 repeats a
            # timed-out connect, each with the full connect timeout)
            client.credits(client.waiter(sb_settings.deadline_from_env(env, default=PREFLIGHT_SECONDS)))
    except errors.AuthError as e:
        return "%s (Nothing was sent.)" % text_type(e)
    except errors.SmartBeautyError as e:
        return text_type(e)
    return None


# Run a function on a worker thread while GIMP's main thread keeps ticking (shared with localserver).
in_background = localserver.in_background


def first_run_problem(env=None):
    """None, or what to do when neither an API key nor the offline engine is set up (no network)."""
    env = os.environ if env is None else env
    try:
        settings = sb_settings.Settings.load(env)
    except errors.SmartBeautyError as e:
        return text_type(e)
    if settings.api_key or localserver.find_cli(env):
        return None
    return ("Smart Beauty needs an AILab API key or the offline engine, and neither is set up yet (nothing was "
            "sent): %s, or %s." % (KEY_FIX, localserver.INSTALL_FIX))


def test_key(key=None, env=None):
    """One sentence for the settings dialog's Test key button: does ``key`` (default: the stored
    one) work? Never contains the key itself."""
    env = os.environ if env is None else env
    try:
        settings = sb_settings.Settings.load(env)
    except errors.SmartBeautyError as e:
        return text_type(e)
    key = key or settings.api_key
    if not key:
        return "No key typed or stored yet; paste your AILab API key above and press Test key."
    masked = sb_settings.mask(key)
    try:
        typed = sb_settings.Settings(api_key=key, base_url=settings.base_url)
        with localserver.open_client("cloud", typed, status_retries=1) as client:
            total = client.balance()
    except errors.AuthError:
        return "The key %s was NOT accepted by the service; copy it again from your ailabtools.com account." % masked
    except errors.NetworkError as e:
        return "The key %s could not be tested: %s Fix: %s." % (masked, e, _network_fix(e))
    except errors.SmartBeautyError as e:
        return "The key %s could not be tested: %s" % (masked, e)
    return "The key %s works; remaining credits: %g." % (masked, total or 0)
