"""gi.repository stand-ins (Gtk: only the ComboBox type the adapter names for its procedure dialog;
the settings dialog is not modelled)."""
