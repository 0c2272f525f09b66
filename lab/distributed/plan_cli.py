"""`lab plan memory|parallel|compute`: the Launch tab's three planners from the command line.

    lab plan memory --params 7e9 --largest-layer-params 131e6 --gpus-per-node 8 --nodes 1 --json
    lab plan memory --model llama-2-7b --gpus-per-node 8 --seq-length 4096 --micro-batch 1
    lab plan parallel --gpus 8 --tp 2 --pp 2 --micro-batch 1 --global-batch 1024 --model llama-2-7b
    lab plan parallel --example llama-2-7b --json
    lab plan compute --params 7e9 --gpus 64 --gpu-type a100 --mfu 0.4 --json

Counts accept 7e9, 7000000000 or 7B / 131M / 1.4T. Bad input is one line and exit code 2. Imports stay
light (no torch): the planners are arithmetic."""
from __future__ import annotations

import json


def _shape(args):
    from .model_size import load_shape
    return load_shape(args.model) if getattr(args, "model", None) else None


def _count(value, flag: str) -> int:
    from .model_size import parse_count
    return int(parse_count(value, flag))


def cmd_memory(args) -> int:
    from ..errors import UserError
    from .model_size import count_params
    from .plan_memory import activation_estimate, format_table, plan_memory
    shape = _shape(args)
    counted = count_params(shape) if shape else None
    params = _count(args.params, "--params") if args.params else (counted.total if counted else None)
    largest = _count(args.largest_layer_params, "--largest-layer-params") if args.largest_layer_params else (
        counted.largest_layer if counted else None)
    if params is None:
        raise UserError("lab plan memory: give --params N (and --largest-layer-params) or --model PATH_OR_NAME")
    if largest is None:
        raise UserError("lab plan memory: ZeRO-3 needs the largest layer: give --largest-layer-params or --model")
    activations = None
    if shape is not None:
        seq = args.seq_length or shape.seq_length
        if seq:
            activations = activation_estimate(seq, args.micro_batch, shape.hidden, shape.layers, shape.heads,
                                              tensor_parallel=args.tp, sequence_parallel=args.sequence_parallel,
                                              fused_attention=args.fused_attention, vocab=shape.vocab)
    trainable = None
    if args.lora_r:
        if shape is None:
            raise UserError("lab plan memory: --lora-r counts adapter parameters from a model's shape: give --model")
        from .model_size import lora_params
        trainable = lora_params(shape, args.lora_r)
    plan = plan_memory(params, largest, args.gpus_per_node, args.nodes, args.buffer_factor,
                       zero_init=not args.no_zero_init, activations=activations, trainable_params=trainable)
    print(json.dumps(plan.to_dict(), ensure_ascii=False) if args.json else format_table(plan))
    return 0


def cmd_parallel(args) -> int:
    from ..errors import UserError
    from .model_size import ModelShape
    from .plan_parallel import LLAMA2_7B_EXAMPLE, plan_parallel
    if args.example:
        from .model_size import KNOWN_ARCHITECTURES
        shape = ModelShape.from_mapping(KNOWN_ARCHITECTURES["llama-2-7b"], name="llama-2-7b")
        defaults = LLAMA2_7B_EXAMPLE
    else:
        shape = _shape(args)
        defaults = {}
        if shape is None:
            given = {k: getattr(args, k) for k in ("layers", "heads", "hidden")}
            missing = [f"--{k}" for k, v in given.items() if v is None]
            if missing:
                raise UserError(f"lab plan parallel: give --model PATH_OR_NAME, or {', '.join(missing)}")
            shape = ModelShape.from_mapping(
                {"layers": args.layers, "heads": args.heads, "hidden": args.hidden,
                 "intermediate": args.ffn or 4 * args.hidden, "kv_heads": args.kv_heads or args.heads,
                 "vocab": args.vocab or 32000, "seq_length": args.seq_length}, name="flags", where="lab plan parallel")

    def pick(name):
        value = getattr(args, name)
        return value if value is not None else defaults.get(name)
    if pick("gpus") is None or pick("global_batch") is None:
        raise UserError("lab plan parallel: give --gpus and --global-batch (or --example llama-2-7b)")
    plan = plan_parallel(gpus=pick("gpus"), tp=pick("tp") or 1, pp=pick("pp") or 1,
                         micro_batch=pick("micro_batch") or 1, global_batch=pick("global_batch"), model=shape,
                         seq_length=args.seq_length or (4096 if args.example else None),
                         gpus_per_node=pick("gpus_per_node"), sequence_parallel=not args.no_sequence_parallel,
                         distributed_optimizer=not args.no_distributed_optimizer, precision=args.precision)
    if args.json:
        print(json.dumps(plan.to_dict(), ensure_ascii=False))
        return 0
    accum = plan.grad_accum_steps if plan.grad_accum_steps is not None else "-"
    bubble = f"{plan.pipeline_bubble:.3f}" if plan.pipeline_bubble is not None else "-"
    print(f"{plan.model.name}: {plan.gpus} GPUs = TP {plan.tp} × PP {plan.pp} × DP {plan.dp if plan.dp else '?'}; "
          f"micro batch {plan.micro_batch}, global batch {plan.global_batch}, gradient accumulation {accum}, "
          f"pipeline bubble (PP-1)/m = {bubble}")
    for v in plan.violations:
        print(f"✗ {v.constraint}: {v.en}\n  {v.ja}")
    for w in plan.warnings:
        print(f"! {w.constraint}: {w.en}\n  {w.ja}")
    print("constraints: all satisfied" if plan.valid else f"constraints: {len(plan.violations)} violated")
    print(plan.command())
    return 0


def cmd_compute(args) -> int:
    from ..errors import UserError
    from .model_size import count_params, parse_count
    from .plan_compute import format_summary, plan_compute
    shape = _shape(args)
    if args.params:
        params = parse_count(args.params, "--params")
    elif shape is not None:
        params = float(count_params(shape).total)
    else:
        raise UserError("lab plan compute: give --params N or --model PATH_OR_NAME")
    tokens = parse_count(args.tokens, "--tokens") if args.tokens else None
    plan = plan_compute(params, args.gpus, args.gpu_type, tokens=tokens, mfu=args.mfu)
    print(json.dumps(plan.to_dict(with_curves=not args.no_curves), ensure_ascii=False) if args.json
          else format_summary(plan))
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("plan", help="plan memory (ZeRO), 3D parallelism (Megatron-LM) and compute",
                              description="Planners for distributed training: arithmetic only, nothing runs.")
    sub = p.add_subparsers(dest="planner", required=True)
    model_help = ("llama-2-7b | llama-2-13b | llama-2-70b | llama-3-8b | tiny | run:<ID> | a model folder | a Hub id "
                  "(its config.json, from the cache or the Hub) | "
                  "a config.json | inline JSON {\"layers\":…, \"hidden\":…, \"heads\":…, \"vocab\":…}")

    m = sub.add_parser("memory", help="GPU and CPU bytes per ZeRO stage and offload choice (+ activations)")
    m.add_argument("--params", help="total parameters, e.g. 7e9 or 7B (default: counted from --model)")
    m.add_argument("--largest-layer-params", help="parameters of the largest single layer, e.g. 131e6")
    m.add_argument("--model", help=model_help)
    m.add_argument("--gpus-per-node", type=int, default=1)
    m.add_argument("--nodes", type=int, default=1)
    m.add_argument("--buffer-factor", type=float, default=1.5, help="DeepSpeed's additional_buffer_factor")
    m.add_argument("--no-zero-init", action="store_true", help="ZeRO-3 without zero.Init (more CPU memory)")
    m.add_argument("--seq-length", type=int, help="activations: tokens per sequence (default: the model's)")
    m.add_argument("--micro-batch", type=int, default=1, help="activations: sequences per GPU per step")
    m.add_argument("--tp", type=int, default=1, help="activations: tensor-parallel size")
    m.add_argument("--sequence-parallel", action="store_true", help="activations: Megatron sequence parallelism")
    m.add_argument("--fused-attention", action="store_true",
                   help="activations: FlashAttention/SDPA (no s×s scores stored)")
    m.add_argument("--lora-r", type=int, help="LoRA rank on all linear layers: only the adapters train "
                                             "(default: full fine-tuning)")
    m.add_argument("--json", action="store_true")
    m.set_defaults(func=cmd_memory)

    q = sub.add_parser("parallel", help="check TP/PP/DP and batch sizes, emit Megatron-LM arguments")
    q.add_argument("--example", choices=["llama-2-7b"], help="the book's Llama-2-7B TP=2/PP=2 recipe on 8 GPUs")
    q.add_argument("--gpus", type=int)
    q.add_argument("--gpus-per-node", type=int, help="default: min(GPUs, 8)")
    q.add_argument("--tp", type=int, help="tensor-parallel size (default 1)")
    q.add_argument("--pp", type=int, help="pipeline-parallel size (default 1)")
    q.add_argument("--micro-batch", type=int, help="sequences per GPU per forward pass (default 1)")
    q.add_argument("--global-batch", type=int, help="sequences per optimizer step")
    q.add_argument("--model", help=model_help)
    q.add_argument("--layers", type=int)
    q.add_argument("--heads", type=int)
    q.add_argument("--hidden", type=int)
    q.add_argument("--ffn", type=int, help="FFN (intermediate) size, default 4×hidden")
    q.add_argument("--kv-heads", type=int, help="key/value heads for grouped-query attention")
    q.add_argument("--vocab", type=int)
    q.add_argument("--seq-length", type=int)
    q.add_argument("--precision", default="bf16", choices=["bf16", "fp16", "fp32"])
    q.add_argument("--no-sequence-parallel", action="store_true")
    q.add_argument("--no-distributed-optimizer", action="store_true")
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=cmd_parallel)

    c = sub.add_parser("compute", help="training FLOPs, wall-clock, Chinchilla/Kaplan compute-optimal curves")
    c.add_argument("--params", help="parameters, e.g. 7e9 or 7B (default: counted from --model)")
    c.add_argument("--model", help=model_help)
    c.add_argument("--tokens", help="training tokens (default: Chinchilla-optimal, 20 per parameter)")
    c.add_argument("--gpus", type=int, required=True)
    c.add_argument("--gpu-type", required=True, help="a100, h100-sxm, h100-pcie, h200, l4, l40s, a10, rtx4090, v100, …")
    c.add_argument("--mfu", type=float, default=0.4, help="model FLOPs utilisation, 0 < MFU ≤ 1")
    c.add_argument("--no-curves", action="store_true", help="--json: leave out the curve points")
    c.add_argument("--json", action="store_true")
    c.set_defaults(func=cmd_compute)
