"""Fixtures for the offline engine tests (Python 3 only).

The engine is optional: without it the tests skip LOUDLY, unless ``SB_REQUIRE_ENGINE=1`` (CI, after
``scripts/install-engine.sh``), where its absence is a failure.
"""

import os

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
SAMPLES = os.path.join(REPO, "samples")


def load_rgb(path):
    import numpy as np
    from PIL import Image

    return np.ascontiguousarray(np.asarray(Image.open(path).convert("RGB")))


@pytest.fixture(scope="session")
def engine():
    """A shared ``OfflineEngine``; skips with a loud reason if the engine is not installed."""
    from smart_beauty_engine.offline import OfflineEngine, available

    ok, reason = available()
    if not ok:
        if os.environ.get("SB_REQUIRE_ENGINE") == "1":
            pytest.fail("SB_REQUIRE_ENGINE=1 but " + reason)
        pytest.skip("OFFLINE ENGINE NOT INSTALLED, engine tests skipped: " + reason)
    eng = OfflineEngine()
    yield eng
    eng.close()


@pytest.fixture(scope="session")
def portrait():
    """Eileen Collins (NASA, public domain), 512x512: one face ~92 px wide."""
    return load_rgb(os.path.join(SAMPLES, "portrait.jpg"))


@pytest.fixture(scope="session")
def hopper():
    """Grace Hopper (U.S. Navy, public domain), 512x600, with glasses."""
    return load_rgb(os.path.join(SAMPLES, "hopper.jpg"))


@pytest.fixture(scope="session")
def group():
    """Four faces (two people, four sizes) on one 1040x640 canvas."""
    return load_rgb(os.path.join(SAMPLES, "group.jpg"))


@pytest.fixture(scope="session")
def family():
    """A real group photo (the Obama family, 2011, public domain), 640x427: four faces 57-69 px."""
    return load_rgb(os.path.join(SAMPLES, "family.jpg"))


@pytest.fixture(scope="session")
def garfield():
    """James A. Garfield (public domain), 473x600 black-and-white photograph: a bearded man."""
    return load_rgb(os.path.join(SAMPLES, "garfield.jpg"))


@pytest.fixture(scope="session")
def crowd():
    """The White House Situation Room, 1 May 2011 (public domain), 960x640: a real crowd, 13 faces."""
    return load_rgb(os.path.join(SAMPLES, "crowd.jpg"))


@pytest.fixture(scope="session")
def phone():
    """Barack Obama on the phone (White House, public domain), 568x512: a face looking down, a hand beside it."""
    return load_rgb(os.path.join(SAMPLES, "phone.jpg"))


@pytest.fixture(scope="session")
def noface():
    """A coffee cup (scikit-image ``coffee``, CC0): no face."""
    return load_rgb(os.path.join(HERE, "data", "noface.jpg"))
