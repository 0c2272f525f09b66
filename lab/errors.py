"""Errors a user can cause and fix: shown as one line (exit code 2 on the CLI), never a traceback."""


class UserError(Exception):
    """A bad preset, key, value, data file or missing model. The message is the whole story."""
