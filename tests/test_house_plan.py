"""Claims of docs/design.md about where things live, kept true by reading the code.

One way to build a client: in the code that runs (lib/, plug-ins/), a :class:`smart_beauty.Client` is
constructed only by ``smart_beauty.localserver.open_client``; the credit total is summed only by
``Client.balance``. Time is injected: no module of lib/ reads ``monotonic()``/``time.time()`` for a job's
waits outside ``smart_beauty/clock.py`` (reporting and process management excepted, listed below).
"""
import ast
import os
import re

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CODE = ["lib", "plug-ins"]


def _python_files(roots):
    for root in roots:
        for folder, _dirs, files in os.walk(os.path.join(REPO, root)):
            for name in files:
                if name.endswith(".py"):
                    path = os.path.join(folder, name)
                    yield os.path.relpath(path, REPO), path


def _calls(path, name):
    """Line numbers and enclosing function of every call to ``name`` (a bare or dotted name)."""
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read())
    found = []

    def visit(node, func):
        for child in ast.iter_child_nodes(node):
            inner = child.name if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) else func
            if isinstance(child, ast.Call):
                target = child.func
                called = target.id if isinstance(target, ast.Name) else getattr(target, "attr", None)
                if called == name:
                    found.append((child.lineno, func))
            visit(child, inner)
    visit(tree, None)
    return found


def test_a_client_is_built_in_one_place():
    places = []
    for rel, path in _python_files(CODE):
        places += [(rel, func) for _line, func in _calls(path, "Client")]
    assert places and set(places) == {("lib/smart_beauty/localserver.py", "open_client")}, places


def test_the_credit_total_is_summed_in_one_place():
    places = []
    for rel, path in _python_files(CODE):
        with open(path, encoding="utf-8") as f:
            for line in f:
                if re.search(r"""\.get\(["']balance["']\)""", line):
                    places.append(rel)
    assert places == ["lib/smart_beauty/client.py"], places


def test_core_waits_only_through_the_clock():
    """``lib/smart_beauty``: the job's time comes from the injected clock (``clock.py``). Allowed:
    ``localserver`` (starting and stopping a server process) and ``layerjob`` (the age of stale temp
    folders, file times)."""
    allowed = {"clock.py", "compat.py", "localserver.py", "layerjob.py"}
    offenders = []
    for rel, path in _python_files(["lib/smart_beauty"]):
        if os.path.basename(rel) in allowed:
            continue
        with open(path, encoding="utf-8") as f:
            text = f.read()
        for pattern in (r"\bmonotonic\b", r"\btime\.time\(", r"\btime\.sleep\(", r"\.wait\(\s*[\w.]+\s*\)"):
            for m in re.finditer(pattern, text):
                offenders.append("%s: %s" % (rel, m.group(0)))
    assert offenders == [], offenders
