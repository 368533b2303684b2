"""Gegl stand-in (the adapter needs nothing from it beyond importability)."""


def init(argv=None):
    return argv


class Color:
    def __init__(self, name="black"):
        self.name = name

    @classmethod
    def new(cls, name):
        return cls(name)
