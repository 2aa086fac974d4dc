"""Pydantic models of the service's API, in Unified.to's shapes."""
