"""Helpers for the API's tests: SQL fixtures mimicking the harvester, servers, a client."""
