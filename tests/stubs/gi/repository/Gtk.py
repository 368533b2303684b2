"""Gtk stand-in: only what the GIMP 3 adapter's procedure dialog names (Gtk.ComboBox, the widget type
it asks libgimp for its choice argument). The settings dialog's password field is not modelled."""


class ComboBox:
    """GtkComboBox (only its type is used: GimpUi.ProcedureDialog.get_widget's widget_type)."""
