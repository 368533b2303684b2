# -*- coding: utf-8 -*-
"""Check Setup / doctor names the CA file the client really verifies TLS with (the system bundle
where there is one, not requests' certifi copy), by the same rule the client's session uses."""

from __future__ import absolute_import, division, print_function, unicode_literals

import os

from smart_beauty import client, doctor


def findings(env):
    report = doctor.Report("cloud")
    doctor._requests_findings(report, env)
    return report.text()


def test_environment_first_then_the_system_bundle_then_certifi(tmp_path, monkeypatch):
    mine = tmp_path / "corporate.pem"
    mine.write_text("x")
    system = tmp_path / "system.crt"
    system.write_text("x")
    monkeypatch.setattr(client, "SYSTEM_CA_BUNDLES", (str(tmp_path / "absent.crt"), str(system)))
    assert client.ca_bundle({"REQUESTS_CA_BUNDLE": str(mine)}) == (str(mine), "REQUESTS_CA_BUNDLE")
    assert client.ca_bundle({"CURL_CA_BUNDLE": str(mine)}) == (str(mine), "CURL_CA_BUNDLE")
    # an empty or blank value never switches verification off: the default applies
    assert client.ca_bundle({"REQUESTS_CA_BUNDLE": " "}) == (str(system), "system")
    assert client.ca_bundle({"CURL_CA_BUNDLE": ""}) == (str(system), "system")
    assert client.ca_bundle({}) == (str(system), "system")
    # what the session verifies with is that same file
    assert client._safe_verify(None) == str(system)
    monkeypatch.setattr(client, "SYSTEM_CA_BUNDLES", (str(tmp_path / "absent.crt"),))
    path, source = client.ca_bundle({})
    assert source == "certifi" and os.path.isfile(path)
    assert client._safe_verify(None) is True      # requests' own (certifi) bundle


def test_check_setup_names_the_bundle_in_use(tmp_path, monkeypatch):
    system = tmp_path / "system.crt"
    system.write_text("x")
    monkeypatch.setattr(client, "SYSTEM_CA_BUNDLES", (str(system),))
    text = findings({})
    assert "CA bundle: %s (system)" % system in text, text
    assert "certifi" not in text.split("CA bundle:")[1].splitlines()[0]
    text = findings({"REQUESTS_CA_BUNDLE": str(tmp_path / "gone.pem")})
    assert "does not exist" in text and "REQUESTS_CA_BUNDLE" in text, text
