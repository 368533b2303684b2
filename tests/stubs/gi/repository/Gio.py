"""Gio stand-in: Gio.File for local paths."""
import os


class File:
    def __init__(self, path):
        self._path = os.path.abspath(path)

    @classmethod
    def new_for_path(cls, path):
        return cls(path)

    def get_path(self):
        return self._path

    def get_basename(self):
        return os.path.basename(self._path)

    def get_uri(self):
        return "file://" + self._path

    def query_exists(self, cancellable=None):
        return os.path.exists(self._path)

    def delete(self, cancellable=None):
        os.remove(self._path)
        return True

    def __eq__(self, other):
        return isinstance(other, File) and other._path == self._path

    def __hash__(self):
        return hash(self._path)

    def __repr__(self):
        return "<Gio.File %s>" % self._path
