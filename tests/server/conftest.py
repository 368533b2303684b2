import pytest


@pytest.fixture
def srv(ailab_inproc):
    """In-process server (Python 3): direct access to ``inject``/``stats``/``requests``/``task_info``."""
    return ailab_inproc
