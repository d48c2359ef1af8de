"""Ingest stage: bytes from feeds become normalised paper records. Imports models, errors, config.

sources/   one parser per feed kind (bytes -> Entry records)
fetch      the only network access (httpx: timeouts, validators, retries)
deadline   fetch's httpcore backend: every socket call ends by the request's deadline
normalize  ids, cleaning and the merge rules (pure)
freshness  arXiv's announcement calendar and gap windows (pure)
"""
