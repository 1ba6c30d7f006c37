"""Processing-desk benchmark: inbox pages and the reminder sweep over a large register.

    scripts/with-postgres python -m bench.desk --json OUT.json [--correspondences 1000000 --administrations 50]
    python -m bench.desk --json OUT.json --correspondences 100000      (SQLite, throw-away data directory)

Target (the issue): with 1 million correspondences across 50 administrations on PostgreSQL, a
service inbox page and its counts render in p95 <= 50 ms, and the overdue sweep for all
administrations runs in <= 5 s.

1. Dataset, written straight into the tables (PostgreSQL ``COPY``, SQLite ``executemany``), not
   through the registration service (which seals a receipt per deposit): ``--administrations``
   administrations of uneven size (Zipf-like: a few big ones), each with 8 services (a mail
   office, a directorate with 4 central services and 2 decentralised annexes under it), a
   clerk, and per service a head and 3 agents; a catalogue of 8 procedures each.
   ``--correspondences`` rows over the last two years (volume growing over time, fewer on
   days off), 92 % incoming with a case each, 8 % outgoing answer letters (with their
   ``Reply``). Rows are inserted in registration order across all administrations, as the
   application would have, so one administration's rows are spread over the tables. Numbers
   ``A-YYYY-NNNNNN`` / ``D-YYYY-NNNNNN`` are gapless per administration, register and year,
   and the ``RegisterCounter`` rows match. Case status depends on age (recent ones mostly
   open; about 70 % answered or closed, 2 % rejected and 28 % open overall, a backlog of old
   open cases among them), service and agent set accordingly, the due date from the
   application's calendar (60 calendar days, 30 for building permits, moved to the next
   working day), 1-6 timeline lines per case, copies for 4 % of the cases. The reminder
   schedule is the steady state of a daily sweep: for each running case, the reminder points
   before today were sent (``Reminder`` rows and timeline lines exist) and ``remind_on`` is
   its next point, so today's sweep has exactly today's points to send. Not generated, as
   nothing measured reads them: receipts, attachments and files, audit events, the register
   log, citizen accounts, past notifications. Then ``VACUUM ANALYZE`` (the state autovacuum
   keeps a live database in) and a ``CHECKPOINT`` (so that the writes of the load are not
   flushed during the measurements).
2. Inbox: the real view (``desk:inbox``) through Django's test client, so with the whole
   middleware stack (session, authentication, CSRF, locale, CSP), signed in (``force_login``)
   as the head of the biggest service of the biggest administration filtering on it, an agent
   of that service ("only mine", then the whole service's boxes, where confidential mail not
   given to them is hidden, and the copies box), the clerk ("to assign"), and the head of the
   directorate above it (every service under it, no filter). Each cycles through a fixed list of boxes,
   orders and pages. Wall time per page (p50/p95/max), SQL statements per page and the time
   spent in them; the slowest statement is EXPLAINed.
3. Reminder sweep (``workflow.reminders.reminders_send``) for all administrations, on the
   dataset's day: the day's work, then the same day again (must find nothing to do), then,
   for scale, the next week at once (a worker that was down for a week).
"""
