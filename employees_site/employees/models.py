import re
from datetime import UTC, datetime

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models, router, transaction
from django.utils import timezone

MIN_AGE = 16
MAX_AGE = 100
NAME_MAX_LENGTH = 100
MAX_ID = 2**63 - 1  # BigAutoField
# A join date outside these is a typo (0001, 9999): refused by validation, so the admin's date
# hierarchy and year arithmetic stay far from the calendar's ends.
JOINED_MIN = datetime(1900, 1, 1, tzinfo=UTC)
JOINED_MAX = datetime(2100, 1, 1, tzinfo=UTC)


DEPARTMENT_NAME_MAX_LENGTH = 100
WORD_MAX_LENGTH = NAME_MAX_LENGTH
# The words of a name: letters and digits, split at spaces, hyphens and apostrophes
# ("Jean-Luc O'Brien" -> Jean, Luc, O, Brien).
WORD = re.compile(r"[^\W_]+")


def name_words(name: str) -> list[str]:
    """The words of ``name`` in order, each once whatever its case (the collation ignores case)."""
    words: dict[str, str] = {}
    for word in WORD.findall(name):
        words.setdefault(word.casefold(), word)
    return list(words.values())


class Department(models.Model):
    name = models.CharField(max_length=DEPARTMENT_NAME_MAX_LENGTH, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Employee(models.Model):
    # 64-bit key: the blog's TINYINT key stopped at 255 rows.
    id = models.BigAutoField(primary_key=True)
    name = models.CharField(max_length=NAME_MAX_LENGTH)
    age = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(MIN_AGE), MaxValueValidator(MAX_AGE)],
        help_text=f"Working age: {MIN_AGE} to {MAX_AGE}.",
    )
    joined_at = models.DateTimeField(
        default=timezone.now,
        validators=[MinValueValidator(JOINED_MIN), MaxValueValidator(JOINED_MAX)],
        help_text="Between 1900 and 2100.",
    )
    # Nullable, so adding them is an instant, additive change that old code never notices.
    department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.PROTECT, related_name="employees"
    )
    # NULL, not "", for "no email": a unique index allows any number of NULLs.
    email = models.EmailField(
        "work email", max_length=254, unique=True, null=True, blank=True, default=None
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        # The list and the API page by (name, id); this index serves that order, the name-prefix
        # search (LIKE 'q%' is a range on it) and the admin's ^name search.
        ordering = ["name", "id"]
        indexes = [
            models.Index(fields=["name", "id"], name="employee_name_id_idx"),
            models.Index(fields=["joined_at"], name="employee_joined_at_idx"),
            # A department's page in (name, id) order is a range on this index.
            models.Index(fields=["department", "name", "id"], name="employee_dept_name_id_idx"),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        using = kwargs.get("using") or router.db_for_write(Employee, instance=self)
        # One transaction: a search never sees the employee without its (new) words.
        with transaction.atomic(using=using):
            super().save(*args, **kwargs)
            index_words([(self.pk, self.name)], using=using)

    def clean(self) -> None:
        if self.email == "":
            self.email = None  # a blank form field is "no email", not a second empty address


class EmployeeWord(models.Model):
    """One word of an employee's name: ``q`` finds names with a word starting with each term as
    a range on (word, name, employee) instead of a LIKE '%term%' scan. The utf8mb4 collation
    makes the range case- and accent-insensitive ("bauer" and "Bäuer" both find "Bauer").

    The name is copied here so that the range's entries sort into the list's (name, id) order
    without reading a million-row table's rows; ``Employee.save()`` keeps it current.
    """

    id = models.BigAutoField(primary_key=True)
    employee = models.ForeignKey(Employee, on_delete=models.CASCADE, related_name="words")
    word = models.CharField(max_length=WORD_MAX_LENGTH)
    name = models.CharField(max_length=NAME_MAX_LENGTH)

    class Meta:
        indexes = [models.Index(fields=["word", "name", "employee"], name="employee_word_name_idx")]
        constraints = [
            models.UniqueConstraint(fields=["employee", "word"], name="employee_word_unique")
        ]

    def __str__(self) -> str:
        return self.word


def index_words(employees, *, using: str | None = None, new: bool = False, word_model=None) -> int:
    """Replace the words of each (id, name) in ``employees`` (``new``: they have none yet);
    the number of words written. ``word_model``: a migration's historical EmployeeWord."""
    employees = list(employees)
    if not employees:
        return 0
    word_class = word_model or EmployeeWord
    manager = word_class.objects.db_manager(using)
    if not new:
        manager.filter(employee_id__in=[pk for pk, _ in employees]).delete()
    words = [
        word_class(employee_id=pk, word=word[:WORD_MAX_LENGTH], name=name)
        for pk, name in employees
        for word in name_words(name)
    ]
    manager.bulk_create(words, ignore_conflicts=True)
    return len(words)


def reindex_words(
    *, using: str, batch: int = 5000, employee_model=None, word_model=None
) -> tuple[int, int]:
    """Rebuild every employee's words in keyset batches of ids (a million rows never sit in
    one transaction or in memory): (employees, words). Idempotent; the migration that adds the
    words table and the ``index_employee_words`` command both run it."""
    employees = (employee_model or Employee).objects.using(using)
    last, seen, written = 0, 0, 0
    while rows := list(
        employees.filter(id__gt=last).order_by("id").values_list("id", "name")[:batch]
    ):
        with transaction.atomic(using=using):
            written += index_words(rows, using=using, word_model=word_model)
        seen += len(rows)
        last = rows[-1][0]
    return seen, written
