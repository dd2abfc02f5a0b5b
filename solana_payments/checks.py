"""System checks for the app's configuration (filled in by the foundation work)."""
