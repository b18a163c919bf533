"""Hardening that sits in front of the views: rate limits, sessions, redirects, one-time form keys, file modes."""
