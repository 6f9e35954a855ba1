"""``python -m gfwizard``."""

from gfwizard.cli import main

main()
