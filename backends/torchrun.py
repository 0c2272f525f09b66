"""argv for torchrun (torch.distributed.run): N processes per node, one or many nodes."""
from __future__ import annotations


def command(python: str, module_argv: list[str], *, nproc_per_node: int, nnodes: int = 1, node_rank: int = 0,
            master_addr: str = "127.0.0.1", master_port: int = 29500, rdzv_endpoint: str | None = None,
            run_id: str = "lab") -> list[str]:
    argv = [python, "-m", "torch.distributed.run", "--nproc_per_node", str(nproc_per_node)]
    if rdzv_endpoint:
        argv += ["--nnodes", str(nnodes), "--rdzv_backend", "c10d", "--rdzv_endpoint", rdzv_endpoint, "--rdzv_id", run_id]
    elif nnodes == 1:
        argv += ["--standalone"]  # a free local port: two runs on one box never collide on 29500
    else:
        argv += ["--nnodes", str(nnodes), "--node_rank", str(node_rank), "--master_addr", master_addr,
                 "--master_port", str(master_port)]
    return argv + ["-m", *module_argv]
