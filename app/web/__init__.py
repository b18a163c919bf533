"""The server-rendered dashboard: one blueprint per concern."""
