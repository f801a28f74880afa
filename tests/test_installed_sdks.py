"""The installed Alibaba Cloud SDKs are the ones the suite was written against.

voduploadsdk declares ``aliyun-python-sdk-core-v3``, whose last release (2.13.33, 2022) ships
its own copy of the ``aliyunsdkcore`` package and overwrites the modern one when pip installs
it after ``aliyun-python-sdk-core``. That copy's vendored ``six`` raises ``ImportWarning`` at
import, which ``filterwarnings = error`` turns into a collection error far from the cause.
``scripts/run-tests`` installs voduploadsdk without its dependencies; this test names the
problem and its fix if the clash ever comes back.
"""

from __future__ import annotations

import importlib.metadata


def _installed(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def test_the_old_core_fork_is_not_installed() -> None:
    version = _installed("aliyun-python-sdk-core-v3")
    assert version is None, (
        f"aliyun-python-sdk-core-v3 {version} is installed and has overwritten aliyunsdkcore "
        "with an old copy. Run: pip uninstall -y aliyun-python-sdk-core-v3 && "
        "pip install --force-reinstall --no-deps aliyun-python-sdk-core "
        "(scripts/run-tests does this)."
    )


def test_aliyunsdkcore_is_the_modern_core() -> None:
    import aliyunsdkcore  # noqa: PLC0415 (imported late: the old copy fails at import)

    found = tuple(int(part) for part in aliyunsdkcore.__version__.split(".")[:2])
    assert found >= (2, 15), (
        f"aliyunsdkcore {aliyunsdkcore.__version__} is imported; the suite needs >= 2.15 "
        "from aliyun-python-sdk-core (an old copy from aliyun-python-sdk-core-v3?)"
    )
    files = importlib.metadata.files("aliyun-python-sdk-core") or []
    assert any(str(path).startswith("aliyunsdkcore/") for path in files)


def test_voduploadsdk_imports_on_the_modern_core() -> None:
    from voduploadsdk.AliyunVodUploader import AliyunVodUploader  # noqa: PLC0415

    assert callable(AliyunVodUploader)
