"""GLib stand-in: GLib.Error as PyGObject exposes it."""


class Error(Exception):
    def __init__(self, message=None, domain=None, code=0):
        Exception.__init__(self, message)
        self.message = message
        self.domain = domain
        self.code = code


def idle_add(fn, *args):
    fn(*args)
    return 1
