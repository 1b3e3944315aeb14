"""Views of a result: terminal tables (table), JSON/CSV/Markdown (formats), plots (plots),
one-file HTML (html), and diagnostics (diagnose). rich and matplotlib are imported lazily."""
