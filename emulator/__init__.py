"""A local OSS + VOD + STS emulator that the official Alibaba Cloud SDKs talk to unmodified."""

__version__ = "0.1.0"
