"""docs/reliability.md is generated from the recorded outcomes, and every cell is recorded."""
import importlib.util
import os
import re

import matrix

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _gen():
    spec = importlib.util.spec_from_file_location("sb_reliability_doc", os.path.join(REPO, "scripts",
                                                                                     "reliability_doc.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_the_committed_doc_is_rendered_from_the_recorded_outcomes():
    gen = _gen()
    with open(gen.DOC) as f:
        committed = f.read()
    assert committed == gen.render(), "docs/reliability.md is out of date: python3 scripts/reliability_doc.py"


def test_no_blank_cell():
    cells = matrix.load()
    assert len(matrix.FAULT_IDS) >= 20
    for fid in matrix.FAULT_IDS:
        for entry in matrix.STAND_IN_ENTRIES:
            o = cells.get(fid, {}).get(entry)
            if not matrix.applies(fid, entry):
                assert o is None, "%s x %s is recorded, but is no cell" % (fid, entry)
                continue
            assert o is not None, "%s x %s not recorded" % (fid, entry)
            assert o["status"] and o["image"] and isinstance(o["retried"], bool)
            if o["result"] == "failed":
                assert o["messages"], (fid, entry)
        if matrix.BY_ID[fid]["real_gimp"]:
            assert "gimp3_real" in cells.get(fid, {}), "%s not recorded on real GIMP 3" % fid


def test_the_check_can_fail(tmp_path):
    gen = _gen()
    cells = matrix.load()
    some = next(iter(cells))
    entry = next(iter(cells[some]))
    cells[some][entry] = dict(cells[some][entry], messages=["something else"])
    assert gen.render(cells=cells) != gen.render()


def test_every_local_case_names_a_test_that_exists():
    """Each row of the "before anything is sent" table points at a test function in its file."""
    assert len(matrix.LOCAL_CASES) >= 20
    for _case, _outcome, test in matrix.LOCAL_CASES:
        path, _, name = test.partition("::")
        with open(os.path.join(REPO, path)) as f:
            assert re.search(r"^def %s\(" % re.escape(name), f.read(), re.M), test
