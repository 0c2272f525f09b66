"""Errors a user can cause and fix: shown as one line (exit code 2 on the CLI), never a traceback."""


class UserError(Exception):
    """A bad preset, key, value, data file or missing model. The message is the whole story.

    In workshop mode the message names paths relative to the participant's workspace: a server folder
    is never shown to a participant (lab/paths.scrub)."""

    def __init__(self, message="", *args):
        if isinstance(message, str) and not args:
            from .paths import scrub  # paths imports this module
            message = scrub(message)
        super().__init__(message, *args)
