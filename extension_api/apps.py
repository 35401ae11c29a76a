from django.apps import AppConfig


class ExtensionApiConfig(AppConfig):
    name = "extension_api"
    verbose_name = "Browser extension"
