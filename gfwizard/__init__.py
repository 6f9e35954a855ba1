"""gfwizard — the operator tool for GloriousFlywheel deployments onto honey.

This package is the core: domain logic, services and the command line. It never imports
Textual at import time; the UI lives in the separate ``screens`` package.
"""

__version__ = "0.1.0"
