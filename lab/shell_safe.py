"""Values that end up in a shell or a generated script (Slurm partition, account, time, job name,
extra sbatch options, launcher addresses, a venv to source) are checked against a strict pattern
before anything is written, and quoted where they are written.

A workshop participant can send any value through the HTTP API, so a newline in a partition name
would otherwise become a second line of an sbatch script, and a `;` a second command. The patterns
are allow-lists: what Slurm and the launchers accept in practice, and nothing that a shell treats
specially (whitespace, quotes, `;`, `&`, `|`, `$`, backticks, redirections, control characters)."""
from __future__ import annotations

import re
import shlex

_SLURM_NAME = r"[A-Za-z0-9_][A-Za-z0-9_.+-]{0,127}"
PATTERNS: dict[str, tuple[str, str]] = {
    # kind: (regular expression for the whole value, what it allows — for the refusal message)
    "slurm_name": (_SLURM_NAME, "letters, digits and _ . + - (up to 128)"),
    "slurm_partition": (rf"{_SLURM_NAME}(,{_SLURM_NAME})*", "partition names of letters, digits and _ . + -, separated by commas"),
    "slurm_time": (r"(\d{1,7}|\d{1,7}:\d{1,2}|\d{1,7}:\d{1,2}:\d{1,2}|\d{1,4}-\d{1,2}(:\d{1,2}){0,2}|UNLIMITED|INFINITE)",
                   "a Slurm time: MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS"),
    "sbatch_option": (r"--?[A-Za-z][A-Za-z0-9-]{0,63}(=[A-Za-z0-9_.,:/@%+=-]{1,256})?",
                      "one option like --qos=high (letters, digits and _ . , : / @ % + = - in the value, no spaces)"),
    "host": (r"[A-Za-z0-9][A-Za-z0-9.-]{0,252}|\[[0-9A-Fa-f:.]{2,45}\]", "a host name or an IP address"),
    "host_port": (r"([A-Za-z0-9][A-Za-z0-9.-]{0,252}|\[[0-9A-Fa-f:.]{2,45}\]):\d{1,5}", "host:port"),
    "gpu_ids": (r"\d{1,4}(,\d{1,4}){0,1023}", "GPU ids separated by commas, e.g. 0,1"),
    "hostfile_line": (r"[A-Za-z0-9][A-Za-z0-9.-]{0,252}( slots=\d{1,5})?", "'host slots=N'"),
    # a path sbatch reads from an `#SBATCH --output=` line (no shell there; sbatch splits on whitespace)
    "sbatch_path": (r"[^\s\"'\\\x00-\x1f\x7f]{1,4096}", "a path without spaces, quotes, backslashes or control characters"),
    "path": (r"[A-Za-z0-9_./~+@%-][A-Za-z0-9_./~+@%=,:-]{0,4095}",
             "a path of letters, digits and _ . / ~ + @ % = , : - (no spaces or shell characters)"),
}


def refusal(field: str | None, value: object, kind: str) -> str:
    """One line: which field, what was sent (escaped, so a newline shows as \\n), what is allowed."""
    shown = repr(value)
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    return f"{field + ': ' if field else ''}{shown} is not allowed here: use {PATTERNS[kind][1]}"


def is_safe(value: str, kind: str) -> bool:
    return isinstance(value, str) and re.fullmatch(PATTERNS[kind][0], value) is not None


def check(value, kind: str, field: str | None = None):
    """Return the value unchanged when it matches `kind`'s pattern, else raise ValueError (one line).
    None passes: an unset optional field writes nothing."""
    if value is None:
        return value
    if not is_safe(value, kind):
        raise ValueError(refusal(field, value, kind))
    return value


def pattern(kind: str, each: str | None = None):
    """A spec field's check, as `Annotated[str | None, shell_safe.pattern("slurm_partition")]`; with
    `each`, a list field whose every item must match (its refusal names the item: 'option 2')."""
    from pydantic import AfterValidator
    if each:
        return AfterValidator(lambda values: check_all(values, kind, each))
    return AfterValidator(lambda value: check(value, kind))


def check_all(values, kind: str, field: str | None = None):
    for i, value in enumerate(values or ()):
        check(value, kind, f"{field or 'item'} {i + 1}")
    return values


# What a workshop participant may add to an sbatch script: scheduling wishes only. Options that move
# files (--output, --error, --chdir), change who or what runs (--uid, --export, --wrap, --get-user-env)
# or reach other jobs stay with the facilitator.
PARTICIPANT_SBATCH_OPTIONS = frozenset({
    "qos", "constraint", "mem", "mem-per-cpu", "mem-per-gpu", "exclusive", "reservation", "comment", "nice",
    "gres", "gpus", "gpus-per-task", "cpus-per-gpu", "hint", "begin", "deadline", "mail-type", "time-min"})


def participant_sbatch_refusal(options) -> str | None:
    """None when every option is one a participant may set, else the one-line reason."""
    for option in options or ():
        name = option.lstrip("-").split("=", 1)[0]
        if name not in PARTICIPANT_SBATCH_OPTIONS:
            return (f"launch.slurm.extra_sbatch: '{option[:60]}' is for the facilitator; a participant may add "
                    f"{', '.join('--' + n for n in sorted(PARTICIPANT_SBATCH_OPTIONS))}")
    return None


def quote(value: str) -> str:
    """For a shell line; patterns above already keep out what a shell would read, this is the
    second fence."""
    return shlex.quote(str(value))
