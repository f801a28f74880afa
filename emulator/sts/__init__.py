"""Emulated STS service: models (state), responses (wire), urls, exceptions."""
