"""The JSON API, version 1: bearer tokens, RFC 9457 problem details, OpenAPI 3.1."""
