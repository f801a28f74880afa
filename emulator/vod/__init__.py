"""Emulated VOD service: models (state), responses (wire), urls, exceptions."""
