from jobs.management.commands._job_command import JobCommand
from jobs.services import subscriptions_run


class Command(JobCommand):
    help = "Create the orders of every active subscription due today (with bundled exchanges)."
    unit = "order"

    def handle(self, *args, **options):
        with self.progress_bar(options) as bar:
            run = subscriptions_run(now=options["now"], progress=bar.update)
        self.report(run)
