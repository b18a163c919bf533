"""Telling people what happened: in-app notifications and email, as event listeners."""
