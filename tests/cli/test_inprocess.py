"""The offline engine in the command's own process (``smart_beauty_cli.inprocess``) against the same
engine behind the local server over real HTTP: a job gives the engine the same request, and ends in the
same result or the same error, either way."""
import errno
import io
import os
import tempfile

import numpy as np
import pytest
from PIL import Image

from smart_beauty import Client, errors, protocol, workdir
from smart_beauty.effects import Effects
from smart_beauty.jobs import RetouchJob
from smart_beauty_cli import backends, cli
from smart_beauty_cli.inprocess import InProcessService
from smart_beauty_engine import NoFaceFound
from smart_beauty_server import LocalAilab, images
from smart_beauty_server.simple import SimpleEngine


class Recorder:
    """Records what it is asked for; answers like SimpleEngine, or raises ``fails`` when given."""

    def __init__(self, fails=None):
        self.calls, self.fails = [], fails

    def __call__(self, rgb, level, multi_face=False, effects=None):
        self.calls.append((rgb.shape, level, multi_face, effects))
        if self.fails is not None:
            raise self.fails
        return SimpleEngine()(rgb, level, multi_face)


def run_both(engine, path, tmp_path, **job):
    """(result or error) of one RetouchJob on the server over HTTP, then in this process (into ``tmp_path``'s
    ``http`` and ``here``)."""
    outcomes = []
    key = "k" * 24
    with LocalAilab(port=0, engine=engine, job_seconds=0.0, api_keys=[key], credits=None,
                    hold_polls=0.5) as srv, Client(key, base_url=srv.url, local=True) as client:
        outcomes.append(_run(client, path, tmp_path / "http", **job))
    with InProcessService(engine) as service:
        outcomes.append(_run(service, path, tmp_path / "here", **job))
    return outcomes


def _run(client, path, folder, **job):
    folder.mkdir()
    try:
        result = RetouchJob(client, str(path), result_dir=str(folder), **job).run()
    except errors.SmartBeautyError as e:
        return e
    with Image.open(result) as f:
        return np.asarray(f.convert("RGB"))


@pytest.fixture
def photo(tmp_path):
    rng = np.random.default_rng(3)
    path = tmp_path / "photo.png"
    Image.fromarray(rng.integers(0, 256, (40, 56, 3), dtype=np.uint8)).save(path)
    return path


def test_the_engine_gets_the_same_request_and_gives_the_same_pixels(photo, tmp_path):
    engine = Recorder()
    strengths = Effects.from_level(0.5).replace(smooth=0.12345, lips=0.77777, slim=0.0)
    http, here = run_both(engine, photo, tmp_path, level=0.5, multi_face=True, effects=strengths)
    assert np.array_equal(http, here) and http.shape == (40, 56, 3)
    assert engine.calls[0] == engine.calls[1]                      # the strengths as the wire rounds them
    assert engine.calls[1][3].smooth == 0.123 and engine.calls[1][3].lips == 0.778 and engine.calls[1][2] is True
    (tmp_path / "plain").mkdir()
    plain_http, plain_here = run_both(Recorder(), photo, tmp_path / "plain", level=0.8)
    assert np.array_equal(plain_http, plain_here)


@pytest.mark.parametrize("case", ["no face", "engine failure", "truncated file", "not an image", "cancelled"])
def test_a_failure_is_the_same_error_with_the_same_sentence(case, photo, tmp_path):
    engine, path, job = Recorder(), photo, {}
    if case == "no face":
        engine = Recorder(NoFaceFound("none"))
    elif case == "engine failure":
        engine = Recorder(RuntimeError("boom"))
    elif case == "truncated file":
        path = tmp_path / "cut.jpg"
        Image.fromarray(np.full((64, 64, 3), 120, np.uint8)).save(path, quality=90)
        path.write_bytes(path.read_bytes()[:300])
    elif case == "not an image":
        path = tmp_path / "notes.jpg"
        path.write_text("not a photo")
    (tmp_path / "made").mkdir()
    if case == "cancelled":
        outcomes = []
        for client in (Client("k" * 24, base_url="http://127.0.0.1:9", local=True), InProcessService(engine)):
            job = RetouchJob(client, str(path), result_dir=str(tmp_path / "made"))
            job.cancel()
            with pytest.raises(errors.SmartBeautyError) as info:
                job.run()
            outcomes.append(info.value)
            client.close()
    else:
        outcomes = run_both(engine, path, tmp_path / "made", **job)
    http, here = outcomes
    assert isinstance(http, errors.SmartBeautyError), case
    assert type(http) is type(here) and http.user_message == here.user_message, (http, here)
    assert (here.code, here.http_status) == (http.code, http.http_status) and here.request_id is None
    expected = {"no face": errors.NoFaceError, "cancelled": errors.CancelledError}.get(case, None)
    if expected is not None:
        assert isinstance(here, expected)
    elif case == "engine failure":
        assert isinstance(here, errors.ServiceError) and "PROCESSING_FAILURE" in str(here)
    else:
        assert isinstance(here, errors.BadInputError)
    assert [p.name for p in (tmp_path / "made").rglob("*") if p.is_file()] == []    # no result left behind


def test_a_download_hands_the_stores_file_over_and_can_be_repeated(photo, tmp_path):
    """No byte of the result goes through Python again (at 12 MP a second 36 MB BMP write and a read): a
    download is the store's own file under a new name (``TaskStore.save_result``), a second one works as
    over HTTP, and each keeps its bytes once the store has let go of its own."""
    engine = Recorder()
    with InProcessService(engine) as service:
        task_id = service.submit(str(photo), level=0.7)
        state = service.query(task_id)
        while state.status != protocol.TASK_DONE:
            state = service.query(task_id)
        first = service.download(state.image_url, str(tmp_path))
        second = service.download(state.image_url, str(tmp_path))
        kept = service.store.get(task_id).result_path
        assert first != second and os.path.samefile(first, kept) and os.path.samefile(second, kept)
        assert os.stat(kept).st_nlink == 3 and os.stat(first).st_mode & 0o777 == 0o600
        assert os.path.dirname(first) == str(tmp_path) and os.path.basename(first).startswith("smart-beauty-result-")
        assert first.endswith(".bmp") and not os.path.exists(os.path.join(service.folder, os.path.basename(first)))
    assert not os.path.exists(kept)
    with Image.open(photo) as f:
        sent = np.asarray(f.convert("RGB"))
    expected = io.BytesIO()
    images.save_bmp(SimpleEngine()(sent, 0.7), expected)
    expected = expected.getvalue()
    for path in (first, second):
        with open(path, "rb") as f:
            assert f.read() == expected
    assert os.stat(first).st_nlink == 2


def test_a_download_replaces_the_placeholder_mkstemp_made_and_leaves_no_other_name(photo, tmp_path, monkeypatch):
    """The download's name is ``tempfile.mkstemp``'s (as over HTTP): the store's file is renamed onto that
    placeholder, and neither the store's folder nor the download's keeps any other name; a download that
    finds no result removes its placeholder."""
    made = []
    mkstemp = tempfile.mkstemp

    def recording(*args, **kwargs):
        fd, path = mkstemp(*args, **kwargs)
        made.append(path)
        return fd, path

    monkeypatch.setattr(tempfile, "mkstemp", recording)
    with InProcessService(Recorder()) as service:
        task_id = service.submit(str(photo), level=0.7)
        state = service.query(task_id)
        while state.status != protocol.TASK_DONE:
            state = service.query(task_id)
        path = service.download(state.image_url, str(tmp_path))
        kept = service.store.get(task_id).result_path
        assert made == [path] and os.path.samefile(path, kept) and os.stat(kept).st_nlink == 2
        assert os.listdir(service.folder) == [os.path.basename(kept)]
        assert sorted(os.listdir(tmp_path)) == sorted([photo.name, os.path.basename(path)])
        for url in ("inprocess:unknown", "elsewhere:token"):
            with pytest.raises(errors.ResultExpiredError):
                service.download(url, str(tmp_path))
        assert len(made) == 3 and not any(os.path.exists(p) for p in made[1:])
        assert sorted(os.listdir(tmp_path)) == sorted([photo.name, os.path.basename(path)])


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EDQUOT, errno.EIO])
def test_a_result_that_cannot_be_written_is_the_same_error_either_way(code, photo, tmp_path):
    """The offline engine writes its result on the disk of the computer it runs on -- the user's, for our
    server as for the command's own engine: a full disk is DiskFullError (free space, or TMPDIR elsewhere)
    over HTTP and in this process alike, at once (it once hung until the job's deadline in process, and
    read "the service failed, try again in a few minutes"); another write error stays the service's
    processing failure. Nothing is left in either store's folder or the job's."""
    def failing(rgb, f):
        f.write(b"BM")
        raise OSError(code, os.strerror(code))

    key = "k" * 24
    outcomes = []
    with LocalAilab(port=0, engine=Recorder(), job_seconds=0.0, api_keys=[key], credits=None,
                    hold_polls=0.5) as srv, Client(key, base_url=srv.url, local=True) as client:
        srv.store.save = failing
        outcomes.append(_run(client, photo, tmp_path / "http", deadline=20.0))
        assert os.listdir(srv.store.result_dir) == []
    with InProcessService(Recorder()) as service:
        service.store.save = failing
        outcomes.append(_run(service, photo, tmp_path / "here", deadline=20.0))
        assert os.listdir(service.folder) == []
    over_http, here = outcomes
    expected = errors.DiskFullError if code != errno.EIO else errors.ServiceError
    for error in outcomes:
        assert type(error) is expected, error
    assert here.user_message == over_http.user_message and here.code == over_http.code
    if code != errno.EIO:
        assert "not enough free disk space" in str(here) and "try again in a few minutes" not in str(here)
    assert os.listdir(tmp_path / "http") == [] and os.listdir(tmp_path / "here") == []


def test_close_ends_the_workers_and_removes_the_stores_folder(photo, tmp_path):
    service = InProcessService(Recorder())
    path = RetouchJob(service, str(photo), result_dir=str(tmp_path)).run()
    with Image.open(path) as f:
        assert f.format == "BMP" and f.size == (56, 40)    # uncompressed: it never leaves this computer
    folder = service.store.result_dir
    assert os.path.isdir(folder) and folder == service.folder    # swept by a later run if this one is killed
    assert os.path.basename(folder).startswith("%s%d-" % (workdir.ENGINE_PREFIX, os.getpid()))
    service.close()
    assert not os.path.exists(folder) and service.store._pool._shutdown
    with InProcessService(Recorder()) as other, pytest.raises(errors.ResultExpiredError):
        other.download("inprocess:unknown", str(tmp_path))
    assert not os.path.exists(other.folder)


def test_serve_and_the_commands_own_engine_are_chosen_by_one_function(monkeypatch, capsys):
    """``smart-beauty serve --engine NAME`` and ``$SMART_BEAUTY_ENGINE`` (the command's own process) name
    their engine to one function, ``backends.engine``: ``simple`` is the stand-in, anything else the
    offline engine."""
    assert type(backends.engine("simple")) is SimpleEngine
    real = backends.engine
    asked = []

    def engine(name):
        asked.append(name)
        return real("simple")

    monkeypatch.setattr(backends, "engine", engine)
    for argv in (["--engine", "simple"], [], ["--engine", "offline"]):    # refused after the engine is had
        assert cli.main(["serve", "--host", "0.0.0.0"] + argv) == 1
        assert "loopback" in capsys.readouterr().err
    for env in ({"SMART_BEAUTY_ENGINE": " simple "}, {}, {"SMART_BEAUTY_ENGINE": "offline"}):
        with backends.local_service(env) as service:
            assert type(service.store.engine) is SimpleEngine
    assert asked == ["simple", "offline", "offline"] * 2
