"""A run's report as JSON-ready data (recorded in the store) and as a few human lines (cli)."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from pathlib import Path

from pipeline.models import RunReport


def report_dict(report: RunReport) -> dict[str, object]:
    """The report as JSON-ready data."""
    data = dataclasses.asdict(report)
    for key in ("started", "finished"):
        value = data[key]
        data[key] = value.isoformat() if isinstance(value, datetime | date) else value
    return data


def describe_report(report: RunReport) -> str:
    """A few human lines: what each source did, what was embedded, where the digest is."""
    lines = []
    for source in report.sources:
        if source.ok:
            bad = f", {source.n_invalid} bad entries skipped" if source.n_invalid else ""
            if source.n_held_back:  # a cron mail's reader must see it, not only the log
                bad += (
                    f", {source.n_held_back} held back (incomplete: no abstract, authors or "
                    "date; the feed may be cut off)"
                )
            lines.append(
                f"  {source.name}: {source.n_entries} entries, {source.n_new} new, "
                f"{source.n_updated} updated{bad}"
            )
            lines += [f"    backfilled {line}" for line in source.backfilled]
        else:
            lines.append(f"  {source.name}: FAILED: {source.error}")
    if report.command.ingests:
        head = count(report.n_new, "new paper") if report.n_new else "no new papers"
        head = f"{head} from {count(len(report.sources), 'source')}"
        if report.all_sources_failed:
            n = len(report.sources)
            head = "the only source" if n == 1 else f"all {n} sources"
            head += " failed, no new papers"
        lines.insert(0, f"ingest: {head}")
    if report.n_embedded:  # "embedded 0 papers" after every build read as if nothing was done
        lines.append(f"embedded {count(report.n_embedded, 'new paper')}")
    for missed in report.caught_up:  # weeks a `run` built first, missed while it was down
        if missed.digest_path:
            lines.append(
                f"missed week {missed.week} ({count(missed.n_papers, 'paper')}):"
                f" {missed.digest_path}"
            )
        if missed.emailed_to:
            lines.append(f"e-mailed {missed.week} to {', '.join(missed.emailed_to)}")
        lines += missed.not_done
    if report.digest_path:
        lines.append(
            f"digest for {report.week} ({count(report.n_papers_in_digest, 'paper')}):"
            f" {report.digest_path}"
        )
    extra = [p for p in report.output_paths if p != report.digest_path]
    if extra:
        lines.append("also wrote: " + ", ".join(Path(p).name for p in extra))
    if report.emailed_to:
        lines.append(f"e-mailed {report.week} to {', '.join(report.emailed_to)}")
    lines += report.not_done
    if report.error:
        lines.append(f"error: {report.error}")
    return "\n".join(lines)


def count(n: int, noun: str) -> str:
    """A count a reader reads as a sentence: "1 paper", "3 new papers" (`noun` singular)."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
