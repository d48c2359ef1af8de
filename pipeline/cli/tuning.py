"""The tuning commands: `digest eval`, `topics`, `explain` and `mark` (each one call into `tune`).

Registered on the `digest` group by `pipeline.cli`; heavy libraries load only inside the commands.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from pipeline.cli import (
    FilePath,
    _check_week,
    _empty_week_hint,
    _exit_on_errors,
    _exit_stopped,
    _json_option,
    _settings,
    _week_option,
    cli,
)


def _tune_call(ctx: click.Context, action: Callable[[Any, Any], Any]) -> Any:
    """Load settings, open the store, call `action(settings, store)`; map errors to exit codes.

    These commands only read papers (what they write is caches), so they create no store.
    """
    from pipeline import run

    try:
        with _exit_on_errors():
            settings = _settings(ctx)
            with run.open_store(settings, create=False) as store:
                return action(settings, store)
    except KeyboardInterrupt as e:  # round 23: click said "Aborted!" and exited 1
        _exit_stopped(e, "nothing was half-written (`mark` replaces the config file whole or not)")


@cli.command(name="eval")
@click.option(
    "--labels",
    "labels_path",
    required=True,
    type=FilePath(path_type=Path, dir_okay=False),
    help="JSONL file: one labelled paper per line (or a JSON list of them).",
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
    type=FilePath(path_type=Path, dir_okay=False),
    default=None,
    help="Another config: list the papers whose section (topic or theme) changes under it"
    " (scored on this config's store, never on the other config's data_dir).",
)
@click.pass_context
def topics_cmd(ctx: click.Context, week: str | None, other_config: Path | None) -> None:
    """Per topic: count, papers just inside/outside its boundary, suggested keywords.

    Example: digest topics --week 2025-W25 --compare tuned.toml
    """
    from pipeline import run, tune
    from pipeline.config import load_settings
    from pipeline.errors import UsageError

    week = _check_week(week)

    def action(settings: Any, store: Any) -> str:
        embedder = run.make_embedder(settings)
        scored = tune.score_week(settings, store, embedder, week=week)
        if not scored.papers:  # nothing to show or compare: say which week has papers
            command = "topics" if other_config is None else f"topics --compare {other_config}"
            hint = _empty_week_hint(settings, store, scored.week, command)
            return "\n".join(filter(None, [f"{scored.week}: no stored papers", hint]))
        if other_config is None:
            return tune.describe_topics(scored)
        if not other_config.exists():  # load_settings' message would point at --config
            raise UsageError(f"--compare: config file not found: {other_config}")
        other = load_settings(other_config)
        # Its own model, as its build would use (the same one is loaded once).
        other_embedder = run.make_embedder(other)
        if other_embedder.name == embedder.name:
            other_embedder = embedder
        changed = tune.compare_configs(
            scored, tune.score_week(other, store, other_embedder, week=scored.week)
        )
        described = tune.describe_comparison(changed, str(other_config))
        mine, theirs = settings.database_path, other.database_path
        if theirs.resolve() == mine.resolve():
            return described
        # Its topics are scored on the papers of this config's week, as intended; unsaid, a
        # user comparing with a colleague's config took the counts for the colleague's papers.
        return (
            f"{described}\nscored on this config's store ({mine}); {other_config}'s own store"
            f" ({theirs}, its paths.data_dir) was not read"
        )

    click.echo(_tune_call(ctx, action))


@cli.command(name="explain")
@click.argument("paper")
@click.pass_context
def explain_cmd(ctx: click.Context, paper: str) -> None:
    """Where one stored paper landed, the evidence per topic, and what would move it.

    PAPER is what a digest shows: arxiv:2506.13755, 2506.13755v2, an abs/pdf link, or the
    paper's title.

    Example: digest explain https://arxiv.org/abs/2506.13755
    """
    from pipeline import run, tune

    click.echo(
        _tune_call(
            ctx,
            lambda settings, store: tune.explain_paper(
                settings, store, run.make_embedder(settings), paper
            ),
        )
    )


@cli.command(name="mark")
@click.argument("paper")
@click.option("--topic", "slug", required=True, help="The topic's slug, e.g. nas.")
@click.option("--not", "counter", is_flag=True, help="The paper does NOT belong to the topic.")
@click.pass_context
def mark_cmd(ctx: click.Context, paper: str, slug: str, counter: bool) -> None:
    """Add PAPER to a topic's examples (--not: counter_examples) in the config file in use.

    PAPER as for `digest explain`; the paper's id is written, its title as a comment. Comments
    and layout of the file are kept; prints which papers move at the next build.

    Example: digest mark arxiv:2506.13755 --topic nas --not
    """
    from pipeline import run, tune

    result = _tune_call(
        ctx,
        lambda settings, store: tune.mark_paper(
            settings, store, run.make_embedder(settings), paper, slug, counter=counter
        ),
    )
    click.echo(result.message)
    if result.comparison is not None:
        click.echo(tune.describe_comparison(result.comparison, "the edited config"))
