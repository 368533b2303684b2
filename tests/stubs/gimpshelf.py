# -*- coding: utf-8 -*-
"""Stand-in for plug-ins/pygimp/gimpshelf.py: a dict-like shelf pickled into
``gimp.set_data``/``gimp.get_data`` (gimp-procedural-db-set/get-data). It lives in GIMP's memory for
one session only (a new ``gimp._reset()`` empties it), exactly like the real one."""
from __future__ import absolute_import

import pickle

import gimp


class Gimpshelf(object):
    def has_key(self, key):
        try:
            gimp.get_data(key)
            return 1
        except gimp.error:
            return 0

    def __contains__(self, key):
        return bool(self.has_key(key))

    def __getitem__(self, key):
        try:
            s = gimp.get_data(key)
        except gimp.error:
            raise KeyError(key)
        return pickle.loads(s)

    def __setitem__(self, key, value):
        gimp.set_data(key, pickle.dumps(value, 2))

    def __delitem__(self, key):
        gimp.set_data(key, b"")


shelf = Gimpshelf()
