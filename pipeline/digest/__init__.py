"""Digest stage: a week's decisions in, the digest and its files out.

Imports models, errors and config only.

build     choose, rank and group papers into a Digest record
coverage  per-source counts and gaps for the Coverage section
render    Markdown (Jinja2 templates); html, publish (JSON, Atom, index), chart
outputs   the only writer of digests/; mail sends the HTML e-mail
"""
