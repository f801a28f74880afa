"""Example subject adapters for uploaders other than vodref (see
:mod:`vodref.conformance.subject` for the protocol)."""
