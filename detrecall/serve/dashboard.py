"""The dashboard at GET /: one self-contained page (inline CSS and script, SVG charts drawn in the
browser), reading the same /v1 API as any client.

The page loads nothing from elsewhere (the Content-Security-Policy allows only this page's own
script, by hash, and requests to its own origin). The token is given once in the URL fragment
(`/#token=...`, never sent to the server nor logged) or typed in; it is kept in sessionStorage.
When everything is drawn, `<body data-ready="1">`; a failure sets `data-error`.
"""

from __future__ import annotations

import base64
import hashlib
from importlib.resources import files

_HERE = files(__package__)
SCRIPT = (_HERE / "dashboard.js").read_text()
STYLE = (_HERE / "dashboard.css").read_text()
PAGE = (_HERE / "dashboard.html").read_text().replace("{style}", STYLE).replace("{script}", SCRIPT)
SCRIPT_HASH = "sha256-" + base64.b64encode(hashlib.sha256(SCRIPT.encode()).digest()).decode()
