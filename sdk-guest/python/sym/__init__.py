"""Sym's Python SDK API, implemented for Assent plugins."""
