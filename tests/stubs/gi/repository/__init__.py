"""gi.repository stand-ins (no Gtk: the adapter imports Gtk only on its interactive path)."""
