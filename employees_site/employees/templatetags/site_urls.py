"""``{% site_url 'employees:list' %}``: ``{% url %}`` for a URL without arguments, from memory
(employees_site/links.py)."""

from django import template

from employees_site import links

register = template.Library()
register.simple_tag(links.url, name="site_url")
