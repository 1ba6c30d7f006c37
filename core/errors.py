class NotFound(Exception):
    """The object does not exist, or the user may not know that it does (never "forbidden")."""
