from jobs.management.commands._job_command import JobCommand
from jobs.services import grants_sweep


class Command(JobCommand):
    help = (
        "Deliver every pending grant (shipped orders whose points are owed), however old; with --days, "
        "also grant orders shipped in the last N days that have neither a grant nor a pending one."
    )
    unit = "order"

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument(
            "--days",
            type=int,
            default=None,
            help="Also orders shipped in the last N days without a pending grant (a repair).",
        )
        parser.add_argument("--batch-size", type=int, default=None, help="Orders per committed batch.")

    def handle(self, *args, **options):
        with self.progress_bar(options) as bar:
            run = grants_sweep(
                now=options["now"],
                days=options["days"],
                batch_size=options["batch_size"],
                progress=lambda b: bar.update(b.orders),
            )
        if run is None:
            self.stdout.write("Grant sweep: nothing pending.")
            return
        self.report(run)
