"""argv for `accelerate launch` with a generated config file."""
from __future__ import annotations


def command(python: str, module_argv: list[str], *, config_file: str, overrides: dict[str, str] | None = None) -> list[str]:
    """`overrides` are launch flags that win over the config file (e.g. a node's --machine_rank under Slurm)."""
    flags = [x for key, value in (overrides or {}).items() for x in (f"--{key}", value)]
    return [python, "-m", "accelerate.commands.launch", "--config_file", config_file, *flags, "-m", *module_argv]
