"""Plug-ins: code outside sharboard that listens to its events (app/lifecycle/events.py).

`loading` finds them (the `sharboard.listeners` entry points, the SHARBOARD_PLUGINS setting) once per
process, `registry` is what a plug-in's `register(registry)` receives, `views` the snapshots its
listeners and the Python API (app/python_api.py) hand out instead of database rows.
docs/integrating.md walks through writing one.
"""
