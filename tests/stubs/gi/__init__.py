"""Stand-in for PyGObject's ``gi`` package, just enough for the GIMP 3 adapter under test:
``gi.require_version`` and ``gi.repository.{Gimp,GimpUi,GLib,Gio,GObject,Gegl}`` (see
tests/stubs/gi/repository/Gimp.py). Python 3 only."""

_versions = {}
_known = {"Gimp": "3.0", "GimpUi": "3.0", "Gegl": "0.4", "GLib": "2.0", "Gio": "2.0", "GObject": "2.0",
          "Gtk": "3.0", "Babl": "0.1"}


def require_version(namespace, version):
    if namespace not in _known:
        raise ValueError("Namespace %s not available" % namespace)
    if _known[namespace] != version:
        raise ValueError("Namespace %s not available for version %s" % (namespace, version))
    _versions[namespace] = version
