"""Emulated OSS service: models (state), responses (wire), urls, exceptions."""
