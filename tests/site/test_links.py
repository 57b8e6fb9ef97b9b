"""The pages' links reversed once per process (employees_site/links.py) stay right per prefix."""

from django.template import engines
from django.urls import reverse, set_script_prefix

from employees_site import links


def test_a_remembered_url_follows_the_script_prefix():
    try:
        set_script_prefix("/directory/")
        assert links.url("employees:list") == "/directory/"
        assert links.url("employees:detail", 7) == "/directory/" + reverse(
            "employees:detail", args=[7]
        ).removeprefix("/directory/")
        set_script_prefix("/")
        assert links.url("employees:list") == reverse("employees:list") == "/"
    finally:
        set_script_prefix("/")


def test_site_url_tag_is_the_url_tag():
    names = ("employees:list", "employees:api-schema", "admin:index")
    django = engines["django"]
    for name in names:
        ours = django.from_string(f"{{% load site_urls %}}{{% site_url '{name}' %}}").render()
        theirs = django.from_string(f"{{% url '{name}' %}}").render()
        assert ours == theirs != ""
