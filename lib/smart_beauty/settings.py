"""Where the API key, the service address and remembered options come from.

Order: environment (``AILAB_API_KEY``, ``AILAB_API_BASE``) first, then the user's config folder:
``api-key`` (the key alone, created 0600; a group/world-readable one is refused) and
``settings.json`` (service address and remembered dialog values; never the key).
The folder is ``$SMART_BEAUTY_CONFIG_DIR`` if set, else the platform's config dir + ``smart-beauty``.
"""
from __future__ import absolute_import, division, print_function, unicode_literals

import io
import json
import ntpath
import os
import posixpath
import re
import socket
import stat
import sys
import tempfile

from . import errors, protocol
from .compat import replace_file, text_type, urlsplit

ENV_KEY = "AILAB_API_KEY"
ENV_BASE = "AILAB_API_BASE"
ENV_CONFIG_DIR = "SMART_BEAUTY_CONFIG_DIR"
ENV_DEADLINE = "SMART_BEAUTY_DEADLINE"
KEY_FILE = "api-key"
SETTINGS_FILE = "settings.json"
LOOPBACK_NAMES = ("localhost",)
_IPV4 = re.compile(r"^([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\Z")
_IPV6_LOOPBACK = b"\0" * 15 + b"\1"


#: present inside a Flatpak sandbox (the Flathub GIMP), with FLATPAK_ID in the environment
FLATPAK_INFO = "/.flatpak-info"


def in_flatpak(env=None):
    env = os.environ if env is None else env
    return bool(env.get("FLATPAK_ID")) or os.path.exists(FLATPAK_INFO)


def path_module(platform=None):
    """``ntpath`` for Windows, ``posixpath`` elsewhere: paths for ``platform`` (``sys.platform`` by
    default) are built with that platform's rules, whatever system runs the code (tests, installers)."""
    platform = sys.platform if platform is None else platform
    return ntpath if platform.startswith("win") else posixpath


def venv_layout(venv, platform=None):
    """A venv's ``python``, scripts folder (``bin``) and ``smart-beauty`` command (``cli``) on ``platform``:
    ``Scripts\\python.exe`` and ``Scripts\\smart-beauty.exe`` on Windows, ``bin/python`` and
    ``bin/smart-beauty`` elsewhere. The installer makes the command's venv by it, the plug-ins look for
    the checkout's venv by it."""
    platform = sys.platform if platform is None else platform
    path = path_module(platform)
    windows = platform.startswith("win")
    scripts = path.join(venv, "Scripts" if windows else "bin")
    exe = ".exe" if windows else ""
    return {"python": path.join(scripts, "python" + exe), "bin": scripts,
            "cli": path.join(scripts, "smart-beauty" + exe)}


def home_dir(env=None, platform=None):
    """The user's home folder as ``platform`` finds it (Windows: USERPROFILE; others: HOME)."""
    env = os.environ if env is None else env
    platform = sys.platform if platform is None else platform
    if platform.startswith("win"):
        return env.get("USERPROFILE") or os.path.expanduser("~")
    return env.get("HOME") or os.path.expanduser("~")


def config_dir(env=None, platform=None):
    """The Smart Beauty config folder (key, settings, recorded engine command).

    Windows ``%APPDATA%\\smart-beauty``, macOS ``~/Library/Application Support/smart-beauty``, else
    ``$XDG_CONFIG_HOME/smart-beauty`` (default ``~/.config``); ``$SMART_BEAUTY_CONFIG_DIR`` wins.
    Inside Flatpak, XDG_CONFIG_HOME is the sandbox's own ``~/.var/app/<id>/config``, which the installer
    and the command line (outside) never see; Flathub's GIMP sees the real home, so the folder they
    share, ``~/.config/smart-beauty``, is used there -- unless the sandbox's own one already exists.
    ``platform`` (default ``sys.platform``) chooses the rule; the installer and the tests pass it.
    """
    env = os.environ if env is None else env
    platform = sys.platform if platform is None else platform
    if env.get(ENV_CONFIG_DIR):
        return env[ENV_CONFIG_DIR]
    path = path_module(platform)
    home = home_dir(env, platform)
    if platform.startswith("win"):
        base = env.get("APPDATA") or path.join(home, "AppData", "Roaming")
    elif platform == "darwin":
        base = path.join(home, "Library", "Application Support")
    else:
        base = env.get("XDG_CONFIG_HOME") or path.join(home, ".config")
        if in_flatpak(env) and not os.path.isdir(path.join(base, "smart-beauty")):
            base = path.join(home, ".config")
    return path.join(base, "smart-beauty")


def is_loopback_host(host):
    """Whether ``host`` is, literally, a loopback address: an IPv4 address in 127.0.0.0/8 written as
    four decimal numbers, the IPv6 address ::1 (any spelling), or the name ``localhost``. Any other
    name -- ``127.attacker.example`` included -- is not: what it resolves to is not ours to trust."""
    host = (host or "").strip().lower()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if host in LOOPBACK_NAMES:
        return True
    match = _IPV4.match(host)
    if match:
        parts = [int(p) for p in match.groups()]
        return parts[0] == 127 and all(p <= 255 for p in parts)
    if ":" in host and "%" not in host:
        try:
            return socket.inet_pton(socket.AF_INET6, host) == _IPV6_LOOPBACK
        except (AttributeError, OSError, TypeError, ValueError, socket.error):
            return host == "::1"  # no inet_pton (Python 2.7 on Windows): the usual spelling only
    return False


def check_base_url(url):
    """Return the service base URL without a trailing slash, or raise ConfigError.

    https is required, except for loopback addresses (the local server); TLS checks are never
    switched off. URLs with credentials, queries or fragments are refused (a key must not hide in one).
    """
    text = text_type(url or "").strip()
    parts = urlsplit(text)
    host = parts.hostname or ""
    if parts.scheme not in ("http", "https") or not host:
        raise errors.ConfigError("The service address %r is not a valid http(s) URL; fix AILAB_API_BASE "
                                 "or the address in your settings." % (_safe_url(text),))
    if parts.username or parts.password or parts.query or parts.fragment:
        raise errors.ConfigError("The service address must not contain a user name, password, query or "
                                 "fragment; fix AILAB_API_BASE or the address in your settings.")
    if parts.scheme == "http" and not is_loopback_host(host):
        raise errors.ConfigError("Refusing to send your API key over plain http to %s; use an https address."
                                 % host)
    return text.rstrip("/")


def _safe_url(text):
    parts = urlsplit(text)
    if parts.username or parts.password or parts.query:
        return "%s://%s%s" % (parts.scheme, parts.hostname or "", parts.path)
    return text


class Settings(object):
    """The effective settings. ``repr`` never shows the key."""

    def __init__(self, api_key=None, base_url=None, key_source=None, directory=None, remembered=None):
        self.api_key = api_key or None
        self.base_url = check_base_url(base_url or protocol.DEFAULT_BASE_URL)
        self.key_source = key_source
        self.directory = directory
        self.remembered = dict(remembered or {})

    @classmethod
    def load(cls, env=None):
        env = os.environ if env is None else env
        directory = config_dir(env)
        stored = read_json(os.path.join(directory, SETTINGS_FILE))
        key, source = (env.get(ENV_KEY) or "").strip(), "environment"
        if not key:
            key, source = read_key_file(directory), "config file"
        base = (env.get(ENV_BASE) or "").strip() or stored.get("api_base")
        return cls(key or None, base, source if key else None, directory, stored.get("remembered"))

    @property
    def key_file(self):
        return os.path.join(self.directory, KEY_FILE) if self.directory else None

    def require_key(self):
        if not self.api_key:
            raise errors.ConfigError()
        return self.api_key

    def masked_key(self):
        return mask(self.api_key)

    def __repr__(self):
        return "Settings(api_key=%s, base_url=%r, key_source=%r)" % (self.masked_key(), self.base_url,
                                                                     self.key_source)

    def remember(self, **values):
        """Store non-secret values (dialog choices) in settings.json for the next run."""
        if "api_key" in values:
            raise ValueError("the API key is not stored in settings.json")
        self.remembered.update(values)
        path = os.path.join(self.directory, SETTINGS_FILE)
        data = read_json(path)
        data["remembered"] = self.remembered
        write_private(path, json.dumps(data, indent=2, sort_keys=True))


def deadline_from_env(env=None, default=None):
    """Overall seconds allowed for one job, from SMART_BEAUTY_DEADLINE (batch scripts, tests)."""
    env = os.environ if env is None else env
    try:
        value = float(env.get(ENV_DEADLINE) or "nan")
    except ValueError:
        return default
    return value if value > 0 else default


def mask(key):
    if not key:
        return "(not set)"
    return "*" * 4 + key[-4:] if len(key) >= 12 else "*" * 4


def read_key_file(directory):
    path = os.path.join(directory, KEY_FILE)
    try:
        st = os.stat(path)
    except OSError:
        return None
    if os.name == "posix" and st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise errors.ConfigError("Your API key file %s can be read by other users; run 'chmod 600 %s' "
                                 "and try again." % (path, path))
    with io.open(path, "r", encoding="utf-8") as f:
        return f.read().strip() or None


def save_api_key(key, env=None):
    """Write the key to ``api-key`` in the config folder, readable by its owner only."""
    key = (key or "").strip()
    if not key or any(c.isspace() for c in key):
        raise errors.ConfigError("That does not look like an API key (it is empty or contains spaces).")
    path = os.path.join(config_dir(env), KEY_FILE)
    write_private(path, key + "\n")
    return path


def delete_api_key(env=None):
    """Remove the stored key; returns the file removed, or None when there was none."""
    path = os.path.join(config_dir(env), KEY_FILE)
    if not os.path.lexists(path):
        return None
    os.remove(path)
    return path


def save_base_url(url, env=None):
    path = os.path.join(config_dir(env), SETTINGS_FILE)
    data = read_json(path)
    if url:
        data["api_base"] = check_base_url(url)
    else:
        data.pop("api_base", None)
    write_private(path, json.dumps(data, indent=2, sort_keys=True))


def read_json(path):
    """The JSON object in ``path``; {} when it is missing, unreadable or not an object."""
    try:
        with io.open(path, "r", encoding="utf-8") as f:
            data = json.load(f)
    except (IOError, OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def write_private(path, text):
    """Atomically write ``text`` to ``path`` with mode 0600 (folder 0700)."""
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        os.makedirs(directory, 0o700)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=directory)
    try:
        if hasattr(os, "fchmod"):
            os.fchmod(fd, 0o600)
        with io.open(fd, "w", encoding="utf-8") as f:
            f.write(text_type(text))
        replace_file(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
