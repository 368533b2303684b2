"""GObject stand-in: the ParamFlags the adapter passes to add_*_argument."""
import enum


class ParamFlags(enum.IntFlag):
    READABLE = 1
    WRITABLE = 2
    READWRITE = 3
    CONSTRUCT = 4
    CONSTRUCT_ONLY = 8


class Object:
    pass
