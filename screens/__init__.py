"""The Textual UI of gfwizard. Imports the core (``gfwizard``); the core never imports this package."""
