"""`lab rag …`: query and manage indexes from the shell (building one is a job: `lab run presets/rag-index.yaml`).

    lab rag list [--json]                                   indexes with chunk and source counts
    lab rag sources --index X [--json]                      the sources of an index
    lab rag delete --index X SOURCE                         remove a source's chunks
    lab rag chunks --docs DIR [--size 250 --overlap 50]    preview how documents would be chunked
    lab rag retrieve --index X [--k 5] [--mode hybrid] [--json] "question"
    lab rag ask --index X [--model tiny | --base-url URL --model NAME] [--no-retrieval] [--json] "question"

`retrieve --json` prints {"results": [{"source", "chunk_id", "score", "text", …}]}; `ask --json` prints
{"answer", "sources": [{"n", "source", "chunk_id", "score", "text", "cited"}]}. Errors are one line, exit 2."""
from __future__ import annotations

import json
import os
import sys


def _quiet() -> None:
    """The JSON on stdout is the answer; keep library progress bars and notices out of stderr too."""
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TQDM_DISABLE", "1")


def _retrieval(args):
    from .spec import RetrievalSpec
    fields = {"mode": args.mode, "k": args.k}
    for name in ("fusion", "dense_weight", "bm25_weight", "fetch_k", "rrf_c", "rerank_model"):
        value = getattr(args, name, None)
        if value is not None:
            fields[name] = value
    return _validated(RetrievalSpec, fields, "retrieval")


def _validated(cls, fields: dict, what: str):
    from pydantic import ValidationError

    from ..errors import UserError
    try:
        return cls(**fields)
    except ValidationError as e:
        err = e.errors()[0]
        key = ".".join(str(p) for p in err["loc"])
        raise UserError(f"{what}{'.' + key if key else ''}: {err['msg'].removeprefix('Value error, ')}") from None


def cmd_retrieve(args) -> int:
    _quiet()
    from .retrieve import retrieve
    hits = retrieve(args.index, args.question, _retrieval(args))
    if args.json:
        print(json.dumps({"index": args.index, "question": args.question, "results": [h.as_json() for h in hits]},
                         ensure_ascii=False))
    else:
        for h in hits:
            print(f"[{h.rank}] {h.score:.4f}  {h.source}  ({h.chunk_id})")
            print("    " + h.text.replace("\n", " ")[:200])
    return 0


def cmd_ask(args) -> int:
    _quiet()
    from .chain import ask
    from .spec import GeneratorSpec
    generator = _validated(GeneratorSpec, {k: v for k, v in {
        "model": args.model, "base_url": args.base_url, "api_key_env": args.api_key_env,
        "temperature": args.temperature, "max_new_tokens": args.max_new_tokens, "prompt": args.prompt}.items()
        if v is not None}, "generator")
    result = ask(args.index, args.question, _retrieval(args), generator, use_retrieval=not args.no_retrieval)
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        print(result["answer"])
        for s in result["sources"]:
            print(f"  [{s['n']}]{'*' if s['cited'] else ' '} {s['source']}  score {s['score']:.4f}")
    return 0


def cmd_list(args) -> int:
    from .index import list_indexes
    rows = list_indexes()
    if args.json:
        print(json.dumps(rows, ensure_ascii=False))
    else:
        for r in rows:
            print(f"{r['name']:24} {r.get('chunks', '?'):>7} chunks {r.get('sources', '?'):>5} sources  {r.get('error', '')}")
    return 0


def cmd_sources(args) -> int:
    from .index import RagIndex
    rows = RagIndex.open(args.index).sources()
    if args.json:
        print(json.dumps(rows, ensure_ascii=False))
    else:
        for r in rows:
            print(f"{r['chunks']:>5}  {r['source']}")
    return 0


def cmd_delete(args) -> int:
    from .index import delete_source
    removed = delete_source(args.index, args.source)
    print(json.dumps({"index": args.index, "source": args.source, "removed": removed}) if args.json
          else f"removed {removed} chunks of {args.source}")
    return 0


def cmd_chunks(args) -> int:
    from ..paths import resolve_input
    from .chunking import split_documents
    from .loaders import load_documents
    from .spec import ChunkingSpec
    chunking = _validated(ChunkingSpec, {"size": args.size, "overlap": args.overlap}, "chunking")
    loaded = load_documents(resolve_input(args.docs, "docs"))
    chunks = split_documents(loaded.documents, chunking.size, chunking.overlap)
    if args.json:
        print(json.dumps({"chunks": [{"chunk_id": c.id, "source": c.source, "text": c.text} for c in chunks],
                          "errors": [e.as_dict() for e in loaded.errors]}, ensure_ascii=False))
    else:
        for c in chunks:
            print(f"{c.id}  ({len(c.text)} chars)\n    {c.text[:120].replace(chr(10), ' ')}")
        for e in loaded.errors:
            print(f"skipped {e}", file=sys.stderr)
    return 0


def _query_args(p) -> None:
    p.add_argument("question")
    p.add_argument("--index", default="default", help="index name or folder")
    p.add_argument("--k", type=int, default=5)
    p.add_argument("--mode", choices=["hybrid", "dense", "bm25"], default="hybrid")
    p.add_argument("--fusion", choices=["zscore", "minmax", "rrf"], help="how hybrid merges the lists (default zscore)")
    p.add_argument("--dense-weight", dest="dense_weight", type=float)
    p.add_argument("--bm25-weight", dest="bm25_weight", type=float)
    p.add_argument("--fetch-k", dest="fetch_k", type=int)
    p.add_argument("--rrf-c", dest="rrf_c", type=int, help="rank fusion constant (hybrid)")
    p.add_argument("--rerank-model", dest="rerank_model", help="a local cross-encoder folder")
    p.add_argument("--json", action="store_true")


def register(subparsers) -> None:
    rag = subparsers.add_parser("rag", help="retrieval-augmented generation: query and manage indexes")
    sub = rag.add_subparsers(dest="rag_command", required=True)

    r = sub.add_parser("retrieve", help="the chunks an index returns for a question")
    _query_args(r)
    r.set_defaults(func=cmd_retrieve)

    a = sub.add_parser("ask", help="answer a question from an index, with numbered sources")
    _query_args(a)
    a.add_argument("--model", help="tiny | run:<id> | folder | Hub id; with --base-url the endpoint's model")
    a.add_argument("--base-url", dest="base_url", help="OpenAI-compatible endpoint, e.g. http://127.0.0.1:8000/v1")
    a.add_argument("--api-key-env", dest="api_key_env", help="environment variable holding the endpoint's key")
    a.add_argument("--temperature", type=float)
    a.add_argument("--max-new-tokens", dest="max_new_tokens", type=int)
    a.add_argument("--prompt", help="template with {context} and {question}")
    a.add_argument("--no-retrieval", dest="no_retrieval", action="store_true", help="answer without the index")
    a.set_defaults(func=cmd_ask)

    ls = sub.add_parser("list", help="indexes under the workspace")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=cmd_list)

    s = sub.add_parser("sources", help="sources of an index with their chunk counts")
    s.add_argument("--index", default="default")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_sources)

    d = sub.add_parser("delete", help="remove a source from an index")
    d.add_argument("source")
    d.add_argument("--index", default="default")
    d.add_argument("--json", action="store_true")
    d.set_defaults(func=cmd_delete)

    c = sub.add_parser("chunks", help="preview the chunks of a folder of documents")
    c.add_argument("--docs", default="samples/rag_docs")
    c.add_argument("--size", type=int, default=250)
    c.add_argument("--overlap", type=int, default=50)
    c.add_argument("--json", action="store_true")
    c.set_defaults(func=cmd_chunks)
