from jobs.management.commands._job_command import JobCommand
from jobs.services import grants_sweep


class Command(JobCommand):
    help = "Grant the points of every recently shipped order that has no grant yet."
    unit = "order"

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--days", type=int, default=None, help="Orders shipped in the last N days.")
        parser.add_argument("--batch-size", type=int, default=None, help="Orders per committed batch.")

    def handle(self, *args, **options):
        with self.progress_bar(options) as bar:
            run = grants_sweep(
                now=options["now"],
                days=options["days"],
                batch_size=options["batch_size"],
                progress=lambda b: bar.update(b.orders),
            )
        self.report(run)
