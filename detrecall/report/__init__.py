"""Views of a result: text tables, JSON."""
