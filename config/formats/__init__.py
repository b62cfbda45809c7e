"""The project's date formats (``FORMAT_MODULE_PATH``), where they differ from Django's."""
