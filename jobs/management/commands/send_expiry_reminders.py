from jobs.management.commands._job_command import JobCommand
from jobs.services import reminders_run


class Command(JobCommand):
    help = "Email members whose points expire within the next 30 days (once per member and expiry date)."
    unit = "email"

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--days", type=int, default=None, help="Look-ahead in days (default 30).")

    def handle(self, *args, **options):
        with self.progress_bar(options) as bar:
            run = reminders_run(now=options["now"], days=options["days"], progress=bar.update)
        self.report(run)
