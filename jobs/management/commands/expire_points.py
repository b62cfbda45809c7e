from jobs.management.commands._job_command import JobCommand
from jobs.services import expiry_run


class Command(JobCommand):
    help = "Record the expiry of every lot whose expiry instant has passed (the nightly job)."
    unit = "lot"

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--batch-size", type=int, default=None, help="Lots per committed batch.")

    def handle(self, *args, **options):
        with self.progress_bar(options) as bar:
            run = expiry_run(
                now=options["now"], batch_size=options["batch_size"], progress=lambda batch: bar.update(batch.lots)
            )
        self.report(run)
