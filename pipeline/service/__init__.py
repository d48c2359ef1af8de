"""Service: unattended operation around `run`. Imports run, the stages, config, models, errors.

runner    one run at a time under the lock, catch-up planning, status
schedule  the APScheduler wiring of `digest serve`
catchup   what to run at once after downtime (pure)
crontab   cron lines -> triggers and next fire times
lock      the run lock file
"""
