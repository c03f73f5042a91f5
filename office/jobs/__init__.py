"""Long work run by workers beside the web: the queue (Huey), our record of each job, the
files jobs leave, and the pages that follow them (`/jobs/`)."""
