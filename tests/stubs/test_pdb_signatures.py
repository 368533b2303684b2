"""Every PDB procedure the plug-ins or the stand-ins use exists in the real GIMP PDB with the same
argument list (names, types, order) and return values -- for GIMP 2.10.34 and GIMP 3.0.4.

Sources of truth: tests/stubs/data/gimp-*-pdb-subset.json, cut from the real dumps in
shared/reference/ (checked against them here when that folder is present).
Calls are found by reading the adapters' source (AST), and from the stand-ins' own registries:
``gimp._PROCS`` (2.10) and ``Gimp.PDB_WRAPPERS`` (libgimp 3 calls implemented by a PDB procedure).

Regenerate the subsets: ``.venv/bin/python tests/stubs/test_pdb_signatures.py --update``.
"""
import ast
import inspect
import json
import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
SHARED = os.path.join(os.path.dirname(REPO), "shared", "reference")
DATA = os.path.join(HERE, "data")
# the host modules, where the adapters call GIMP (the entry scripts only start them)
GIMP2_PLUGIN = os.path.join(REPO, "plug-ins", "gimp2", "smart_beauty_gimp2.py")
GIMP3_PLUGIN = os.path.join(REPO, "plug-ins", "smart-beauty", "smart_beauty_gimp3.py")
SUBSET = {"2.10": os.path.join(DATA, "gimp-2.10-pdb-subset.json"),
          "3.0": os.path.join(DATA, "gimp-3.0-pdb-subset.json")}
FULL = {"2.10": os.path.join(SHARED, "gimp-2.10-pdb-signatures.json"),
        "3.0": os.path.join(SHARED, "gimp-3.0-pdb-signatures.json")}

if HERE not in sys.path:
    sys.path.insert(0, HERE)


def load(version):
    with open(SUBSET[version]) as f:
        data = json.load(f)
    data.pop("_source")
    return data


def stub_procs_210():
    import gimp
    return {n: p for n, p in gimp._PROCS.items() if not getattr(p, "registered_by_gimpfu", False)}


def canonical(name):
    return name.replace("_", "-")


# -- 2.10 -------------------------------------------------------------------------------------


def pdb_calls(path):
    """(name, n_positional, keywords, line) for every pdb.NAME(...) and pdb["NAME"](...) call."""
    with open(path) as f:
        tree = ast.parse(f.read(), path)
    out = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        fn = node.func
        name = None
        if isinstance(fn, ast.Attribute) and isinstance(fn.value, ast.Name) and fn.value.id == "pdb":
            name = fn.attr
        elif isinstance(fn, ast.Subscript) and isinstance(fn.value, ast.Name) and fn.value.id == "pdb":
            key = fn.slice.value if isinstance(fn.slice, ast.Constant) else None
            name = key
        if name:
            out.append((canonical(name), len(node.args), [k.arg for k in node.keywords], node.lineno))
    return out


def test_gimp2_stub_procedures_match_the_real_pdb():
    real = load("2.10")
    procs = stub_procs_210()
    assert len(procs) > 60
    for name, proc in sorted(procs.items()):
        assert name in real, "%s is not in GIMP 2.10.34's PDB" % name
        params, returns = proc.signature
        assert params == real[name]["params"], name
        assert returns == real[name]["return_vals"], name
        assert proc.proc_type == real[name]["type"], name


def gimp2_call_problems(path):
    real = load("2.10")
    procs = stub_procs_210()
    problems = []
    for name, nargs, keywords, line in pdb_calls(path):
        if name not in real:
            problems.append("line %d: %s is not in GIMP 2.10.34's PDB" % (line, name))
            continue
        if name not in procs:
            problems.append("line %d: %s has no stand-in" % (line, name))
        params = real[name]["params"]
        expected = len(params) - (1 if params and params[0][1] == "run-mode" else 0)
        if nargs != expected:
            problems.append("line %d: %s takes %d arguments (run-mode omitted), got %d" % (
                line, name, expected, nargs))
        if not set(keywords) <= {"run_mode"}:
            problems.append("line %d: only run_mode= may be a keyword" % line)
    return problems


def test_gimp2_adapter_pdb_calls_exist_with_the_right_arity():
    assert len(pdb_calls(GIMP2_PLUGIN)) > 30
    assert gimp2_call_problems(GIMP2_PLUGIN) == []


def test_the_gimp2_check_catches_wrong_calls(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("pdb.gimp_file_load_layer(1, img, path)\npdb.gimp_layer_new(img, 1, 1, 0, 'n', 100.0)\n"
                   "pdb.gimp_no_such_thing(img)\npdb['file-png-save2'](img, d, f, f, 0, 9, 0, 0, 0, 0, 0, 0, 0, "
                   "run_mode=1)\npdb.gimp_image_delete(image=img)\n")
    problems = gimp2_call_problems(str(bad))
    assert len(problems) == 5, problems   # the png call with run_mode= is fine
    assert any("gimp-no-such-thing is not in" in p for p in problems)
    assert not any("file-png-save2" in p for p in problems)


def test_gimp2_pygimp_methods_used_by_the_adapter_exist():
    """The adapter's few non-PDB pygimp calls are module functions the stand-in has."""
    import gimp
    with open(GIMP2_PLUGIN) as f:
        tree = ast.parse(f.read())
    used = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name)
            and n.value.id == "gimp"}
    # gimp.version: the (2, 10, 34) tuple of gimpmodule.c (Check Setup reports it)
    assert used and used <= {"message", "progress_init", "progress_update", "displays_flush", "directory",
                             "version"}
    for name in used:
        assert hasattr(gimp, name), name


# -- 3.0 --------------------------------------------------------------------------------------


def test_gimp3_stub_wrappers_match_the_real_pdb():
    from gi.repository import Gimp
    real = load("3.0")
    assert len(Gimp.PDB_WRAPPERS) > 50
    for key, (name, params, returns) in sorted(Gimp.PDB_WRAPPERS.items()):
        assert name in real, "%s -> %s is not in GIMP 3.0.4's PDB" % (key, name)
        assert params == real[name]["params"], key
        assert returns == real[name]["return_vals"], key


def _gimp3_stub_callable(Gimp, owner, attr):
    """The stand-in for Gimp.attr or Gimp.owner.attr or any class's method attr (for obj.attr)."""
    if owner is None:
        return getattr(Gimp, attr, None)
    cls = getattr(Gimp, owner, None)
    return getattr(cls, attr, None) if cls is not None else None


def gimp3_calls(path):
    """libgimp calls in the GIMP 3 adapter: Gimp.f(...), Gimp.Cls.f(...), and obj.method(...) where
    ``method`` is a libgimp method name the stand-in knows."""
    with open(path) as f:
        tree = ast.parse(f.read(), path)
    out = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        fn = node.func
        if isinstance(fn.value, ast.Name) and fn.value.id == "Gimp":
            out.append((None, fn.attr, len(node.args), node.lineno, "module"))
        elif (isinstance(fn.value, ast.Attribute) and isinstance(fn.value.value, ast.Name)
              and fn.value.value.id == "Gimp"):
            out.append((fn.value.attr, fn.attr, len(node.args), node.lineno, "class"))
        else:
            out.append((None, fn.attr, len(node.args), node.lineno, "method"))
    return out


def test_gimp3_adapter_libgimp_calls_exist_with_the_right_arity():
    from gi.repository import Gimp
    real = load("3.0")
    method_owners = {}
    for cls_name in ("Image", "Item", "Drawable", "Layer", "GroupLayer", "TextLayer", "Channel", "Selection"):
        cls = getattr(Gimp, cls_name)
        for attr, value in vars(cls).items():
            if callable(value) and not attr.startswith("_"):
                method_owners.setdefault(attr, []).append(cls)
    checked = 0
    for owner, attr, nargs, line, kind in gimp3_calls(GIMP3_PLUGIN):
        if kind == "method":
            if attr not in method_owners:
                continue  # not a libgimp call (config, str, os ...)
            fits = []
            for cls in method_owners[attr]:
                fn = getattr(cls, attr)
                ps = [p for p in inspect.signature(fn).parameters.values()
                      if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
                if len([p for p in ps if p.default is p.empty]) - 1 <= nargs <= len(ps) - 1:
                    fits.append(fn)
            assert fits, "line %d: no libgimp method %s takes %d arguments" % (line, attr, nargs)
            for fn in fits:
                qual = fn.__qualname__
                if qual in Gimp.PDB_WRAPPERS:
                    assert Gimp.PDB_WRAPPERS[qual][0] in real
            checked += 1
            continue
        else:
            fn = _gimp3_stub_callable(Gimp, owner, attr)
            assert fn is not None, "line %d: Gimp.%s%s does not exist in the stand-in" % (
                line, owner + "." if owner else "", attr)
            if not callable(fn) or isinstance(fn, type):
                continue  # enums and classes used as values
            if isinstance(fn, type(Gimp.RunMode.INTERACTIVE)):
                continue
            try:
                sig = inspect.signature(fn)
            except (TypeError, ValueError):
                continue
            positional = [p for p in sig.parameters.values() if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
            bound = len(positional)
        required = len([p for p in positional if p.default is p.empty])
        assert required <= nargs <= bound, "line %d: %s takes %d..%d arguments, got %d" % (
            line, attr, required, bound, nargs)
        qual = getattr(fn, "__qualname__", "")
        if qual in Gimp.PDB_WRAPPERS:
            assert Gimp.PDB_WRAPPERS[qual][0] in real
        checked += 1
    assert checked > 25


def test_gimp3_wrapped_python_signatures_agree_with_the_pdb():
    """A libgimp wrapper takes the PDB's arguments in order (methods: the object is the first);
    only progress_init differs (libgimp fills in the display)."""
    from gi.repository import Gimp
    for key, (_name, params, _returns) in Gimp.PDB_WRAPPERS.items():
        owner, _, attr = key.rpartition(".")
        fn = getattr(getattr(Gimp, owner), attr) if owner else getattr(Gimp, attr)
        names = [p for p in inspect.signature(fn).parameters]
        if owner and not isinstance(inspect.getattr_static(getattr(Gimp, owner), attr), (classmethod, staticmethod)):
            names = ["self"] + names if names[:1] != ["self"] else names
            pdb_names = ["self"] + [n for _, n in params[1:]]
        else:
            pdb_names = [n for _, n in params]
        if key == "progress_init":
            pdb_names = pdb_names[:1]
        if names[:1] == ["cls"]:
            names = names[1:]
        assert len(names) == len(pdb_names), (key, names, pdb_names)


# -- the subsets against the full dumps ---------------------------------------------------------


@pytest.mark.parametrize("version", ["2.10", "3.0"])
def test_subset_is_a_faithful_copy_of_the_real_dump(version):
    if not os.path.exists(FULL[version]):
        pytest.skip("SKIPPED LOUDLY: %s is not here, so the committed subset was not re-checked against the "
                    "full GIMP %s PDB dump" % (FULL[version], version))
    with open(FULL[version]) as f:
        full = json.load(f)
    for name, entry in load(version).items():
        assert full[name]["params"] == entry["params"], name
        assert full[name]["return_vals"] == entry["return_vals"], name
        assert full[name]["type"] == entry["type"], name


def _update():  # pragma: no cover - maintenance helper
    sys.path.insert(0, os.path.join(REPO, "lib"))
    import gimp
    from gi.repository import Gimp
    wanted = {"2.10": sorted(stub_procs_210()), "3.0": sorted({v[0] for v in Gimp.PDB_WRAPPERS.values()})}
    for version, names in wanted.items():
        with open(FULL[version]) as f:
            full = json.load(f)
        out = {"_source": "shared/reference/%s: the procedural database of a real GIMP %s (parsed by "
                          "shared/reference/parse_pdb_dump.py); only the procedures the plug-in and the "
                          "stand-ins use. Regenerate with tests/stubs/test_pdb_signatures.py --update."
                          % (os.path.basename(FULL[version]), "2.10.34" if version == "2.10" else "3.0.4")}
        for n in names:
            out[n] = {k: full[n][k] for k in ("params", "return_vals", "type")}
        with open(SUBSET[version], "w") as f:
            json.dump(out, f, indent=1, sort_keys=True)
    del gimp


if __name__ == "__main__" and "--update" in sys.argv:  # pragma: no cover
    _update()
