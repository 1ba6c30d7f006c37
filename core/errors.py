class NotFound(Exception):
    """The object does not exist, or the user may not know that it does (never "forbidden")."""


class Refused(Exception):
    """A request a service cannot carry out: ``message`` is translated, ``field`` names the input,
    ``status`` is the HTTP status the pages and the API answer with. Nothing was changed."""

    def __init__(self, code: str, message: str, *, field: str = "", status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        self.status = status
