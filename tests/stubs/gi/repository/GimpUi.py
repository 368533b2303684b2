"""GimpUi stand-in: GimpUi.init and GimpUi.ProcedureDialog (built from the procedure's declared
arguments; fill() adds the widgets, run() returns True for OK, False for Cancel).

Tests decide what the user does with :data:`RESPONDER`: a callable (dialog) -> bool that may change
``dialog.config`` like the widgets would.

fill() also does what libgimp's gimp_procedure_dialog_check_mnemonic does for each widget (seen in
the real GIMP 3.0.4 and 3.2.6 under Xvfb): the label's mnemonic must exist and clash neither with
another property's nor with the dialog's own buttons (_Reset, _Cancel, _OK, _Load Saved Settings,
_Save Settings); a Gimp.Choice becomes a combo box with the nick as its mnemonic label (3.0, or any
GIMP when the plug-in asks for Gtk.ComboBox) or, by default from 3.2 on when it has at most three
items, a radio frame whose title is no mnemonic label ("no mnemonic for property <name>"). A widget
type libgimp does not accept for the property (e.g. GimpUi.StringComboBox for a choice) gets the
default widget, as libgimp does after its "widget type ... not supported" warning. The lines go to
stderr as GIMP prints them and into :data:`mnemonic_warnings`."""
import sys

initialized = []
mnemonic_warnings = []
CORE_MNEMONICS = (("r", "reset"), ("c", "cancel"), ("o", "ok"), ("l", "load-defaults"), ("s", "save-defaults"))


class StringComboBox:
    """GimpUi.StringComboBox (only its type is used: ProcedureDialog.get_widget's widget_type; libgimp
    does not accept it for a choice argument)."""


class IntRadioFrame:
    """GimpUi.IntRadioFrame (likewise)."""


def init(prog_name):
    initialized.append(prog_name)


def _ok(dialog):
    return True


RESPONDER = _ok
dialogs = []


class ProcedureDialog:
    def __init__(self, procedure=None, config=None, title=None):
        self.procedure = procedure
        self.config = config
        self.title = title
        self.filled = None
        self.destroyed = False
        self.widget_types = {}
        dialogs.append(self)

    def get_widget(self, prop, widget_type=None):
        names = [a.name for a in self.procedure.get_arguments()]
        if prop not in names:
            raise ValueError("no such property %r" % prop)
        from gi.repository import Gtk
        arg = [a for a in self.procedure.get_arguments() if a.name == prop][0]
        if arg.value_type == "choice" and widget_type not in (None, Gtk.ComboBox, IntRadioFrame):
            sys.stderr.write("widget type %s not supported for parameter '%s'\n" % (widget_type.__name__, prop))
            widget_type = None
        self.widget_types.setdefault(prop, widget_type)
        return widget_type

    def _check_mnemonics(self, props):
        from gi.repository import Gimp
        args = dict((a.name, a) for a in self.procedure.get_arguments())
        try:
            radio_default = tuple(int(x) for x in Gimp.version().split(".")[:2]) >= (3, 1)
        except ValueError:
            radio_default = True
        used = dict(CORE_MNEMONICS)
        name = self.procedure.get_name()
        for prop in props:
            arg = args[prop]
            wtype = self.widget_types.get(prop)
            radio = arg.value_type == "choice" and (wtype is IntRadioFrame or (
                wtype is None and radio_default and len(arg.extra.list_nicks()) <= 3))
            nick = arg.nick or ""
            key = nick[nick.index("_") + 1].lower() if "_" in nick[:-1] and not radio else None
            if key is None:
                line = "Procedure '%s': no mnemonic for property %s" % (name, prop)
            elif key in used and dict(CORE_MNEMONICS).get(key) == used[key]:
                line = "Procedure '%s': duplicate mnemonic %s for label of property %s and dialog button %s" % (
                    name, key, prop, used[key])
            elif key in used:
                line = "Procedure '%s': duplicate mnemonic %s for label of properties %s and %s" % (
                    name, key, prop, used[key])
            else:
                used[key] = prop
                continue
            mnemonic_warnings.append(line)
            sys.stderr.write(line + "\n")

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
        self._check_mnemonics(self.filled)

    def run(self):
        if not initialized:
            raise RuntimeError("GimpUi.init() was not called")
        return bool(RESPONDER(self))

    def destroy(self):
        self.destroyed = True
