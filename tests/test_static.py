"""Static gates: the code GIMP 2.10 loads stays Python 2.7 compatible (vermin), everything is ruff
clean. vermin misses str/bytes semantics; the real Python 2.7 tier (tests/hosts) runs the tests too."""
import fnmatch
import os
import re
import shutil
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Everything GIMP 2.10's Python 2.7 imports, and the tests that also run under it.
PY27_PATHS = [
    "lib/smart_beauty",
    "plug-ins/gimp2/smart_beauty.py",
    "plug-ins/gimp2/smart_beauty_gimp2.py",
    "tests/core",
    "tests/gimp2",
    "tests/conftest.py",
    "tests/ailab_fixture.py",
    "tests/virtual_clock.py",
    "tests/stubs/gimp.py",
    "tests/stubs/gimpfu.py",
    "tests/stubs/gimpenums.py",
    "tests/stubs/gimpshelf.py",
    "tests/stubs/fakecore.py",
    "tests/stubs/scenes.py",
]


def tool(name):
    path = os.path.join(os.path.dirname(sys.executable), name)
    return path if os.path.exists(path) else shutil.which(name)


def test_python27_boundary_is_clean_for_vermin():
    exe = tool("vermin")
    assert exe, "vermin is not installed (pip install -e '.[test]')"
    paths = [p for p in PY27_PATHS if os.path.exists(os.path.join(REPO, p))]
    assert "lib/smart_beauty" in paths and "plug-ins/gimp2/smart_beauty_gimp2.py" in paths
    proc = subprocess.run([exe, "-t=2.7-", "-t=3.8-", "--violations", "--eval-annotations", "--no-tips",
                           ] + paths,
                          cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_python3_only_code_is_not_imported_by_the_py27_core():
    for root, _dirs, files in os.walk(os.path.join(REPO, "lib", "smart_beauty")):
        for name in files:
            if name.endswith(".py"):
                with open(os.path.join(root, name), encoding="utf-8") as f:
                    text = f.read()
                assert not re.search(r"^\s*(from|import)\s+smart_beauty_(cli|server)", text, re.M), name
                assert "from __future__ import absolute_import" in text, name


def test_ruff_is_clean():
    exe = tool("ruff")
    assert exe, "ruff is not installed (pip install -e '.[test]')"
    proc = subprocess.run([exe, "check", "lib", "plug-ins", "tests", "bench", "scripts"], cwd=REPO,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


PY2_EXEMPTIONS = ["UP004", "UP008", "UP009", "UP010", "UP020", "UP024", "UP025", "UP036", "B904"]


def _ruff_py2_globs():
    """The keys of pyproject.toml's [tool.ruff.lint.per-file-ignores] that carry the Python 2 exemptions."""
    with open(os.path.join(REPO, "pyproject.toml"), encoding="utf-8") as f:
        section = f.read().split("[tool.ruff.lint.per-file-ignores]", 1)[1].split("\n[", 1)[0]
    entries = re.findall(r'^"([^"]+)" = \[(.*)\]$', section, re.M)
    assert entries, "no per-file-ignores in pyproject.toml"
    py2 = [key for key, codes in entries if "UP025" in codes]
    assert all(re.findall(r'"(\w+)"', codes) == PY2_EXEMPTIONS for key, codes in entries if key in py2), entries
    return py2


def _brace_expand(pattern):
    m = re.search(r"\{([^}]*)\}", pattern)
    if not m:
        return [pattern]
    head, tail = pattern[:m.start()], pattern[m.end():]
    return [out for alt in m.group(1).split(",") for out in _brace_expand(head + alt + tail)]


def _repo_python_files():
    for folder, _dirs, files in os.walk(REPO):
        rel = os.path.relpath(folder, REPO).replace(os.sep, "/")
        if rel.startswith((".", "tests/hosts/cache")) or "/." in rel or "__pycache__" in rel:
            continue
        for name in files:
            if name.endswith(".py"):
                yield name if rel == "." else rel + "/" + name


def test_ruffs_python2_exemptions_cover_exactly_the_python27_paths():
    """UP004/UP008/UP009/UP010/UP020/UP024/UP025/UP036/B904 are allowed only where Python 2.7 runs the
    code: vermin's paths above (GIMP 2.10's core and adapter, what the py27 tier runs)."""
    patterns = [p for key in _ruff_py2_globs() for p in _brace_expand(key)]
    files = set(_repo_python_files())
    exempt = {f for f in files if any(fnmatch.fnmatchcase(f, p) for p in patterns)}
    py27 = {f for f in files for p in PY27_PATHS if f == p or f.startswith(p + "/")}
    assert "lib/smart_beauty/compat.py" in py27 and "tests/gimp2/conftest.py" in py27
    assert sorted(exempt - py27) == [] and sorted(py27 - exempt) == []


def test_python3_only_code_type_checks():
    """mypy over what pyproject.toml's [tool.mypy] names: the engine, the CLI and local server, install.py
    (annotated functions are checked; the Python 2.7 core is vermin's and the real 2.7 tier's)."""
    exe = tool("mypy")
    assert exe, "mypy is not installed (pip install -e '.[test]')"
    proc = subprocess.run([exe, "--no-error-summary"], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_type_gate_can_fail(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def f(a: int) -> str:\n    return a\n")
    proc = subprocess.run([tool("mypy"), "--no-error-summary", str(bad)], cwd=str(tmp_path), capture_output=True,
                          text=True)
    assert proc.returncode == 1 and "Incompatible return value" in proc.stdout, proc.stdout + proc.stderr


@pytest.mark.parametrize("snippet", ["x = f'{1}'\n", "def f(a: int) -> int:\n    return a\n"])
def test_the_vermin_gate_can_fail(tmp_path, snippet):
    bad = tmp_path / "bad.py"
    bad.write_text(snippet)
    proc = subprocess.run([tool("vermin"), "-t=2.7-", "-t=3.8-", "--violations", "--eval-annotations",
                           "--no-tips", str(bad)], capture_output=True, text=True)
    assert proc.returncode != 0
