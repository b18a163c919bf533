"""The OpenAPI 3 document of the JSON API, served at /api/openapi.json: its building blocks (parts),
the component schemas, the request bodies the routes read, the paths of workflows and of instances,
and the document that joins them (document)."""
