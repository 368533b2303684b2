"""GimpUi stand-in: GimpUi.init and GimpUi.ProcedureDialog (built from the procedure's declared
arguments; fill() adds the widgets, run() returns True for OK, False for Cancel).

Tests decide what the user does with :data:`RESPONDER`: a callable (dialog) -> bool that may change
``dialog.config`` like the widgets would."""

initialized = []


def init(prog_name):
    initialized.append(prog_name)


def _ok(dialog):
    return True


RESPONDER = _ok
dialogs = []


class ProcedureDialog(object):
    def __init__(self, procedure=None, config=None, title=None):
        self.procedure = procedure
        self.config = config
        self.title = title
        self.filled = None
        self.destroyed = False
        dialogs.append(self)

    @classmethod
    def new(cls, procedure, config, title=None):
        return cls(procedure=procedure, config=config, title=title)

    def fill(self, properties=None):
        names = [a.name for a in self.procedure.get_arguments()]
        for p in properties or []:
            if p not in names:
                raise ValueError("no such property %r" % p)
        self.filled = list(properties) if properties else [n for n in names
                                                             if n not in ("run-mode", "image", "drawables")]

    def run(self):
        if not initialized:
            raise RuntimeError("GimpUi.init() was not called")
        return bool(RESPONDER(self))

    def destroy(self):
        self.destroyed = True
