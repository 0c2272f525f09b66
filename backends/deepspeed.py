"""argv for the `deepspeed` launcher (it adds --local_rank=N to the module's arguments)."""
from __future__ import annotations


def command(python: str, module_argv: list[str], *, nproc_per_node: int, hostfile: str | None = None,
            master_addr: str = "127.0.0.1", master_port: int = 29500, gpus: str | None = None) -> list[str]:
    argv = [python, "-m", "deepspeed.launcher.runner"]
    if hostfile:
        argv += ["--hostfile", hostfile, "--master_addr", master_addr]
    elif gpus:
        argv += ["--include", f"localhost:{gpus}"]
    else:
        argv += ["--num_gpus", str(nproc_per_node)]
    return argv + ["--master_port", str(master_port), "--module", *module_argv]
