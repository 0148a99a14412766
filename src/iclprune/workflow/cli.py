"""``iclprune`` command line: the workflow's stages, callable by hand.

Examples::

    iclprune cache-model --model embedded --out resources/models/smollm2.json
    iclprune importance --model embedded --task icl_capitals --shots 5 --out scores.parquet
    iclprune task-table --model embedded --shots 0 1 5 --readme tasks/README.md
    iclprune download facebook/opt-66b --revision <commit> --out manifest.json
    iclprune verify-model manifest.json
    iclprune fetch-data boolq --repo aps/super_glue --name boolq --revision <commit> \
        --out results/data/boolq/hub.json
    iclprune fetch-data boolq --path /data/superglue/boolq --out results/data/boolq/local.json
    iclprune verify-data                      # every results/data/*/*.json under the current folder
    iclprune cost --configfile config/paper.yaml --tokens-per-s 800 --gpus-per-job 2
    iclprune cost config/opt_scale.yaml --readme README.md --block cost-opt-scale
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import signal
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

TABLE_START = "<!-- task-table:start -->"
TABLE_END = "<!-- task-table:end -->"


def _model(args: argparse.Namespace) -> dict:
    spec = {"source": args.model, "dtype": args.dtype}
    if getattr(args, "revision", None):
        spec["revision"] = args.revision
    return spec


def _point(text: str) -> tuple[float, float]:
    """``"70,20"`` → ``(70.0, 20.0)``; both percentages in [0, 100]."""
    try:
        heads, ffns = (float(x) for x in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"bad grid point {text!r}; expected pct_heads,pct_ffns such as 70,20"
        ) from None
    if not (0 <= heads <= 100 and 0 <= ffns <= 100):
        raise argparse.ArgumentTypeError(
            f"bad grid point {text!r}; expected percentages in [0, 100] such as 70,20"
        )
    return heads, ffns


def _at_least(minimum: int):
    """An argparse type: an integer ``>= minimum``, with an error naming the value otherwise."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer; expected >= {minimum}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{value} is out of range; expected an integer >= {minimum}")
        return value

    return parse


def _positive(text: str) -> float:
    """An argparse type: a number ``> 0``, with an error naming the value otherwise."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number; expected a positive number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text} is out of range; expected a positive number")
    return value


def _component(text: str) -> str:
    """An argparse type: a component string (``head:<layer>:<head>`` or ``ffn:<layer>``)."""
    from iclprune.core.components import parse_component

    try:
        parse_component(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    return text


def _table(text: str) -> str:
    """An argparse type: an output table path ending in ``.parquet`` or ``.tsv``."""
    if Path(text).suffix not in (".parquet", ".tsv"):
        raise argparse.ArgumentTypeError(f"{text!r} has no .parquet or .tsv suffix; expected a table path")
    return text


def render_task_table(table) -> str:
    """Markdown: one row per task, accuracy per shot (with its 95% interval when the table has
    ``acc_low``/``acc_high``), chance level; then the mean row."""
    wide = table.pivot(index="task", columns="shot", values="acc")
    bounds = "acc_low" in table and "acc_high" in table
    if bounds:
        low = table.pivot(index="task", columns="shot", values="acc_low")
        high = table.pivot(index="task", columns="shot", values="acc_high")
    chance = table.groupby("task")["chance"].first()
    shots = list(wide.columns)

    def cell(task, k) -> str:
        text = f"{wide.loc[task, k]:.3f}"
        return text + (f" ({low.loc[task, k]:.2f}–{high.loc[task, k]:.2f})" if bounds else "")

    lines = ["| task | chance | " + " | ".join(f"{k}-shot" for k in shots) + " |"]
    lines.append("|---|---|" + "---|" * len(shots))
    for task in wide.index:
        c = chance[task]
        lines.append(f"| {task} | {c:.2f} | " + " | ".join(cell(task, k) for k in shots) + " |")
    means = wide.mean()
    lines.append(
        f"| **mean** | {chance.mean():.2f} | " + " | ".join(f"**{means[k]:.3f}**" for k in shots) + " |"
    )
    n = int(table["n_docs"].max())
    note = "; in brackets the 95% Wilson interval over documents" if bounds else ""
    return "\n".join(lines) + f"\n\n(validation documents per task: up to {n}; few-shot seed 1234{note})\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="iclprune", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--model", default="embedded", help="embedded | tiny:<family> | path | hub id")
        p.add_argument("--dtype", default="float32", choices=["float32", "float16", "bfloat16", "float64"])
        p.add_argument("--revision", default=None, help="hub revision (commit) to pin")

    p = sub.add_parser("cache-model", help="make a model loadable offline and write its card (JSON)")
    common(p)
    p.add_argument("--out", required=True)

    p = sub.add_parser("importance", help="gradient head importance of one (task, shot)")
    common(p)
    p.add_argument("--task", required=True)
    p.add_argument("--shots", type=_at_least(0), required=True)
    p.add_argument("--n-docs", type=_at_least(1), default=2500)
    p.add_argument("--batch-size", type=_at_least(1), default=8)
    p.add_argument("--normalizer", default="paper", choices=["paper", "answer_tokens", "examples", "none"])
    p.add_argument("--seed", type=int, default=1234)
    p.add_argument("--out", type=_table, required=True)

    p = sub.add_parser("ffn-oracle", help="oracle FFN importance of one (task, shot)")
    common(p)
    p.add_argument("--task", required=True)
    p.add_argument("--shots", type=_at_least(0), required=True)
    p.add_argument("--limit", type=_at_least(1), default=None)
    p.add_argument("--batch-size", type=_at_least(1), default=8)
    p.add_argument("--out", type=_table, required=True)

    p = sub.add_parser("evaluate", help="accuracy of one (task, shot) with components removed")
    common(p)
    p.add_argument("--task", required=True)
    p.add_argument("--shots", type=_at_least(0), required=True)
    p.add_argument("--remove", nargs="*", type=_component, default=[], help="components, e.g. head:3:5 ffn:2")
    p.add_argument("--limit", type=_at_least(1), default=None)
    p.add_argument("--batch-size", type=_at_least(1), default=8)
    p.add_argument(
        "--out", type=_table, required=True, help="per-document table (.parquet/.tsv) + JSON sidecar"
    )

    p = sub.add_parser("sweep", help="accuracy under fixed rankings at each (pct_heads, pct_ffns)")
    common(p)
    p.add_argument("--task", required=True)
    p.add_argument("--shots", type=_at_least(0), required=True)
    p.add_argument("--head-scores", default=None, help="an `importance` table")
    p.add_argument("--ffn-scores", default=None, help="an `ffn-oracle` table")
    p.add_argument("--variant", default="bansal", choices=["bansal", "michel"])
    p.add_argument(
        "--grid", nargs="+", type=_point, required=True, help="points pct_heads,pct_ffns e.g. 0,0 70,20"
    )
    p.add_argument("--limit", type=_at_least(1), default=None)
    p.add_argument("--batch-size", type=_at_least(1), default=8)
    p.add_argument("--mask-batch", type=_at_least(1), default=4, help="masks per forward (1: one at a time)")
    p.add_argument("--out", type=_table, required=True)

    p = sub.add_parser("task-table", help="accuracy of the full model on every bundled task per shot")
    common(p)
    p.add_argument("--tasks", nargs="*", default=None, help="default: every bundled task")
    p.add_argument("--shots", type=_at_least(0), nargs="+", default=[0, 1, 5])
    p.add_argument("--limit", type=_at_least(1), default=None)
    p.add_argument("--batch-size", type=_at_least(1), default=8)
    p.add_argument("--out", type=_table, default="results/task_table/task_table.tsv")
    p.add_argument("--readme", default=None, help="also write the table into this README between markers")
    p.add_argument(
        "--data-root",
        default=None,
        help="registry tasks read <DIR>/<task>/ (local split files; manifests in results/data/, docs/data.md)",
    )

    p = sub.add_parser(
        "download", help="snapshot a hub model at a pinned commit and write its checksum manifest"
    )
    p.add_argument("repo_id", help="hub id, e.g. facebook/opt-66b")
    p.add_argument("--revision", default=None, help="the 40-hex commit to pin (required)")
    p.add_argument("--cache-dir", default=None, help="hub cache (default: $HF_HUB_CACHE, else $HF_HOME/hub)")
    p.add_argument("--out", default=None, help="also write the manifest (JSON) here")
    p.add_argument("--offline", action="store_true", help="use the local cache only (HF_HUB_OFFLINE=1)")

    p = sub.add_parser("verify-model", help="re-hash a downloaded snapshot against its checksum manifest")
    p.add_argument("manifest", help="a manifest written by `iclprune download` or the download_model rule")
    p.add_argument(
        "--snapshot", default=None, help="the snapshot folder (default: the one the manifest names)"
    )

    p = sub.add_parser(
        "fetch-data",
        help="settle one task's documents (hub snapshot at a pinned commit, or a local folder), check them "
        "against the task's templates and write their checksum manifest",
    )
    p.add_argument("task", help="an lm-eval registry task (or a fixed one), e.g. boolq")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--repo", default=None, help="hub dataset, e.g. aps/super_glue")
    where.add_argument(
        "--path", default=None, help="a local folder of <split>.jsonl / <split>-*.parquet files"
    )
    p.add_argument("--name", default=None, help="the dataset config (lm-eval's dataset_name), with --repo")
    p.add_argument("--revision", default=None, help="the 40-hex commit to pin (required with --repo)")
    p.add_argument("--cache-dir", default=None, help="hub cache (default: $HF_HUB_CACHE, else $HF_HOME/hub)")
    p.add_argument("--out", required=True, help="write the manifest (JSON) here")
    p.add_argument("--offline", action="store_true", help="use the local cache only (HF_HUB_OFFLINE=1)")

    p = sub.add_parser("verify-data", help="re-hash the files of task data manifests")
    p.add_argument(
        "manifests", nargs="*", help="manifests written by fetch-data or the task_data rule "
        "(default: every results/data/*/*.json under the current folder)",
    )  # fmt: skip

    p = sub.add_parser("cost", help="requests, tokens and GPU-hours per stage of a workflow config")
    p.add_argument("config", nargs="?", default=None, help="a workflow config (or --configfile)")
    p.add_argument("--configfile", default=None, help="a workflow config, e.g. config/paper.yaml")
    p.add_argument("--tokens-per-s", type=_positive, default=None,
                   help="forward tokens per second of one job, for every model (default: from an assumed "
                        "1e14 FLOP/s and each model's size)")  # fmt: skip
    p.add_argument("--gpus-per-job", type=_at_least(1), default=None,
                   help="GPUs one job holds, for every model (default: enough 80 GB GPUs for the weights)")  # fmt: skip
    p.add_argument("--out", type=_table, default=None,
                   help="also write the per-stage table here (a study of several models: one row per model "
                        "and stage)")  # fmt: skip
    p.add_argument(
        "--readme", default=None, help="write the estimate into this Markdown file between markers"
    )
    p.add_argument(
        "--block", default="cost", help="the markers' name: <!-- NAME:start --> … <!-- NAME:end -->"
    )
    p.add_argument(
        "--summary", action="store_true", help="a study of several models: print the summary table alone"
    )

    p = sub.add_parser(
        "claims-table", help="render a claims table (results/<study>/claims/<model>.tsv) as Markdown"
    )
    p.add_argument("claims", help="a claims table written by the workflow (TSV)")
    p.add_argument("--readme", default=None, help="write it into this Markdown file between markers")
    p.add_argument(
        "--block", default="claims", help="the markers' name: <!-- NAME:start --> … <!-- NAME:end -->"
    )

    args = parser.parse_args(argv)
    if args.command == "cost":
        if args.config and args.configfile and args.config != args.configfile:
            parser.error(
                f"cost takes one config: {args.config!r} or --configfile {args.configfile!r}, not both"
            )
        args.configfile = args.configfile or args.config
        if not args.configfile:
            parser.error("cost needs a workflow config: iclprune cost CONFIG (or --configfile CONFIG)")
    if args.command == "fetch-data" and args.path is not None:
        given = [f"--{k.replace('_', '-')}" for k in ("name", "revision", "cache_dir") if getattr(args, k)]
        if given:
            parser.error(f"fetch-data --path takes no {', '.join(given)}; they go with --repo")
    if args.command in ("download", "fetch-data"):  # the commands that may use the network (read at import)
        os.environ["HF_HUB_OFFLINE"] = "1" if args.offline else "0"
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    from iclprune.core.io import raise_on_sigterm
    from iclprune.core.settings import EvaluationSettings, ImportanceSettings
    from iclprune.workflow import stages, sweeps

    previous = raise_on_sigterm()  # SIGTERM unwinds like an error: temporary files go, checkpoints stay
    try:
        if args.command == "cache-model":
            stages.cache_model(_model(args), args.out)
        elif args.command == "importance":
            stages.head_importance(
                _model(args), args.task, args.shots, args.out, importance=ImportanceSettings(
                    n_docs=args.n_docs, batch_size=args.batch_size, normalizer=args.normalizer, seed=args.seed
                ),
            )  # fmt: skip
        elif args.command == "ffn-oracle":
            stages.ffn_oracle(
                _model(args), args.task, args.shots, args.out,
                evaluation=EvaluationSettings(limit=args.limit, batch_size=args.batch_size),
            )  # fmt: skip
        elif args.command == "evaluate":
            stages.evaluate(
                _model(args), args.task, args.shots, args.out, remove=args.remove,
                evaluation=EvaluationSettings(limit=args.limit, batch_size=args.batch_size),
            )  # fmt: skip
        elif args.command == "sweep":
            sweeps.pruning_sweep(
                _model(args), args.task, args.shots, args.out, head_scores=args.head_scores,
                ffn_scores=args.ffn_scores, grid=args.grid, variant=args.variant,
                evaluation=EvaluationSettings(
                    limit=args.limit, batch_size=args.batch_size, mask_batch=args.mask_batch
                ),
            )  # fmt: skip
        elif args.command == "task-table":
            from iclprune.evaluate.taskdefs import bundled_tasks

            tasks = args.tasks or bundled_tasks()
            data = None
            if args.data_root:
                from iclprune.evaluate.taskdata import prepare, task_sources

                data = {}
                for task, source in task_sources({"data_root": args.data_root}, tasks).items():
                    manifest = Path("results/data") / task / f"{source.key()}.json"
                    prepare(source, manifest)
                    data[task] = str(manifest)
            table = stages.task_table(
                _model(args), tasks, args.shots, args.out,
                evaluation=EvaluationSettings(limit=args.limit, batch_size=args.batch_size), data=data,
            )  # fmt: skip
            text = render_task_table(table)
            print(text)
            if args.readme:
                readme = Path(args.readme)
                body = readme.read_text()
                block = f"{TABLE_START}\n{text}{TABLE_END}"
                if TABLE_START in body:
                    body = re.sub(f"{TABLE_START}.*?{TABLE_END}", lambda _: block, body, flags=re.S)
                else:
                    body += "\n" + block + "\n"
                readme.write_text(body)
        elif args.command == "download":
            from iclprune.model.download import download

            manifest = download(args.repo_id, args.revision, cache_dir=args.cache_dir, out=args.out)
            print(f"{manifest['repo_id']}@{manifest['commit']}: {manifest['n_files']} files, "
                  f"{manifest['total_bytes']:,} bytes in {manifest['snapshot']}")  # fmt: skip
        elif args.command == "verify-model":
            from iclprune.model.download import verify_snapshot

            manifest = verify_snapshot(args.manifest, args.snapshot)
            print(f"{manifest['repo_id']}@{manifest['commit']}: {manifest['n_files']} files verified")
        elif args.command == "fetch-data":
            from iclprune.evaluate.taskdata import prepare, source_from_entry

            entry = (
                {"repo": args.repo, "name": args.name, "revision": args.revision}
                if args.repo is not None
                else {"path": args.path}
            )
            source = source_from_entry(
                args.task, entry, base_dir=Path.cwd(), where="the command line's source"
            )
            manifest = prepare(source, args.out, cache_dir=args.cache_dir)
            where = f"{source.repo}@{source.revision}" if source.kind == "hub" else manifest["snapshot"]
            print(f"{args.task}: {where}: documents {manifest['documents']}, {manifest['n_files']} files, "
                  f"{manifest['total_bytes']:,} bytes; manifest {args.out}")  # fmt: skip
        elif args.command == "verify-data":
            from iclprune.evaluate.taskdata import verify_data

            paths = args.manifests or sorted(str(p) for p in Path.cwd().glob("results/data/*/*.json"))
            if not paths:
                raise ValueError(
                    f"no data manifests given and none under {Path.cwd() / 'results/data'}/*/*.json; expected "
                    "manifests written by `iclprune fetch-data` or the task_data rule"
                )
            failed = 0
            for path in paths:
                try:
                    manifest = verify_data(path)
                except (ValueError, OSError) as err:
                    print(f"iclprune verify-data: error: {path}: {err}", file=sys.stderr)
                    failed += 1
                    continue
                print(f"ok {manifest['task']} {manifest['n_files']} files")
            if failed:
                return 2
        elif args.command == "claims-table":
            from iclprune.core.io import read_table
            from iclprune.reporting.claims import render_claims
            from iclprune.reporting.timings import write_block

            text = render_claims(read_table(args.claims))
            print(text, end="")
            if args.readme:
                write_block(args.readme, args.block, text)
        elif args.command == "cost":
            from iclprune.core.io import write_table
            from iclprune.workflow import cost

            config = cost.load_config(args.configfile)
            rates = dict(tokens_per_s=args.tokens_per_s, gpus_per_job=args.gpus_per_job)
            if isinstance(config["model"], str):  # one model: its table
                est = cost.estimate(config, **rates)
                text, table = cost.render(est, args.configfile), est.table
            else:  # a study of several models: one table each and the summary
                study = cost.estimate_study(config, **rates)
                text = cost.render_study(study, args.configfile, summary_only=args.summary)
                table = study.table()
            print(text)
            if args.out:
                write_table(table, args.out)
            if args.readme:
                cost.write_readme_block(args.readme, args.block, text)
    except (ValueError, FileNotFoundError) as err:
        print(f"iclprune {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            f"iclprune {args.command}: interrupted; finished points stay in the checkpoint", file=sys.stderr
        )
        return 130
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
