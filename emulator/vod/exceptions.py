"""VOD's operation errors with their wire codes and HTTP statuses.

The codes and statuses are the ones in VOD's API reference. The generic
``MissingParameter`` and ``InvalidParameter`` come from the POP gateway and are shared
with STS (:mod:`emulator.rpc.errors`). Raising any of these leaves the VOD state
untouched: the model validates everything before it writes.
"""

from __future__ import annotations

from emulator.rpc.errors import InvalidParameter, MissingParameter, RpcError

__all__ = [
    "CategoryLevelExceeded",
    "CategoryNotFound",
    "ForbiddenIllegalStatus",
    "IllegalCharacters",
    "InvalidFileNameExtension",
    "InvalidImageNotFound",
    "InvalidParameter",
    "InvalidStorageNotFound",
    "InvalidVideoNoneStream",
    "InvalidVideoNotFound",
    "LengthExceededMax",
    "MissingParameter",
    "SubCategoriesExceeded",
    "TagsExceededMax",
    "VodError",
]


class VodError(RpcError):
    """Base of the VOD-specific errors."""


class InvalidVideoNotFound(VodError):
    status = 404
    code = "InvalidVideo.NotFound"
    default_message = "The video does not exist."


class InvalidImageNotFound(VodError):
    status = 404
    code = "InvalidImage.NotFound"
    default_message = "The image does not exist."


class InvalidFileNameExtension(VodError):
    code = "InvalidFileName.Extension"

    def __init__(self, file_name: str) -> None:
        super().__init__(f"The file extension of FileName is not supported: {file_name!r}.")


class LengthExceededMax(VodError):
    code = "LengthExceededMax"

    def __init__(self, name: str, limit: int) -> None:
        super().__init__(f"The length of parameter {name} exceeds the maximum of {limit} bytes.")


class TagsExceededMax(VodError):
    code = "TagsExceededMax"

    def __init__(self, limit: int) -> None:
        super().__init__(f"The number of tags exceeds the maximum of {limit}.")


class IllegalCharacters(VodError):
    code = "IllegalCharacters"

    def __init__(self, name: str) -> None:
        super().__init__(f"The parameter {name} contains illegal characters.")


class InvalidStorageNotFound(VodError):
    status = 404
    code = "InvalidStorage.NotFound"
    default_message = "The storage location does not exist."


class CategoryNotFound(VodError):
    status = 404
    code = "InvalidCateId.NotFound"

    def __init__(self, cate_id: int) -> None:
        super().__init__(f"The category {cate_id} does not exist.")


class CategoryLevelExceeded(VodError):
    status = 403
    code = "Forbidden.CategoryLevelExceeded"

    def __init__(self, limit: int) -> None:
        super().__init__(f"Categories can be nested at most {limit} levels deep.")


class SubCategoriesExceeded(VodError):
    status = 403
    code = "Forbidden.SubCategoriesExceeded"

    def __init__(self, limit: int) -> None:
        super().__init__(f"A category can hold at most {limit} subcategories.")


class ForbiddenIllegalStatus(VodError):
    status = 403
    code = "Forbidden.IllegalStatus"

    def __init__(self, status: str) -> None:
        super().__init__(f"The video cannot be played in its status {status}.")


class InvalidVideoNoneStream(VodError):
    status = 404
    code = "InvalidVideo.NoneStream"
    default_message = "The video has no stream that matches the requested formats."
