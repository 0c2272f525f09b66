"""The files a distributed launch needs, generated from the spec's `launch:` block: a DeepSpeed JSON
whose batch sizes and precision are "auto" (the HF Trainer fills them from TrainingArguments, so the
two can never disagree), an accelerate config, and a DeepSpeed hostfile."""
from __future__ import annotations

import json

import yaml


def deepspeed_config(launch) -> dict:
    zero: dict = {"stage": launch.zero_stage, "overlap_comm": True, "contiguous_gradients": True,
                  "reduce_bucket_size": "auto"}
    if launch.zero_stage in (2, 3):
        zero.update(allgather_partitions=True, reduce_scatter=True)
    if launch.zero_stage == 3:
        zero.update(stage3_prefetch_bucket_size="auto", stage3_param_persistence_threshold="auto",
                    stage3_max_live_parameters=1e9, stage3_max_reuse_distance=1e9,
                    stage3_gather_16bit_weights_on_model_save=True)
    if launch.offload_optimizer != "none":
        zero["offload_optimizer"] = {"device": launch.offload_optimizer, "pin_memory": True}
    if launch.offload_param != "none":
        zero["offload_param"] = {"device": launch.offload_param, "pin_memory": True}
    config = {
        "train_batch_size": "auto",
        "train_micro_batch_size_per_gpu": "auto",
        "gradient_accumulation_steps": "auto",
        "gradient_clipping": "auto",
        "bf16": {"enabled": "auto"},
        "fp16": {"enabled": "auto"},
        "zero_optimization": zero,
        "steps_per_print": 1_000_000,  # the lab's own events carry the numbers
        "wall_clock_breakdown": False,
    }
    if launch.offload_optimizer != "none":
        # The Trainer brings its own torch optimizer (train.optim); DeepSpeed refuses a client
        # optimizer with ZeRO-Offload (ZeRORuntimeException) unless told this is deliberate. Its own
        # DeepSpeedCPUAdam would be faster but needs a compiled op that a CPU box cannot build.
        config["zero_force_ds_cpu_optimizer"] = False
    return config


def accelerate_config(launch, cuda: bool, deepspeed_json: str | None = None, mixed_precision: str | None = None,
                      gpu_ids: str | None = None) -> dict:
    """`mixed_precision`: what the Trainer resolved (lab/launch_plan.precision), so the file and the
    training agree; `gpu_ids`: the GPUs the run is pinned to."""
    processes = launch.nproc_per_node * launch.nnodes
    if launch.zero_stage is not None:
        kind = "DEEPSPEED"
    elif launch.fsdp:
        kind = "FSDP"
    elif processes > 1:
        # accelerate's MULTI_CPU launches through mpirun; its MULTI_GPU path is torch.distributed.run,
        # which on a CPU box gives N gloo ranks (the Trainer gets use_cpu and ddp_backend=gloo).
        kind = "MULTI_GPU"
    else:
        kind = "NO"
    cfg: dict = {
        "compute_environment": "LOCAL_MACHINE",
        "distributed_type": kind,
        "num_processes": processes,
        "num_machines": launch.nnodes,
        "machine_rank": launch.node_rank,
        "main_process_ip": launch.master_addr,
        "main_process_port": launch.master_port,
        "mixed_precision": mixed_precision or launch.mixed_precision,
        "use_cpu": False if processes > 1 else not cuda,
        "rdzv_backend": "c10d" if launch.rdzv_endpoint else "static",
        "same_network": True,
        "main_training_function": "main",
        "downcast_bf16": "no",
        "tpu_use_cluster": False,
        "tpu_use_sudo": False,
    }
    if gpu_ids or launch.gpus:
        cfg["gpu_ids"] = gpu_ids or launch.gpus
    elif cuda:
        cfg["gpu_ids"] = "all"
    if kind == "DEEPSPEED":
        cfg["deepspeed_config"] = {"deepspeed_config_file": deepspeed_json, "zero3_init_flag": launch.zero_stage == 3}
    if kind == "FSDP":
        cfg["fsdp_config"] = {"fsdp_version": 2, "fsdp_auto_wrap_policy": "TRANSFORMER_BASED_WRAP",
                              "fsdp_reshard_after_forward": True, "fsdp_state_dict_type": "FULL_STATE_DICT",
                              "fsdp_cpu_ram_efficient_loading": True, "fsdp_offload_params": False}
    return cfg


def hostfile(launch) -> str:
    return "".join(line.strip() + "\n" for line in launch.hostfile if line.strip())


def dump_json(data: dict) -> str:
    return json.dumps(data, indent=2) + "\n"


def dump_yaml(data: dict) -> str:
    return yaml.safe_dump(data, sort_keys=False)
