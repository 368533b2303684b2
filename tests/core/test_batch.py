# -*- coding: utf-8 -*-
"""The batch machinery against the local AILab server over real HTTP: jobs really overlap (seen
in the server's task times, not in wall-clock thresholds), resume, no partial output after a
failure or a cancel, and the shared pause after a 429 with Retry-After.
Single source: also runs under a real Python 2.7."""
from __future__ import absolute_import, division, print_function, unicode_literals

import os
import shutil

from smart_beauty import Client, errors
from smart_beauty.batch import CANCELLED, DONE, FAILED, SKIPPED, Batch
from smart_beauty.polling import PollPolicy

import pngutil
from virtual_clock import VirtualClock


def client_for(ailab, key=None, clock=None):
    """A client polling at the local pace (a fresh policy: 0.03-0.25 s apart), with short back-offs.
    The tests that read the server's own task times (overlap, pauses) run it on the real clock, as the
    server in its own process does; the others on a virtual one."""
    return Client(key or ailab.valid_key, ailab.url, backoff=0.05, max_backoff=0.3, clock=clock,
                  poll_policy=PollPolicy(k=0.15, min_interval=0.03, max_interval=0.25, first_poll=0.03,
                                         prior_min=0.05, prior_max=10.0))


def inputs(tmpdir, n):
    src = tmpdir.mkdir("in")
    out = str(tmpdir.join("out"))
    if not os.path.isdir(out):
        os.makedirs(out)
    pairs = []
    for i in range(n):
        path = pngutil.write_png(str(src.join("p%02d.png" % i)), 24 + i, 16)
        pairs.append((path, os.path.join(out, "p%02d.beauty.png" % i)))
    return pairs, out


def copy_finish(item, result, temp):
    shutil.copyfile(result, temp)


def upload_as_is(item, workdir):
    item.encoding = "original"
    return item.source


def make_batch(ailab, pairs, jobs=3, key=None, clock=None, **kw):
    kw.setdefault("prepare", upload_as_is)
    kw.setdefault("finish", copy_finish)
    return Batch(client_for(ailab, key, clock), pairs, level=0.5, jobs=jobs, deadline=20.0, **kw)


def max_overlap(tasks):
    """Most tasks that were running on the server at the same instant (submit .. ready)."""
    marks = []
    for t in tasks:
        marks.append((t["submitted_at"], 1))
        marks.append((t["ready_at"], -1))
    best = cur = 0
    for _, step in sorted(marks, key=lambda m: (m[0], m[1])):
        cur += step
        best = max(best, cur)
    return best


def test_n_jobs_are_in_flight_at_once_and_never_more(ailab, tmpdir):
    ailab.set_durations(job_seconds=0.5)
    pairs, out = inputs(tmpdir, 7)
    batch = make_batch(ailab, pairs, jobs=3)
    kinds = [e.kind for e in batch.run(tick=0.05)]
    assert batch.count(DONE) == 7 and batch.ok
    assert kinds.count("done") == 7 and kinds.count("started") == 7
    tasks = list(ailab.stats()["tasks"].values())
    assert len(tasks) == 7
    assert max_overlap(tasks) == 3
    for item in batch.items:
        assert item.status == DONE and item.request_id and item.task_id and item.seconds > 0
        assert os.path.getsize(item.output) > 0
    assert sorted(os.listdir(out)) == sorted(os.path.basename(d) for _, d in pairs)


def test_one_job_is_sequential(ailab, tmpdir):
    ailab.set_durations(job_seconds=0.2)
    pairs, _ = inputs(tmpdir, 3)
    make_batch(ailab, pairs, jobs=1).run_all()
    assert max_overlap(list(ailab.stats()["tasks"].values())) == 1


def test_resume_skips_finished_outputs_unless_forced(ailab, tmpdir):
    pairs, out = inputs(tmpdir, 3)
    os.remove(pairs[1][0])  # fails: the input is gone
    first = make_batch(ailab, pairs, clock=VirtualClock())
    first.run_all()
    assert [i.status for i in first.items] == [DONE, FAILED, DONE]
    assert ailab.stats()["counts"]["submit"] == 2
    pngutil.write_png(pairs[1][0])
    again = make_batch(ailab, pairs, clock=VirtualClock())
    again.run_all()
    assert [i.status for i in again.items] == [SKIPPED, DONE, SKIPPED]
    assert ailab.stats()["counts"]["submit"] == 3
    forced = make_batch(ailab, pairs, clock=VirtualClock(), force=True)
    forced.run_all()
    assert [i.status for i in forced.items] == [DONE, DONE, DONE]
    assert ailab.stats()["counts"]["submit"] == 6


def test_failures_leave_no_partial_output_and_the_batch_goes_on(ailab, tmpdir):
    pairs, out = inputs(tmpdir, 4)

    def finish(item, result, temp):
        with open(temp, "wb") as f:
            f.write(b"half")
        if item.source.endswith("p01.png"):
            raise IOError(28, "No space left on device")
        shutil.copyfile(result, temp)

    released = []
    ailab.inject("task_failed", times=1)  # the first submitted job: no face
    batch = make_batch(ailab, pairs, clock=VirtualClock(), jobs=1, finish=finish,
                       release=lambda item: released.append(item.source))
    batch.run_all()
    statuses = [i.status for i in batch.items]
    assert statuses == [FAILED, FAILED, DONE, DONE]
    assert isinstance(batch.items[0].error, errors.NoFaceError) and batch.items[0].request_id
    assert "No space left" in batch.items[1].message
    assert sorted(os.listdir(out)) == ["p02.beauty.png", "p03.beauty.png"]  # no .part, no half file
    assert sorted(released) == sorted(p for p, _ in pairs)
    assert not batch.ok


def test_a_refused_key_or_no_credits_stops_the_batch(ailab, tmpdir):
    """Every further image would fail the same way: the first such failure stops submitting."""
    pairs, out = inputs(tmpdir, 8)
    batch = make_batch(ailab, pairs, clock=VirtualClock(), jobs=2, key="refused-key-1234")
    batch.run_all()
    failed = [i for i in batch.items if i.status == FAILED]
    not_sent = [i for i in batch.items if i.status == CANCELLED]
    assert 1 <= len(failed) <= 2 and len(failed) + len(not_sent) == 8     # at most the jobs in flight
    assert all(isinstance(i.error, errors.AuthError) for i in failed)
    assert batch.stopped[0] in failed and isinstance(batch.stopped[1], errors.AuthError)
    assert all("stopped at p0" in i.message and i.task_id is None for i in not_sent)
    assert ailab.stats()["counts"]["submit"] == len(failed)
    assert "not sent: the batch stopped at p0" in batch.summary()
    assert os.listdir(out) == [] and not batch.ok

    ailab.reset()
    pairs, out = inputs(tmpdir.mkdir("credits"), 5)
    ailab.inject("no_credits", endpoint="submit", times=1)
    batch = make_batch(ailab, pairs, clock=VirtualClock(), jobs=1)
    batch.run_all()
    assert [i.status for i in batch.items] == [FAILED] + [CANCELLED] * 4
    assert isinstance(batch.items[0].error, errors.NoCreditsError)
    assert ailab.stats()["counts"]["submit"] == 1


def test_other_failures_do_not_stop_the_batch(ailab, tmpdir):
    pairs, out = inputs(tmpdir, 4)
    ailab.inject("error", endpoint="submit", status=500, times=1)
    batch = make_batch(ailab, pairs, clock=VirtualClock(), jobs=1)
    batch.run_all()
    assert [i.status for i in batch.items] == [FAILED, DONE, DONE, DONE] and batch.stopped is None


def test_cancel_stops_submitting_and_lets_jobs_in_flight_finish(ailab, tmpdir):
    ailab.set_durations(job_seconds=0.4)
    pairs, out = inputs(tmpdir, 6)
    batch = make_batch(ailab, pairs, jobs=2)
    for event in batch.run(tick=0.05):
        if event.kind == "started" and event.running == 2:
            batch.cancel()
    assert [i.status for i in batch.items] == [DONE, DONE, CANCELLED, CANCELLED, CANCELLED, CANCELLED]
    assert ailab.stats()["counts"]["submit"] == 2
    assert sorted(os.listdir(out)) == ["p00.beauty.png", "p01.beauty.png"]


def test_abandon_cancels_jobs_in_flight_cleanly(ailab, tmpdir):
    ailab.set_durations(job_seconds=5.0)
    pairs, out = inputs(tmpdir, 4)
    workdir = str(tmpdir.mkdir("work"))
    batch = make_batch(ailab, pairs, jobs=2, workdir=workdir)
    for event in batch.run(tick=0.05):
        if event.kind == "started" and event.running == 2:
            batch.cancel(abandon=True)
    assert [i.status for i in batch.items] == [CANCELLED] * 4
    assert os.listdir(out) == [] and os.listdir(workdir) == []
    assert ailab.stats()["counts"]["download"] == 0  # did not wait for the 5 s jobs to end


def test_closing_the_loop_early_abandons_and_cleans_up(ailab, tmpdir):
    ailab.set_durations(job_seconds=5.0)
    pairs, out = inputs(tmpdir, 3)
    batch = make_batch(ailab, pairs, jobs=3)
    loop = batch.run(tick=0.05)
    for event in loop:
        if event.running == 3:
            break
    loop.close()
    assert [i.status for i in batch.items] == [CANCELLED] * 3
    assert os.listdir(out) == []


def test_after_a_429_with_retry_after_no_job_sends_before_the_pause_ends(ailab, tmpdir):
    ailab.set_durations(job_seconds=1.5)
    pairs, _ = inputs(tmpdir, 3)
    batch = make_batch(ailab, pairs, jobs=3)
    seen_429 = []
    for event in batch.run(tick=0.05):
        if not seen_429 and event.running == 3:
            # all three are polling now (every 0.05 s): the next poll is refused for 1 s
            ailab.inject("rate_limit", endpoint="poll", retry_after=1, times=1)
            seen_429.append(True)
    assert batch.count(DONE) == 3
    log = ailab.requests()
    refused = [e for e in log if e["status"] == 429]
    assert len(refused) == 1
    t = refused[0]["time"]
    # requests already on the wire when the 429 was sent may arrive just after it; then silence
    during = [e for e in log if t + 0.05 < e["time"] < t + 1.0 - 0.02]
    assert during == [], during
    assert any(e["time"] >= t + 1.0 - 0.02 for e in log)  # and work resumed afterwards


def test_a_job_refused_for_rate_limiting_is_requeued_with_fewer_in_flight(ailab, tmpdir):
    pairs, _ = inputs(tmpdir, 4)
    # 10 refusals for two submits in flight: each exhausts the client's own 1 + 4 attempts
    ailab.inject("rate_limit", retry_after=0, times=10)
    batch = make_batch(ailab, pairs, clock=VirtualClock(), jobs=2)
    kinds = [e.kind for e in batch.run(tick=0.05)]
    assert batch.count(DONE) == 4 and kinds.count("requeued") == 2
    assert batch.limit == 1
    assert ailab.stats()["counts"]["submit"] == 14


# -- issue 13: outputs checked before any upload, exclusive temp files, resume by what was made -----

def write_through(item, result, temp):
    from smart_beauty.batch import open_temp_output
    with open(result, "rb") as r:
        data = r.read()
    f = open_temp_output(temp)
    try:
        f.write(data)
    finally:
        f.close()


def test_an_output_folder_that_cannot_be_made_fails_its_items_unsent(ailab, tmpdir):
    pairs, out = inputs(tmpdir, 2)
    blocker = str(tmpdir.join("a-file"))
    with open(blocker, "w") as f:
        f.write("x")
    pairs[1] = (pairs[1][0], os.path.join(blocker, "sub", "p01.beauty.png"))
    batch = make_batch(ailab, pairs, finish=write_through)
    batch.run_all(tick=0.05)
    assert [i.status for i in batch.items] == [DONE, FAILED]
    assert "nothing was sent" in batch.items[1].message
    assert ailab.stats()["counts"]["submit"] == 1


def test_a_link_planted_at_the_temp_name_is_refused_and_nothing_is_written_through_it(ailab, tmpdir):
    if not hasattr(os, "symlink"):
        return
    pairs, out = inputs(tmpdir, 1)
    victim = str(tmpdir.join("victim.txt"))
    with open(victim, "w") as f:
        f.write("mine")

    def plant_then_write(item, result, temp):
        os.remove(temp)
        os.symlink(victim, temp)
        write_through(item, result, temp)

    batch = make_batch(ailab, pairs, finish=plant_then_write)
    batch.run_all(tick=0.05)
    assert batch.items[0].status == FAILED and "replaced by a link" in batch.items[0].message
    with open(victim) as f:
        assert f.read() == "mine"
    assert os.listdir(out) == []


def test_the_temp_output_is_created_exclusively_and_private_until_renamed(ailab, tmpdir):
    import stat
    pairs, out = inputs(tmpdir, 1)
    seen = []

    def look(item, result, temp):
        st = os.lstat(temp)
        seen.append((stat.S_ISREG(st.st_mode), st.st_size, stat.S_IMODE(st.st_mode)))
        write_through(item, result, temp)

    batch = make_batch(ailab, pairs, finish=look)
    batch.run_all(tick=0.05)
    assert seen == [(True, 0, 0o600)] and batch.items[0].status == DONE
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(os.stat(batch.items[0].output).st_mode) == 0o666 & ~mask


def test_resume_with_a_recipe_skips_redoes_and_refuses_by_what_each_output_was_made_from(ailab, tmpdir):
    from smart_beauty.batch import LEDGER
    pairs, out = inputs(tmpdir, 2)
    recipe = {"level": 0.5}

    def run(pairs_, recipe_):
        b = make_batch(ailab, pairs_, finish=write_through, recipe=recipe_)
        b.run_all(tick=0.05)
        return [i.status for i in b.items], b

    assert run(pairs, recipe)[0] == [DONE, DONE]
    assert os.path.isfile(os.path.join(out, LEDGER))
    assert run(pairs, recipe)[0] == [SKIPPED, SKIPPED]
    assert run(pairs, {"level": 0.9})[0] == [DONE, DONE]              # other options: redone
    pngutil.write_png(pairs[0][0], 30, 20)                            # same name, new content
    assert run(pairs, {"level": 0.9})[0] == [DONE, SKIPPED]
    other = [(pairs[1][0], pairs[0][1])]                              # another file, same output name
    statuses, b = run(other, {"level": 0.9})
    assert statuses == [FAILED] and "was made from" in b.items[0].message
    assert ailab.stats()["counts"]["submit"] == 5


def test_the_resume_rule_is_one_for_every_host_recipes_decide_and_hints_are_the_hosts(ailab, tmpdir):
    """The CLI and the GIMP batches pass batch.recipe(...) of their own options to the same Batch:
    a recipe of another writer redoes (never skips) an output made from the same file; a refusal
    names only the way out the host has (the CLI's --force, nothing in GIMP)."""
    from smart_beauty import batch as sb_batch
    pairs, out = inputs(tmpdir, 1)
    cli_recipe = sb_batch.recipe(0.5, False, format="png", strip_metadata=False)
    gimp_recipe = sb_batch.recipe(0.5, 0, format="png", writer="gimp")
    assert cli_recipe == {"level": 0.5, "multi_face": False, "format": "png", "strip_metadata": False}
    assert gimp_recipe["multi_face"] is False and gimp_recipe != cli_recipe

    def run(pairs_, recipe_, hint=None):
        b = make_batch(ailab, pairs_, finish=write_through, recipe=recipe_, force_hint=hint)
        b.run_all(tick=0.05)
        return b.items[0]

    assert run(pairs, cli_recipe).status == DONE
    assert run(pairs, gimp_recipe).status == DONE          # made by the other writer: redone
    assert run(pairs, gimp_recipe).status == SKIPPED
    other = [(pngutil.write_png(str(tmpdir.join("in", "x.png")), 20, 20), pairs[0][1])]
    gimp_refusal = run(other, gimp_recipe).message
    cli_refusal = run(other, cli_recipe, hint="use --force to replace it").message
    assert "was made from" in gimp_refusal and "--force" not in gimp_refusal
    assert gimp_refusal.endswith("rename one of them or choose another output folder (nothing was sent).")
    assert cli_refusal.endswith("choose another output folder, or use --force to replace it (nothing was sent).")
    assert ailab.stats()["counts"]["submit"] == 2


def test_copy_to_temp_output_follows_no_link(tmpdir):
    from smart_beauty import errors as sb_errors
    from smart_beauty.batch import _temp_output, copy_to_temp_output
    if not hasattr(os, "symlink"):
        return
    source = str(tmpdir.join("private.png"))
    with open(source, "wb") as f:
        f.write(b"result bytes")
    output = str(tmpdir.join("out.beauty.png"))
    temp = _temp_output(output)
    copy_to_temp_output(source, temp)
    with open(temp, "rb") as f:
        assert f.read() == b"result bytes"
    victim = str(tmpdir.join("victim.txt"))
    with open(victim, "w") as f:
        f.write("mine")
    os.remove(temp)
    os.symlink(victim, temp)
    try:
        copy_to_temp_output(source, temp)
    except sb_errors.SmartBeautyError as e:
        assert "replaced by a link" in str(e)
    else:
        raise AssertionError("a link was written through")
    with open(victim) as f:
        assert f.read() == "mine"


def test_companion_outputs_are_written_before_their_output_and_resume_needs_them(ailab, tmpdir):
    """``extras`` (the CLI's --mask file): written through the batch's own temp files, renamed into place
    before the output; an output whose companion is missing is redone; a companion the ledger recorded
    for an output that is redone without it is removed."""
    from smart_beauty.batch import LEDGER, recipe
    pairs, out = inputs(tmpdir, 1)
    companion = pairs[0][1] + ".mask.png"
    seen = []

    def finish(item, result, temp):
        shutil.copyfile(result, temp)
        if item.extras:
            seen.append(sorted(item.temp_extras) == [companion] and not os.path.exists(companion))
            with open(item.temp_extras[companion], "wb") as f:
                f.write(b"mask")

    def run(extras=True):
        batch = make_batch(ailab, pairs, finish=finish, recipe=recipe(0.5, False, mask=extras) if extras
                           else recipe(0.5, False), extras=(lambda output: [output + ".mask.png"]) if extras else None)
        batch.run_all()
        return batch.items[0]
    assert run().status == DONE and seen == [True] and os.path.exists(companion)
    assert sorted(n for n in os.listdir(out) if not n.startswith(LEDGER)) == ["p00.beauty.png",
                                                                             "p00.beauty.png.mask.png"]
    assert run().status == SKIPPED
    os.remove(companion)
    assert run().status == DONE and os.path.exists(companion)
    assert run(extras=False).status == DONE and not os.path.exists(companion)
