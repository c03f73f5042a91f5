"""Documents attached to the office's records: the letter behind a waiver, a delivery's
carry-out approval and customs declaration, a contractor's invoice, the photo of a dip stick
or a meter face. Kept in the database itself, in chunks, each file under its SHA-256; never
changed, only superseded by a newer version or withdrawn with a reason.

It sits low, beside the audit trail: `models`, `content` and `services` know a record only as
its type and id. Each feature says what its records are (who may see and change them, their
names and pages) by registering them in `records`; the pages of `views` ask the registry, so
documents import no feature above them.
"""
