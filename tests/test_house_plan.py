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
    ``localserver`` (starting and stopping a server process) and ``workdir`` (the age of stale temp
    folders, file times)."""
    allowed = {"clock.py", "compat.py", "localserver.py", "workdir.py"}
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


# -- docs/design.md and README.md say what the code does ---------------------------------------------

def _read(rel):
    with open(os.path.join(REPO, rel), encoding="utf-8") as f:
        return f.read()


def test_str_of_an_error_is_its_sentence_plus_the_request_id():
    from smart_beauty import errors

    assert "`str(e)` is `e.user_message`, followed by\n` (request id ID)` when the service gave one" in _read(
        "docs/design.md")
    e = errors.ServiceError("Try again later.")
    assert str(e) == e.user_message == "Try again later."
    e = errors.ServiceError("Try again later.", request_id="R-1")
    assert str(e) == "Try again later. (request id R-1)" and e.user_message == "Try again later."


def test_the_error_tree_in_design_md_is_the_one_in_errors_py():
    from smart_beauty import errors

    text = _read("docs/design.md")
    listed = set(re.findall(r"`(\w+Error)[`(]", text.split("Errors (`smart_beauty.errors`)", 1)[1].split("\n\n")[0]))
    defined = {name for name, obj in vars(errors).items()
               if isinstance(obj, type) and issubclass(obj, errors.SmartBeautyError)}
    assert listed == defined


def test_python2_shims_live_only_in_compat():
    """No version test (``sys.version_info``, ``PY2``/``PY3``) and no Python 2 name (``unicode``,
    ``basestring``, ``__unicode__``) in the core's code outside compat.py (strings do not count)."""
    offenders = []
    for rel, path in _python_files(["lib/smart_beauty"]):
        if rel.endswith("compat.py"):
            continue
        with open(path, encoding="utf-8") as f:
            tree = ast.parse(f.read())
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr == "version_info":
                offenders.append("%s:%d: sys.version_info" % (rel, node.lineno))
            elif isinstance(node, ast.Name) and node.id in ("PY2", "PY3", "unicode", "basestring"):
                offenders.append("%s:%d: %s" % (rel, node.lineno, node.id))
            elif isinstance(node, ast.alias) and node.name in ("PY2", "PY3"):
                offenders.append("%s: imports %s" % (rel, node.name))
            elif isinstance(node, ast.FunctionDef) and node.name == "__unicode__":
                offenders.append("%s:%d: __unicode__" % (rel, node.lineno))
    assert offenders == [], offenders


def test_readme_layout_names_every_module():
    layout = _read("README.md").split("## Layout", 1)[1].split("```")[1]
    words = set(re.findall(r"[\w/]+", layout))
    for package in ("lib/smart_beauty", "lib/smart_beauty_engine", "lib/smart_beauty_server", "lib/smart_beauty_cli"):
        names = sorted(n[:-3] if n.endswith(".py") else n + "/" for n in os.listdir(os.path.join(REPO, package))
                       if (n.endswith(".py") and n != "__init__.py")
                       or os.path.isfile(os.path.join(REPO, package, n, "__init__.py")))
        missing = [n for n in names if n.rstrip("/") not in words]
        assert missing == [], (package, missing)


def test_the_code_cites_only_documents_that_are_in_the_repository():
    cited = []
    for rel, _path in _python_files(CODE + ["tests/stubs"]):
        text = _read(rel)
        assert "shared/reference" not in text or rel.endswith("test_pdb_signatures.py"), rel
        cited += [(rel, m) for m in re.findall(r"\bdocs/[\w./-]+\.(?:md|yaml)\b", text)]
    assert cited
    assert [(rel, doc) for rel, doc in cited if not os.path.exists(os.path.join(REPO, doc))] == []


def test_one_serve_loop():
    """``smart-beauty serve`` and ``python -m smart_beauty_server`` share smart_beauty_server.local.run_until_stopped:
    the only place that waits for SIGTERM."""
    loops = []
    for rel, _path in _python_files(["lib/smart_beauty_cli", "lib/smart_beauty_server"]):
        loops += [rel for line in _read(rel).splitlines() if "signal.SIGTERM" in line]
    assert loops == ["lib/smart_beauty_server/local.py"], loops


ADAPTERS = [("plug-ins/gimp2/smart_beauty.py", "plug-ins/gimp2/smart_beauty_gimp2.py"),
            ("plug-ins/smart-beauty/smart-beauty.py", "plug-ins/smart-beauty/smart_beauty_gimp3.py")]


def test_each_gimp_runs_a_short_entry_script_over_an_importable_host_module():
    """The file GIMP runs only sets the path and starts the procedures; the host class and the
    procedures live in a module that runs nothing at import (no register()/main()), is not executable
    (GIMP 2.10 runs executable files of its plug-in folders) and has no cancel hook GIMP never calls."""
    for entry, module in ADAPTERS:
        code = [ln for ln in _read(entry).splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
        assert len(code) <= 40, (entry, len(code))
        text = _read(module)
        tree = ast.parse(text)
        assert [n.name for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "GimpHost"], module
        calls = [ast.unparse(n.value.func) for n in tree.body if isinstance(n, ast.Expr)
                 and isinstance(n.value, ast.Call)]
        assert set(calls) <= {"gi.require_version"}, (module, calls)
        assert not os.access(os.path.join(REPO, module), os.X_OK), module
        assert "_user_cancelled" not in text and "def cancelled" not in text, module


LAYERS = ["smart_beauty", "smart_beauty_engine", "smart_beauty_server", "smart_beauty_cli"]   # bottom first


def _imported_packages(path):
    """The top-level packages a module imports (anywhere in it, also inside functions)."""
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read())
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
    return {name.split(".")[0] for name in names}


def test_packages_import_only_the_layers_below_them():
    """docs/design.md's layering: cli -> server -> engine -> core. The core (what GIMP loads) imports none
    of the others; the engine only the core; the server the engine and the core; the command all three."""
    upwards = []
    for rank, package in enumerate(LAYERS):
        for rel, path in _python_files(["lib/" + package]):
            above = sorted(_imported_packages(path) & set(LAYERS[rank + 1:]))
            upwards += ["%s imports %s" % (rel, name) for name in above]
    assert upwards == [], upwards
    lib = os.path.join(REPO, "lib")
    packages = [p for p in os.listdir(lib) if os.path.isfile(os.path.join(lib, p, "__init__.py"))]
    assert sorted(packages) == sorted(LAYERS)     # a new package gets its place in the layers
