# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function, unicode_literals

import json
import os
import stat
import sys

import pytest

from smart_beauty import errors, settings
from smart_beauty.settings import Settings

KEY = "canary-key-0123456789abcdef"


@pytest.fixture
def env(tmpdir):
    return {settings.ENV_CONFIG_DIR: str(tmpdir.join("cfg"))}


def test_environment_key_wins_over_the_file(env):
    settings.save_api_key("file-key-0123456789", env)
    env[settings.ENV_KEY] = KEY
    s = Settings.load(env)
    assert s.api_key == KEY and s.key_source == "environment"
    del env[settings.ENV_KEY]
    assert Settings.load(env).api_key == "file-key-0123456789"


def test_key_file_is_private_and_a_readable_one_is_refused(env):
    path = settings.save_api_key(KEY, env)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) & 0o077 == 0
    os.chmod(path, 0o644)
    with pytest.raises(errors.ConfigError) as info:
        Settings.load(env)
    assert "chmod 600" in str(info.value) and KEY not in str(info.value)


def test_no_key_is_a_clear_config_error(env):
    s = Settings.load(env)
    assert s.api_key is None
    with pytest.raises(errors.ConfigError) as info:
        s.require_key()
    assert "AILAB_API_KEY" in str(info.value)


def test_repr_and_mask_never_show_the_key(env):
    env[settings.ENV_KEY] = KEY
    s = Settings.load(env)
    assert KEY not in repr(s) and s.masked_key().endswith(KEY[-4:]) and KEY not in s.masked_key()


@pytest.mark.parametrize("url", ["http://example.com", "ftp://x", "https://user:pw@host", "https://h/?k=1",
                                 "not a url"])
def test_unsafe_base_urls_are_refused(url):
    with pytest.raises(errors.ConfigError):
        settings.check_base_url(url)


@pytest.mark.parametrize("url", ["https://www.ailabapi.com/", "http://127.0.0.1:8787", "http://localhost:1",
                                 "http://[::1]:9", "http://127.255.0.9:80", "http://[0:0:0:0:0:0:0:1]:9",
                                 "http://LOCALHOST:5"])
def test_https_and_loopback_http_are_accepted(url):
    assert settings.check_base_url(url) == url.rstrip("/")


@pytest.mark.parametrize("host", ["127.attacker.invalid", "127.0.0.1.nip.io", "127.0.0.256", "127.1",
                                  "localhost.", "evil.localhost", "[::ffff:127.0.0.1]", "128.0.0.1",
                                  "[::2]"])
def test_plain_http_only_to_a_literal_loopback_address(host):
    """Loopback = a literal 127.0.0.0/8 or ::1 address, or "localhost"; a name merely starting
    with "127." resolves wherever its owner wants, so the key must not go there in clear."""
    assert not settings.is_loopback_host(host)
    with pytest.raises(errors.ConfigError) as info:
        settings.check_base_url("http://%s:8080" % host)
    assert "plain http" in str(info.value)
    assert settings.check_base_url("https://%s:8080" % host)


def test_base_url_from_env_then_file(env):
    settings.save_base_url("http://127.0.0.1:9999", env)
    assert Settings.load(env).base_url == "http://127.0.0.1:9999"
    env[settings.ENV_BASE] = "http://127.0.0.1:1234"
    assert Settings.load(env).base_url == "http://127.0.0.1:1234"


def test_remembered_values_persist_and_never_hold_the_key(env):
    s = Settings.load(env)
    s.remember(level=0.6, multi_face=True)
    assert Settings.load(env).remembered == {"level": 0.6, "multi_face": True}
    with pytest.raises(ValueError):
        s.remember(api_key=KEY)
    with open(os.path.join(env[settings.ENV_CONFIG_DIR], settings.SETTINGS_FILE)) as f:
        assert "key" not in json.load(f)


@pytest.mark.parametrize("bad", ["", "   ", "two words"])
def test_save_refuses_non_keys(env, bad):
    with pytest.raises(errors.ConfigError):
        settings.save_api_key(bad, env)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Flatpak is Linux only")
def test_flathub_gimp_finds_the_key_and_engine_install_sh_and_the_cli_stored(tmpdir, monkeypatch):
    """Inside Flatpak XDG_CONFIG_HOME is the sandbox's own ~/.var/app/org.gimp.GIMP/config (the
    environment Flatpak sets, simulated here); the folder install.sh and the CLI wrote outside,
    ~/.config/smart-beauty, is the one read -- the key stored there is found."""
    home = tmpdir.mkdir("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setattr(settings, "FLATPAK_INFO", str(tmpdir.join("no-flatpak-info")))
    sandbox_xdg = str(home.join(".var", "app", "org.gimp.GIMP", "config"))
    outside = {"HOME": str(home)}                                       # install.sh, the CLI
    inside = {"HOME": str(home), "XDG_CONFIG_HOME": sandbox_xdg, "FLATPAK_ID": "org.gimp.GIMP"}
    shared = os.path.join(str(home), ".config", "smart-beauty")
    assert settings.config_dir(outside) == shared
    assert settings.config_dir(inside) == shared
    settings.save_api_key("sb-test-0123456789abcdef", outside)
    assert Settings.load(inside).api_key == "sb-test-0123456789abcdef"
    # the sandbox's own folder, once it exists (an earlier version wrote there), is kept
    own = os.path.join(sandbox_xdg, "smart-beauty")
    os.makedirs(own)
    assert settings.config_dir(inside) == own
    # outside Flatpak XDG_CONFIG_HOME is simply followed; /.flatpak-info alone also means Flatpak
    assert settings.config_dir({"HOME": str(home), "XDG_CONFIG_HOME": str(tmpdir)}) == str(tmpdir.join("smart-beauty"))
    monkeypatch.setattr(settings, "FLATPAK_INFO", str(tmpdir.join("home")))   # an existing path
    assert settings.in_flatpak({})


def test_venv_layout_is_scripts_exe_on_windows_and_bin_elsewhere():
    """The one rule for a venv's files: the installer makes the command's venv by it, the plug-ins (this
    core, also on Python 2.7) look for the checkout's venv by it."""
    win = settings.venv_layout("C:\\sb\\.venv", "win32")
    assert win == {"python": "C:\\sb\\.venv\\Scripts\\python.exe", "bin": "C:\\sb\\.venv\\Scripts",
                   "cli": "C:\\sb\\.venv\\Scripts\\smart-beauty.exe"}
    for platform in ("linux", "darwin"):
        assert settings.venv_layout("/sb/.venv", platform) == {
            "python": "/sb/.venv/bin/python", "bin": "/sb/.venv/bin", "cli": "/sb/.venv/bin/smart-beauty"}
