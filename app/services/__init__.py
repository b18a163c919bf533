"""The service layer: the one place the web pages, the JSON API and the CLI call."""
