"""Helpers shared across the test tree, imported as ``support.<module>``.

``tests/`` is on ``sys.path`` because ``tests/conftest.py`` lives there (pytest's default
``prepend`` import mode), so this package needs no path tricks. One module per concern:
``rpc`` (a VOD/STS emulator on a loopback socket and SDK clients for it), ``control``
(VOD calls and UploadAuth buckets for the control-plane tests), ``node`` and ``browser``
(the ali-oss and Chromium runners), ``npm`` (the shared Node install), ``checksums``,
``uploader`` (files, sources and server-side checks for the uploader tests), ``callbacks``
(a loopback receiver for VOD event callbacks), ``s3_differences`` (the OSS/S3 differences
the moto oracle applies), ``security`` (raw and hand-signed requests for the issue 9 tests)
and ``fuzz`` (their request mix).
"""
