"""vodref: a test-first reference uploader for Alibaba Cloud ApsaraVideo VOD."""

__version__ = "0.1.0"
