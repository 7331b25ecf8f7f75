"""The one exception type the store raises to its callers."""


class StoreError(Exception):
    """A database could not be opened or a write was refused; the message is safe to show."""
