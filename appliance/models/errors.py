"""The one error the models commands raise; `appliance` prints it as one line and exits 1."""

from __future__ import annotations


class ModelToolError(Exception):
    """A models command that cannot go on; str() is the one-line message for the user."""
