"""The `digest` command: parse options, call one function in `run`, print its report.

Owns logging set-up and exit codes: 0 ran (also when nothing was new), 1 a PipelineError or every
source failed, 2 a usage or configuration error. Heavy libraries are never imported here, so
`digest --help` stays instant.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from pipeline.errors import ConfigError, PipelineError

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

logger = logging.getLogger("pipeline")


def _setup_logging(verbose: int, quiet: bool) -> None:
    levels = {0: logging.WARNING, 1: logging.INFO}
    level = logging.ERROR if quiet else levels.get(verbose, logging.DEBUG)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=Path("config.toml"),
    show_default=True,
    help="Configuration file.",
)
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.option("-q", "--quiet", is_flag=True, help="Only warnings and errors.")
@click.pass_context
def cli(ctx: click.Context, config_path: Path, verbose: int, quiet: bool) -> None:
    """Track new papers from feeds and write a themed weekly digest.

    Example: digest --config examples/demo.toml run
    """
    _setup_logging(verbose, quiet)
    ctx.obj = {"config_path": config_path}


def _settings(ctx: click.Context) -> Any:
    from pipeline.config import load_settings

    return load_settings(ctx.obj["config_path"])


def _execute(ctx: click.Context, command: str, as_json: bool, **options: Any) -> None:
    """Load settings, run one command of `run`, print the report, exit with its code."""
    from pipeline import run

    try:
        settings = _settings(ctx)
        report = run.run_command(settings, command, **options)
    except ConfigError as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(EXIT_USAGE)
    except PipelineError as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(EXIT_FAILED)
    if as_json:
        click.echo(json.dumps(run.report_dict(report), indent=2, sort_keys=True))
    else:
        click.echo(run.describe_report(report))
    sys.exit(EXIT_FAILED if report.error or report.all_sources_failed else EXIT_OK)


def _json_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")(func)


def _week_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--week", default=None, metavar="YYYY-Www", help="ISO week to build (default: config)."
    )(func)


@cli.command()
@_json_option
@click.pass_context
def ingest(ctx: click.Context, as_json: bool) -> None:
    """Fetch every enabled source into the store and embed new papers.

    Example: digest ingest
    """
    _execute(ctx, "ingest", as_json)


@cli.command()
@_week_option
@_json_option
@click.pass_context
def build(ctx: click.Context, week: str | None, as_json: bool) -> None:
    """Write digests/<week>.md from the papers already stored.

    Example: digest build --week 2025-W24
    """
    _execute(ctx, "build", as_json, week=_check_week(week))


@cli.command(name="run")
@_week_option
@_json_option
@click.pass_context
def run_cmd(ctx: click.Context, week: str | None, as_json: bool) -> None:
    """Ingest, then build the digest (what cron calls).

    Example: digest run --json
    """
    _execute(ctx, "run", as_json, week=_check_week(week))


@cli.command(name="check-config")
@click.pass_context
def check_config(ctx: click.Context) -> None:
    """Validate the configuration and summarise it.

    Example: digest --config config.toml check-config
    """
    try:
        settings = _settings(ctx)
    except ConfigError as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(EXIT_USAGE)
    click.echo(
        f"{settings.config_path}: ok · {len(settings.enabled_sources)} sources enabled · "
        f"{len(settings.topics)} topics · model {settings.embed.model}"
    )


def _tune_call(ctx: click.Context, action: Callable[[Any, Any], Any]) -> Any:
    """Load settings, open the store, call `action(settings, store)`; map errors to exit codes."""
    from pipeline import run

    try:
        settings = _settings(ctx)
        with run.open_store(settings) as store:
            return action(settings, store)
    except ConfigError as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(EXIT_USAGE)
    except PipelineError as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(EXIT_FAILED)


@cli.command(name="eval")
@click.option(
    "--labels",
    "labels_path",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="JSONL file: one labelled paper per line.",
)
@_json_option
@click.pass_context
def eval_cmd(ctx: click.Context, labels_path: Path, as_json: bool) -> None:
    """Score the configured topics and discovered themes against hand-labelled papers.

    Example: digest --config config.toml eval --labels benchmarks/labels/seed-trending-dev.jsonl
    """
    from pipeline import run, tune

    def action(settings: Any, store: Any) -> Any:
        labels = tune.load_labels(labels_path)
        return tune.run_eval(settings, store, run.make_embedder(settings), labels)

    report = _tune_call(ctx, action)
    if as_json:
        click.echo(json.dumps(report, indent=2, sort_keys=True))
    else:
        from pipeline import tune

        click.echo(tune.describe_eval(report))


@cli.command(name="topics")
@_week_option
@click.option(
    "--compare",
    "other_config",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Another config: list the papers whose topic changes under it.",
)
@click.pass_context
def topics_cmd(ctx: click.Context, week: str | None, other_config: Path | None) -> None:
    """Per topic: count, papers just above/below the threshold, suggested keywords.

    Example: digest topics --week 2025-W25 --compare tuned.toml
    """
    from pipeline import run, tune
    from pipeline.config import load_settings

    week = _check_week(week)

    def action(settings: Any, store: Any) -> str:
        embedder = run.make_embedder(settings)
        scored = tune.score_week(settings, store, embedder, week=week)
        if other_config is None:
            return tune.describe_topics(scored)
        other = load_settings(other_config)
        changed = tune.compare_configs(
            scored, tune.score_week(other, store, embedder, week=scored.week)
        )
        lines = [f"{scored.week}: {len(changed)} papers change topic under {other_config}"]
        lines += [f"  {pid}  {old} → {new}  {title[:70]}" for pid, title, old, new in changed]
        return "\n".join(lines)

    click.echo(_tune_call(ctx, action))


@cli.command(name="explain")
@click.argument("paper_id")
@click.pass_context
def explain_cmd(ctx: click.Context, paper_id: str) -> None:
    """Per-topic scores of one stored paper and why it landed where it did.

    Example: digest explain arxiv:2506.01234
    """
    from pipeline import run, tune

    click.echo(
        _tune_call(
            ctx,
            lambda settings, store: tune.explain_paper(
                settings, store, run.make_embedder(settings), paper_id
            ),
        )
    )


def _check_week(week: str | None) -> str | None:
    import re

    if week is not None and not re.fullmatch(r"\d{4}-W(0[1-9]|[1-4]\d|5[0-3])", week):
        raise click.BadParameter(
            f"expected an ISO week like 2025-W24, got {week!r}", param_hint="--week"
        )
    return week


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="digest")


if __name__ == "__main__":  # pragma: no cover
    main()
