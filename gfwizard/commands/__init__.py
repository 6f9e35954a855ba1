"""One module per command; ``gfwizard.cli`` imports a module only when its command runs."""
