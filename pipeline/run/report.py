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
        head = f"{report.n_new} new papers" if report.n_new else "no new papers"
        head = f"{head} from {len(report.sources)} sources"
        if report.all_sources_failed:
            head = f"all {len(report.sources)} sources failed, no new papers"
        lines.insert(0, f"ingest: {head}")
    if report.n_embedded:  # "embedded 0 papers" after every build read as if nothing was done
        noun = "paper" if report.n_embedded == 1 else "papers"
        lines.append(f"embedded {report.n_embedded} new {noun}")
    for missed in report.caught_up:  # weeks a `run` built first, missed while it was down
        if missed.digest_path:
            lines.append(
                f"missed week {missed.week} ({missed.n_papers} papers): {missed.digest_path}"
            )
        if missed.emailed_to:
            lines.append(f"e-mailed {missed.week} to {', '.join(missed.emailed_to)}")
        lines += missed.not_done
    if report.digest_path:
        lines.append(
            f"digest for {report.week} ({report.n_papers_in_digest} papers): {report.digest_path}"
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
