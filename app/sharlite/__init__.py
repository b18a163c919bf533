"""sharlite: a small local SHAR gateway that really runs BPMN (with SpiffWorkflow).

It implements the gateway contract of shar-gateway-api.md, extensions included, so the
dashboard can be developed, demonstrated and tested without a SHAR cluster. It imports
nothing from the rest of the app.
"""
