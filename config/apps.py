from django.apps import AppConfig


class ProjectConfig(AppConfig):
    """The project's own wiring that needs the app registry (no models)."""

    name = "config"
    label = "project"

    def ready(self):
        from django.contrib.auth.signals import user_logged_in

        from config.session_refresh import session_stamp_on_login

        user_logged_in.connect(session_stamp_on_login, dispatch_uid="session_stamp_on_login")
