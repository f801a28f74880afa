"""What a service's response handler receives: the verified call and its parameters."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from emulator.credentials import Credential
from emulator.http import Request
from emulator.numbers import parse_signed_decimal
from emulator.rpc.errors import InvalidParameter, MissingParameter


@dataclass(frozen=True, slots=True, kw_only=True)
class RpcCall:
    """One API call. ``caller`` is None only for the unsigned telemetry actions."""

    request: Request
    action: str
    params: dict[str, str]
    caller: Credential | None
    region: str

    def required(self, name: str) -> str:
        value = self.params.get(name, "")
        if not value.strip():
            raise MissingParameter(name)
        return value

    def optional(self, name: str, default: str = "") -> str:
        return self.params.get(name, default)

    def optional_int(
        self, name: str, *, minimum: int | None = None, maximum: int | None = None
    ) -> int | None:
        raw = self.params.get(name, "").strip()
        if not raw:
            return None
        value = parse_signed_decimal(raw)
        if value is None:
            raise InvalidParameter(name, "It must be an integer.")
        if minimum is not None and value < minimum:
            raise InvalidParameter(name, f"It must be at least {minimum}.")
        if maximum is not None and value > maximum:
            raise InvalidParameter(name, f"It must be at most {maximum}.")
        return value

    @property
    def oss_endpoint(self) -> str:
        """The OSS endpoint to hand back to this client (UploadAddress.Endpoint).

        A direct client reaches OSS at the address it used for this call (the emulator
        serves everything on one port). A client that came through the emulator as an HTTP
        proxy (voduploadsdk, which cannot be pointed anywhere else) keeps using the proxy,
        so it gets the real regional OSS host name, which the proxy routes back here.
        """
        if self.request.via_proxy:
            return f"http://oss-{self.region}.aliyuncs.com"
        return self.request.base_url

    def object_url(self, bucket: str, key: str) -> str:
        """A URL for an object that resolves to this emulator for this client."""
        quoted = quote(key, safe="/~")
        if self.request.via_proxy:
            return f"http://{bucket}.oss-{self.region}.aliyuncs.com/{quoted}"
        return f"{self.request.base_url}/{bucket}/{quoted}"
